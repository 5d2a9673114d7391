"""`--results DIR` and `--jobs N` read and parse the same in every command that takes them
(harness/cli_options.py), `gauntlet load` included."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from gauntlet import cli

WRITERS = ("run", "merge", "calibrate", "bench", "fidelity", "load")


def commands() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    (action,) = [a for a in parser._actions if flag in a.option_strings]
    return action


@pytest.mark.parametrize("name", WRITERS)
def test_every_command_that_writes_takes_results_dir_default_results(name):
    parser = commands()[name]
    results = option(parser, "--results")
    assert (results.type, results.default, results.metavar) == (Path, Path("results"), "DIR")
    assert "--results DIR" in parser.format_help()
    assert "(default: results)" in " ".join(parser.format_help().split())


def test_jobs_is_an_int_with_the_commands_own_default():
    run, fidelity = option(commands()["run"], "--jobs"), option(commands()["fidelity"], "--jobs")
    assert (run.type, run.default, run.metavar) == (int, None, "N")  # None: the profile's
    assert (fidelity.type, fidelity.default, fidelity.metavar) == (int, 1, "N")
    assert "(default: the profile's, else 1)" in " ".join(commands()["run"].format_help().split())
    assert cli._parser().parse_args(["fidelity", "--jobs", "2"]).jobs == 2
