"""The options several `gauntlet` commands share, defined once so they read the same in every
`gauntlet <command> --help` and parse the same (`--results DIR`, `--jobs N`).

Its own module, importing nothing of gauntlet, so that harness/cli.py and the commands it
imports (harness/load/command.py) can both use it."""

from __future__ import annotations

import argparse
from pathlib import Path

RESULTS_DIR = Path("results")


def add_results_option(parser: argparse.ArgumentParser, help: str) -> None:
    """`--results DIR`, default ./results; `help` says what the command writes where."""
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS_DIR,
        metavar="DIR",
        help=f"{help} (default: %(default)s)",
    )


def add_jobs_option(
    parser: argparse.ArgumentParser, default: int | None = 1, default_help: str = "%(default)s"
) -> None:
    """`--jobs N`, the cells measured side by side; `default_help` says what the default is
    when it is not a number (None: the command decides)."""
    parser.add_argument(
        "--jobs",
        type=int,
        default=default,
        metavar="N",
        help=f"cells measured side by side (default: {default_help})",
    )
