"""Run progress: typed events, plain lines in CI, a status line overwritten by each result on a
terminal; the text of every line comes from `describe`, never parsed back."""

from __future__ import annotations

import io
import json

import pytest

from gauntlet.progress import (
    ERASE_LINE,
    Calibrating,
    CellFinished,
    CellStarted,
    HopListening,
    Note,
    ProgressPrinter,
    Publishing,
    RunStarted,
    ServerListening,
    Step,
    WorkDir,
    describe,
)


def finished(index=1, verdict="PASS", expected="PASS", pending=False, name="sse-direct-h1"):
    return CellFinished(
        index, 2, name, verdict, "10/10 delivered", expected, pending, index, 2.4, 2.0
    )


EVENTS = [
    RunStarted("r1", 2, 1, 30, "/tmp/x"),
    CellStarted(1, 2, "sse-direct-h1"),
    ServerListening("server", "http://127.0.0.1:4242"),
    finished(),
    CellStarted(2, 2, "sse-store_and_forward-h1"),
]
LINES = [
    "run r1: 2 cells, 1 at a time, time scale 1/30, work dir /tmp/x",
    "[1/2] sse-direct-h1 ...",
    "  server listening on http://127.0.0.1:4242",
    "[1/2] sse-direct-h1: PASS: 10/10 delivered [1 done, elapsed 2 s, ETA 2 s]",
    "[2/2] sse-store_and_forward-h1 ...",
]


def run(printer: ProgressPrinter) -> str:
    for event in EVENTS:
        printer(event)
    printer.close()
    return printer.stream.getvalue()  # type: ignore[attr-defined]


def test_each_event_describes_itself_as_the_line_the_run_printed_before_events():
    assert [describe(e) for e in EVENTS] == LINES


@pytest.mark.parametrize(
    ("event", "line"),
    [
        (
            HopListening(1, "transparent", 4321, "http://127.0.0.1:5000"),
            "  hop 1 (transparent) pid 4321 listening on http://127.0.0.1:5000",
        ),
        (
            HopListening(2, "external team", None, "http://127.0.0.1:8080"),
            "  hop 2 (external team) not started by gauntlet listening on http://127.0.0.1:8080",
        ),
        (Publishing(), "  client connected; publishing"),
        (WorkDir("/tmp/gauntlet-calibrate-x"), "  work dir /tmp/gauntlet-calibrate-x"),
        (Calibrating(), "calibrating the instrument first (none saved for this machine) ..."),
        (Note("bench b1: quick; loopback only"), "bench b1: quick; loopback only"),
        (Step("delay 20 ms: p50 21.0 ms"), "  delay 20 ms: p50 21.0 ms"),
        (Step("5 subscribers connected", depth=2), "    5 subscribers connected"),
    ],
)
def test_topology_and_instrument_events_keep_their_lines(event, line):
    assert describe(event) == line


@pytest.mark.parametrize(
    ("verdict", "expected", "pending", "tail"),
    [
        ("DEGRADED", "PASS", False, "  <-- expected PASS"),
        ("SKIPPED", "PASS", False, ""),  # not measured here: never a mismatch
        ("PASS", "SKIPPED", False, ""),
        ("PASS", None, False, ""),
        ("DEGRADED", "PASS", True, "  (added p50 over direct is judged when every cell is in)"),
    ],
)
def test_a_finished_cell_marks_a_mismatch_with_its_expectation(verdict, expected, pending, tail):
    line = describe(finished(verdict=verdict, expected=expected, pending=pending))
    assert (
        line == f"[1/2] sse-direct-h1: {verdict}: 10/10 delivered{tail} [1 done, "
        "elapsed 2 s, ETA 2 s]"
    )


def test_ci_gets_every_line_plainly_without_topology_details():
    out = run(ProgressPrinter(io.StringIO(), live=False))
    assert out.splitlines() == [LINES[0], LINES[1], LINES[3], LINES[4]]
    assert "\r" not in out and "\x1b" not in out


def test_verbose_adds_topology_details():
    out = run(ProgressPrinter(io.StringIO(), live=False, verbose=True))
    assert LINES[2] in out.splitlines()


def test_instrument_steps_are_shown_without_verbose():
    printer = ProgressPrinter(io.StringIO(), live=False)
    printer(Calibrating())
    printer(Step("direct: p50 0.4 ms"))
    printer(Publishing())
    assert printer.stream.getvalue().splitlines() == [  # type: ignore[attr-defined]
        describe(Calibrating()),
        "  direct: p50 0.4 ms",
    ]


def test_terminal_overwrites_the_running_cell_with_its_result():
    out = run(ProgressPrinter(io.StringIO(), live=True))
    assert out == (
        LINES[0]
        + "\n"
        + LINES[1]
        + ERASE_LINE
        + LINES[3]
        + "\n"
        + LINES[4]
        + "\n"  # close() ends the status line of a cell still running
    )


def test_a_stream_that_is_not_a_terminal_is_not_live():
    assert ProgressPrinter(io.StringIO()).live is False


def test_anything_else_is_refused_not_printed():
    with pytest.raises(TypeError):
        describe("[1/2] a string")  # type: ignore[arg-type]


def test_json_progress_is_one_object_per_event_with_every_field_and_no_filtering():
    out = run(ProgressPrinter(io.StringIO(), live=None, json=True))
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == [
        "RunStarted",
        "CellStarted",
        "ServerListening",
        "CellFinished",
        "CellStarted",
    ]
    assert events[2] == {
        "event": "ServerListening",
        "label": "server",
        "url": "http://127.0.0.1:4242",
        "line": LINES[2],
    }
    assert events[3]["verdict"] == "PASS" and events[3]["done"] == 1
    assert "\r" not in out and "\x1b" not in out
