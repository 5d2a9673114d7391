"""`python -m harness` is the `gauntlet` command."""

from harness.cli import main

raise SystemExit(main())
