"""Progress of a command as typed events, and the printer that shows them on stderr.

The runner, a cell's topology, calibration, the bench and the load command report what they
are doing as small frozen events (below), never as text for someone to parse back: a test
that waits for a cell to publish waits for `Publishing`, one that needs a hop's pid reads
`HopListening.pid`. `describe` is the one place that turns an event into its line.

`ProgressPrinter` prints them. In CI (stderr not a terminal) every line is printed as it
comes, so a log shows the whole story. On a terminal `CellStarted` is a status line that the
cell's `CellFinished` then overwrites (carriage return, erase line), so a 116-cell run shows
one line per finished cell plus what is running now, with cells done / total, elapsed time
and ETA. A cell's topology details (`ServerListening`, `HopListening`, `Publishing`) are
printed only with `verbose` (`gauntlet run -v`). With `json` (`gauntlet run --progress json`)
every event is one JSON object per line, details included, for a tool or a test in another
process that needs a hop's pid or the work dir without parsing a sentence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TextIO

from gauntlet.verdict import Verdict

ERASE_LINE = "\r\x1b[K"


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    cells: int
    jobs: int
    time_scale: float
    workdir: str


@dataclass(frozen=True)
class CellStarted:
    index: int  # 1-based, in spec order
    total: int
    name: str


@dataclass(frozen=True)
class CellFinished:
    index: int
    total: int
    name: str
    verdict: str  # a Verdict value (results.json's string)
    reason: str
    expected_verdict: str | None
    added_p50_pending: bool  # its added-p50 budget is judged once every cell is in
    done: int  # cells finished so far, this one included
    elapsed_s: float
    eta_s: float

    @property
    def mismatch(self) -> bool:
        """Measured and expected differ (SKIPPED on either side is never a mismatch)."""
        skipped = Verdict.SKIPPED in (self.verdict, self.expected_verdict)
        return not skipped and self.expected_verdict not in (None, self.verdict)


@dataclass(frozen=True)
class ServerListening:
    """The cell's push server (or a team's app / endpoint: `label`) is up at `url`."""

    label: str
    url: str


@dataclass(frozen=True)
class HopListening:
    index: int
    label: str
    pid: int | None  # None: an external hop gauntlet did not start
    url: str


@dataclass(frozen=True)
class Publishing:
    """The client's first request reached the server (or the wait ran out): publishing."""


@dataclass(frozen=True)
class WorkDir:
    """A command's private work folder (keys, certificates, configs): gone when it ends."""

    path: str


@dataclass(frozen=True)
class Calibrating:
    """`gauntlet run` measures a calibration first: none is saved for this machine."""


@dataclass(frozen=True)
class Note:
    """A line about a command as a whole (a bench stage, a load run's start, a table)."""

    text: str


@dataclass(frozen=True)
class Step:
    """One measurement within a command (a calibration point, a sweep point), indented."""

    text: str
    depth: int = 1


Event = (
    RunStarted
    | CellStarted
    | CellFinished
    | ServerListening
    | HopListening
    | Publishing
    | WorkDir
    | Calibrating
    | Note
    | Step
)
Progress = Callable[[Event], None]
DETAILS = (ServerListening, HopListening, Publishing)
"""A cell's topology: printed with `verbose` only."""


def ignore(_: Event) -> None:
    """The default sink: progress nobody reads."""


def _finished(e: CellFinished) -> str:
    mark = "  <-- expected " + str(e.expected_verdict) if e.mismatch else ""
    if e.added_p50_pending:
        mark = "  (added p50 over direct is judged when every cell is in)"
    return (
        f"[{e.index}/{e.total}] {e.name}: {e.verdict}: {e.reason}{mark} [{e.done} done, "
        f"elapsed {e.elapsed_s:.0f} s, ETA {e.eta_s:.0f} s]"
    )


def describe(event: Event) -> str:
    """The line an event prints as (pure); topology details and steps are indented."""
    match event:
        case RunStarted():
            return (
                f"run {event.run_id}: {event.cells} cells, {event.jobs} at a time, time "
                f"scale 1/{event.time_scale:g}, work dir {event.workdir}"
            )
        case CellStarted():
            return f"[{event.index}/{event.total}] {event.name} ..."
        case CellFinished():
            return _finished(event)
        case ServerListening():
            return f"  {event.label} listening on {event.url}"
        case HopListening():
            owner = f"pid {event.pid}" if event.pid else "not started by gauntlet"
            return f"  hop {event.index} ({event.label}) {owner} listening on {event.url}"
        case Publishing():
            return "  client connected; publishing"
        case WorkDir():
            return f"  work dir {event.path}"
        case Calibrating():
            return "calibrating the instrument first (none saved for this machine) ..."
        case Note():
            return event.text
        case Step():
            return "  " * event.depth + event.text
    raise TypeError(f"not a progress event: {event!r}")


def to_json(event: Event) -> str:
    """One line of JSON: {"event": <class name>, <its fields>..., "line": <describe>}."""
    return json.dumps({"event": type(event).__name__, **asdict(event), "line": describe(event)})


class ProgressPrinter:
    """Callable progress sink; `verbose` also prints topology details; `json`: JSON lines."""

    def __init__(
        self, stream: TextIO, *, verbose: bool = False, live: bool | None = None, json: bool = False
    ):
        self.stream = stream
        self.verbose = verbose
        self.json = json
        self.live = stream.isatty() and not json if live is None else live
        self._status_shown = False

    def __call__(self, event: Event) -> None:
        if self.json:
            self.stream.write(to_json(event) + "\n")
            self.stream.flush()
            return
        if isinstance(event, DETAILS) and not self.verbose:
            return
        self._clear()
        if self.live and isinstance(event, CellStarted):
            self.stream.write(describe(event))
            self._status_shown = True
        else:
            self.stream.write(describe(event) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Leave the terminal on a fresh line (a run that ends mid-cell, e.g. Ctrl-C)."""
        if self._status_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._status_shown = False

    def _clear(self) -> None:
        if self._status_shown:
            self.stream.write(ERASE_LINE)
            self._status_shown = False
