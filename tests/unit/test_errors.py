"""A GauntletError stays one line even when trio nurseries wrap it in exception groups."""

from __future__ import annotations

import pytest
import trio

import gauntlet.instrument.bench.sweep as sweep
import gauntlet.load.run as load_run
from gauntlet import cli
from gauntlet.errors import GauntletError, unwrap


def nested(exc: BaseException, depth: int = 3) -> BaseException:
    for _ in range(depth):
        exc = BaseExceptionGroup("Exceptions from Trio nursery", [exc])
    return exc


def test_unwrap_takes_the_one_exception_out_of_nested_groups():
    err = GauntletError("hop 1 failed")
    assert unwrap(nested(err)) is err
    assert unwrap(err) is err
    two = ExceptionGroup("two", [ValueError(), KeyError()])
    assert unwrap(nested(two, 1)) is two  # more than one: nothing to take out


def test_cli_prints_a_wrapped_gauntlet_error_as_one_line(monkeypatch, capsys):
    def boom(args):
        raise nested(GauntletError("subscribers of workers [7] not all connected within 19 s"))

    monkeypatch.setattr(cli, "_calibrate", boom)
    assert cli.main(["calibrate"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "gauntlet: error: subscribers of workers [7] not all connected within 19 s\n"


def test_cli_does_not_swallow_other_grouped_errors(monkeypatch):
    def boom(args):
        raise nested(RuntimeError("a bug"))

    monkeypatch.setattr(cli, "_calibrate", boom)
    with pytest.raises(BaseExceptionGroup):
        cli.main(["calibrate"])


async def test_a_sweep_point_records_an_error_raised_inside_its_nurseries(monkeypatch, tmp_path):
    async def run(*args, **kwargs):
        await trio.lowlevel.checkpoint()
        raise nested(GauntletError("only 3 of 5 subscribers reached the server within 15 s"))

    monkeypatch.setattr(load_run, "_run", run)
    point = await sweep.measure_point(sweep.PointSpec("sse", 5), tmp_path)
    assert point["error"] == "only 3 of 5 subscribers reached the server within 15 s"
