"""`python -m gauntlet` is the `gauntlet` command."""

from gauntlet.cli import main

raise SystemExit(main())
