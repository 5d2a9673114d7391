"""Run progress: plain lines in CI, a status line overwritten by each result on a terminal."""

from __future__ import annotations

import io

from gauntlet.progress import ERASE_LINE, ProgressPrinter

LINES = [
    "run r1: 2 cells, time scale 1/30, work dir /tmp/x",
    "[1/2] sse-direct-h1 ...",
    "  server listening on http://127.0.0.1:4242",
    "[1/2] sse-direct-h1: PASS: 10/10 delivered [elapsed 2 s, ETA 2 s]",
    "[2/2] sse-store_and_forward-h1 ...",
]


def run(printer: ProgressPrinter) -> str:
    for line in LINES:
        printer(line)
    printer.close()
    return printer.stream.getvalue()  # type: ignore[attr-defined]


def test_ci_gets_every_line_plainly_without_topology_details():
    out = run(ProgressPrinter(io.StringIO(), live=False))
    assert out.splitlines() == [LINES[0], LINES[1], LINES[3], LINES[4]]
    assert "\r" not in out and "\x1b" not in out


def test_verbose_adds_topology_details():
    out = run(ProgressPrinter(io.StringIO(), live=False, verbose=True))
    assert LINES[2] in out.splitlines()


def test_terminal_overwrites_the_running_cell_with_its_result():
    out = run(ProgressPrinter(io.StringIO(), live=True))
    assert out == (
        LINES[0] + "\n"
        + LINES[1] + ERASE_LINE + LINES[3] + "\n"
        + LINES[4] + "\n"  # close() ends the status line of a cell still running
    )  # fmt: skip


def test_a_stream_that_is_not_a_terminal_is_not_live():
    assert ProgressPrinter(io.StringIO()).live is False
