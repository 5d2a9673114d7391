"""Example endpoints that meet docs/endpoint-contract.md (`gauntlet run --app ...`)."""
