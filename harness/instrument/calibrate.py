"""Calibration: the instrument measures known delays, so every report can state its error.

Hops with a known effect sit between the reference server and the reference SSE client, and
the harness measures them exactly as it measures a cell (same publisher, server, client, event
log and clock; latency is publication to first receipt):

- `network` hops adding D ms per chunk (D in 20, 100, 500): the measured p50 latency must be
  D + the baseline within the band;
- a `keep_back` hop holding a connection's first bytes for T ms: the held time, measured on
  fresh connections as (first receipt - the server seeing the request) minus the same through
  the baseline hop, paired sample by sample, must be T within the band.

The baseline is one `network` hop with D = 0, measured in the same calibration run: a transparent
mitmdump relay costs about 0.5 ms by itself (docs/mitmproxy.md), which is the hop's, not D's. The
direct path (no hop) is measured and recorded too, with each point's error against it.

The band is max(2 ms, 5 % of the nominal value). The pure part (bands, checks, the document,
the table, the results.json excerpt) is separate from `measure`, which runs real hops.
Written to `<results>/calibration/<id>.json` (CalibrationDocument), with
`<results>/calibration/latest.json` linked to the newest (harness/documents.py); `gauntlet run`
embeds the latest one (measuring one first when none fits this machine or it is unreadable).
"""

from __future__ import annotations

import datetime as dt
import signal
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import trio
from pydantic import ConfigDict, Field

from gauntlet import documents
from gauntlet.clients.policy import Cursor
from gauntlet.clients.sse import run_sse
from gauntlet.documents import (
    TIME_FORMAT,
    Document,
    DocumentError,
    Part,
    dependency_versions,
    header,
    machine_info,
)
from gauntlet.errors import GauntletError, Interrupted
from gauntlet.eventlog import (
    EventLog,
    Received,
    ServerRequest,
)
from gauntlet.instrument.heap import freeze_startup_heap
from gauntlet.metrics import NS_PER_MS, Metrics, compute, percentile
from gauntlet.progress import Calibrating, Note, Progress, Step, WorkDir, ignore
from gauntlet.results import new_run_id
from gauntlet.spec import HopSpec, ScaledHop, scale_hop
from gauntlet.target import ReferenceServer
from gauntlet.topology_open import Topology, open_topology
from gauntlet.workdir import private_workdir

SCHEMA_VERSION = 1
CALIBRATION_DIR = "calibration"
LATEST_FILE = "latest.json"
DELAYS_MS = (20, 100, 500)
HOLD_MS = 200
EVENTS, RATE_PER_S, HOLD_SAMPLES = 30, 40.0, 9
POINT_TIMEOUT_S = 15.0
MAX_AGE_DAYS = 7
REPO = Path(__file__).resolve().parents[2]


def band_ms(nominal_ms: float) -> float:
    """How far a measurement may be from what is expected: max(2 ms, 5 % of the nominal)."""
    return max(2.0, 0.05 * nominal_ms)


@dataclass(frozen=True)
class Point:
    """One calibration point: a hop of known effect, what was expected and what was measured."""

    kind: str  # "delay" (network hop, D per chunk) or "hold" (keep_back hop, T)
    nominal_ms: float
    expected_ms: float
    measured_ms: float | None  # p50 latency (delay) or p50 held time (hold)
    p95_ms: float | None
    samples: int
    wanted: int

    @property
    def band_ms(self) -> float:
        return band_ms(self.nominal_ms)

    @property
    def error_ms(self) -> float | None:
        return None if self.measured_ms is None else self.measured_ms - self.expected_ms

    @property
    def passed(self) -> bool:
        err = self.error_ms
        return err is not None and self.samples == self.wanted and abs(err) <= self.band_ms

    def to_json(self) -> dict[str, Any]:
        r = _round
        return {
            "kind": self.kind,
            "nominal_ms": self.nominal_ms,
            "expected_ms": r(self.expected_ms),
            "measured_ms": r(self.measured_ms),
            "p95_ms": r(self.p95_ms),
            "band_ms": r(self.band_ms),
            "error_ms": r(self.error_ms),
            "pass": self.passed,
            "samples": self.samples,
            "wanted": self.wanted,
        }


def delay_point(nominal_ms: float, m: Metrics, baseline_p50_ms: float, wanted: int) -> Point:
    """A network hop of D ms: its p50 latency should be D + the baseline's p50."""
    return Point(
        "delay",
        nominal_ms,
        nominal_ms + baseline_p50_ms,
        m.latency_ms.p50,
        m.latency_ms.p95,
        m.delivered,
        wanted,
    )


def hold_point(nominal_ms: float, held: list[float], baseline: list[float], wanted: int) -> Point:
    """A hold of T ms: held minus baseline time to first event, paired, should be T."""
    diffs = [h - b for h, b in zip(held, baseline, strict=False)]
    return Point(
        "hold",
        nominal_ms,
        nominal_ms,
        percentile(diffs, 50),
        percentile(diffs, 95),
        len(diffs),
        wanted,
    )


class CalibrationPoint(Part):
    """A point as written: Point's figures, rounded, with its band and whether it passed."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    kind: str
    nominal_ms: float
    expected_ms: float | None
    measured_ms: float | None
    p95_ms: float | None
    band_ms: float | None
    error_ms: float | None
    passed: bool = Field(alias="pass")
    samples: int
    wanted: int


class Baseline(Part):
    """The relay cost the points are measured against (measure(): one hop with D = 0)."""

    hop_p50_ms: float | None
    direct_p50_ms: float | None


class CalibrationDocument(Document):
    """`<results>/calibration/<id>.json`: the instrument's measured error on this machine."""

    KIND: ClassVar[str] = "gauntlet-calibration"
    SCHEMA_VERSION: ClassVar[int] = SCHEMA_VERSION
    ID_FIELD: ClassVar[str] = "id"

    id: str
    band_rule: str
    baseline: Baseline
    points: list[CalibrationPoint]
    passed: bool
    max_abs_error_ms: float | None
    duration_s: float


def build(
    points: list[Point],
    baseline: dict[str, Any],
    *,
    duration_s: float,
    created: dt.datetime | None = None,
) -> CalibrationDocument:
    """The calibration document (pure apart from reading machine, versions and git)."""
    created = created or dt.datetime.now(dt.UTC)
    errors = [abs(p.error_ms) for p in points if p.error_ms is not None]
    return CalibrationDocument.model_validate(
        {
            **header(CalibrationDocument, created=created, machine=machine_info(), repo=REPO),
            "id": new_run_id("calibrate", created),
            "band_rule": "max(2 ms, 5 % of nominal)",
            "baseline": baseline,
            "points": [p.to_json() for p in points],
            "passed": bool(points) and all(p.passed for p in points),
            "max_abs_error_ms": round(max(errors), 3) if errors else None,
            "duration_s": round(duration_s, 3),
        }
    )


def render_table(doc: CalibrationDocument) -> str:
    """A short text table of a calibration document."""
    b = doc.baseline
    lines = [
        f"calibration {doc.id} (bands {doc.band_rule}); baseline: one hop "
        f"p50 {b.hop_p50_ms} ms, direct p50 {b.direct_p50_ms} ms",
        f"{'point':<14}{'expected':>10}{'measured':>10}{'p95':>9}{'error':>9}{'band':>7}"
        f"{'n':>6}  result",
    ]
    for p in doc.points:

        def f(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"

        lines.append(
            f"{p.kind + ' ' + format(p.nominal_ms, 'g') + ' ms':<14}"
            f"{f(p.expected_ms):>10}{f(p.measured_ms):>10}{f(p.p95_ms):>9}"
            f"{f(p.error_ms):>9}{f(p.band_ms):>7}{p.samples:>3}/{p.wanted:<2}"
            f"  {'ok' if p.passed else 'OUT OF BAND'}"
        )
    verdict = "all bands met" if doc.passed else "BANDS NOT MET"
    lines.append(f"{verdict}; max |error| {doc.max_abs_error_ms} ms")
    return "\n".join(lines)


def excerpt(
    doc: CalibrationDocument | None,
    source: str | None = None,
    reason: str = "no calibration saved for this machine",
) -> dict[str, Any]:
    """What results.json carries about the instrument (the report header reads only this)."""
    if doc is None:
        return {"status": "not calibrated", "reason": reason}
    keep = (
        "id",
        "created_utc",
        "band_rule",
        "baseline",
        "points",
        "passed",
        "max_abs_error_ms",
        "machine",
        "clock",
    )
    tree = doc.to_json()
    return {"status": "calibrated", "source": source, **{k: tree.get(k) for k in keep}}


def fits(doc: CalibrationDocument, now: dt.datetime | None = None) -> bool:
    """A saved calibration applies to this run: same machine, same mitmproxy, recent enough."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        created = dt.datetime.strptime(doc.created_utc, TIME_FORMAT)
    except ValueError:
        return False
    mitmproxy = doc.dependencies.get("mitmproxy")
    return (
        doc.machine.model_dump(mode="json") == machine_info()
        and mitmproxy == dependency_versions().get("mitmproxy")
        and now - created.replace(tzinfo=dt.UTC) <= dt.timedelta(days=MAX_AGE_DAYS)
    )


def write(doc: CalibrationDocument, results_dir: Path) -> Path:
    """`<results>/calibration/<id>.json`, then `latest.json` linked to it (harness/documents)."""
    return documents.write(doc, results_dir / CALIBRATION_DIR)


def load_latest(results_dir: Path) -> CalibrationDocument | None:
    """The newest saved calibration; None when there is none; DocumentError (one line naming
    the file) when there is one this gauntlet cannot read."""
    return documents.read_latest(CalibrationDocument, results_dir / CALIBRATION_DIR)


# --- measuring (real hops, real clock) -------------------------------------------------------


class _Rig:
    """One reference server and its event log, shared by every path measured (direct and each
    hop's topology over the same server); waits wake on every record (EventLog.wait_until)."""

    def __init__(self) -> None:
        self.log = EventLog()
        self.server = ReferenceServer(self.log, payload_bytes=64)
        self.publisher = self.server.publisher

    async def until(self, ready: Callable[[], Any]) -> Any:
        return await self.log.wait_until(lambda _: ready())

    def since(self, start: int, kind: type) -> list:
        return [r for r in self.log.records[start:] if isinstance(r, kind)]

    @asynccontextmanager
    async def subscriber(self, path: Topology):
        """An SSE client at `path`'s entry resuming after the last published id; yields once
        the server sees it."""
        start = len(self.log.records)
        cursor = Cursor(resume_after=self.publisher.last_id)
        async with path.client(partial(run_sse, cursor=cursor)):
            request = await self.until(lambda: self.since(start, ServerRequest))
            yield request[0].t_ns


async def _stream(rig: _Rig, path: Topology, events: int, rate_per_s: float) -> Metrics:
    """Publish `events` at `rate_per_s` to one subscriber; metrics of this stream only."""
    first = rig.publisher.last_id + 1
    wanted = set(range(first, first + events))
    start = len(rig.log.records)
    with trio.move_on_after(POINT_TIMEOUT_S):
        async with rig.subscriber(path) as _:
            begin = trio.current_time()
            for i in range(events):
                await trio.sleep_until(begin + i / rate_per_s)  # the workload's pacing
                rig.publisher.publish()
            await rig.until(lambda: wanted <= {r.id for r in rig.since(start, Received)})
    records = [r for r in rig.log.records[start:] if not isinstance(r, Received) or r.id in wanted]
    return compute(EventLog(records=records), t0_ns=0)


async def _first_event_ms(rig: _Rig, path: Topology) -> float | None:
    """A fresh connection: from the server seeing the request to the first event's receipt."""
    event_id = rig.publisher.last_id + 1
    start = len(rig.log.records)
    received: list[Received] = []
    with trio.move_on_after(POINT_TIMEOUT_S):
        async with rig.subscriber(path) as requested_ns:
            rig.publisher.publish()
            received = await rig.until(
                lambda: [r for r in rig.since(start, Received) if r.id == event_id]
            )
    return (received[0].t_ns - requested_ns) / NS_PER_MS if received else None


def _network(delay_ms: int) -> ScaledHop:
    return scale_hop(HopSpec(("network",), options=(("network_latency_ms", str(delay_ms)),)))


async def measure(
    workdir: Path,
    *,
    delays_ms: tuple[int, ...] = DELAYS_MS,
    hold_ms: int = HOLD_MS,
    events: int = EVENTS,
    rate_per_s: float = RATE_PER_S,
    hold_samples: int = HOLD_SAMPLES,
    progress: Progress = ignore,
) -> CalibrationDocument:
    """Run every point against one server and return the calibration document.

    The server is one topology with no hop (the direct path); each hop is a topology over that
    server's URL (harness/topology_open.py), so every path publishes into the same log. The
    baseline hop lives in `baseline/`, the point hops one after another in `point/` (each
    folder's mitmproxy CA made once)."""
    started = trio.current_time()
    rig = _Rig()
    points: list[Point] = []
    async with open_topology((), workdir, rig.log, server=rig.server) as direct_path:
        server_url = direct_path.server_url

        def over_server(hop: ScaledHop, folder: str):
            return open_topology([hop], workdir / folder, rig.log, server=server_url)

        direct = await _stream(rig, direct_path, events, rate_per_s)
        progress(Step(f"direct: p50 {_fmt(direct.latency_ms.p50)} ms"))
        async with over_server(_network(0), "baseline") as base_path:
            base = await _stream(rig, base_path, events, rate_per_s)
            base_p50 = base.latency_ms.p50
            if base_p50 is None or direct.latency_ms.p50 is None:
                raise GauntletError(
                    "calibration: the baseline (direct, or one hop with D = 0) "
                    "delivered nothing; the environment is broken"
                )
            progress(Step(f"one hop, D = 0: p50 {_fmt(base.latency_ms.p50)} ms (the baseline)"))
            for delay in delays_ms:
                async with over_server(_network(delay), "point") as delayed:
                    m = await _stream(rig, delayed, events, rate_per_s)
                points.append(delay_point(delay, m, base_p50, events))
                progress(Step(f"delay {delay} ms: p50 {_fmt(m.latency_ms.p50)} ms"))
            keep_back = scale_hop(
                HopSpec(("keep_back",), options=(("keep_back_ms", str(hold_ms)),))
            )
            held: list[float] = []
            unheld: list[float] = []
            async with over_server(keep_back, "point") as holding:
                for _ in range(hold_samples):  # interleaved, so load drifts hit both alike
                    h = await _first_event_ms(rig, holding)
                    b = await _first_event_ms(rig, base_path)
                    if h is not None and b is not None:
                        held.append(h)
                        unheld.append(b)
            points.append(hold_point(hold_ms, held, unheld, hold_samples))
            progress(Step(f"hold {hold_ms} ms: p50 held {_fmt(points[-1].measured_ms)} ms"))
    baseline = {
        "used": "one network hop with D = 0 (the hop's own relay cost is not D's)",
        "hop_p50_ms": _round(base.latency_ms.p50),
        "direct_p50_ms": _round(direct.latency_ms.p50),
        "hop_first_event_p50_ms": _round(percentile(unheld, 50)),
        "errors_vs_direct_ms": {
            f"{p.kind} {p.nominal_ms:g}": _round(
                p.measured_ms - p.nominal_ms - (direct.latency_ms.p50 or 0.0)
            )
            for p in points
            if p.kind == "delay" and p.measured_ms is not None
        },
        "events_per_point": events,
        "rate_per_s": rate_per_s,
        "hold_samples": hold_samples,
    }
    return build(points, baseline, duration_s=trio.current_time() - started)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


async def calibrate(
    results_dir: Path,
    progress: Progress = ignore,
) -> tuple[CalibrationDocument, Path]:
    """Measure, write `<results>/calibration/`, return (document, path).

    A hop that cannot start or a dead baseline raises GauntletError (the environment is
    broken), unwrapped from trio's exception groups so the CLI reports it in one line."""
    signalled: list[int] = []
    freeze_startup_heap()  # the harness's own GC pauses out of what it calibrates
    with private_workdir("calibrate") as tmp:
        progress(WorkDir(str(tmp)))
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_on_signal, nursery.cancel_scope, signalled)
                doc = await measure(tmp, progress=progress)
                nursery.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            inner: BaseException = group
            while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
                inner = inner.exceptions[0]
            if isinstance(inner, GauntletError) and not signalled:
                raise inner from None
            if not signalled:
                raise
    if signalled:  # the hops are killed and the work folder removed by now
        raise Interrupted(f"calibration interrupted by {signal.Signals(signalled[0]).name}")
    return doc, write(doc, results_dir)


async def _cancel_on_signal(scope: trio.CancelScope, signalled: list[int]) -> None:
    """SIGINT and SIGTERM cancel the calibration, so it tears down as a run does."""
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            signalled.append(signum)
            scope.cancel()
            return


def for_run(results_dir: Path, *, may_measure: bool, progress: Progress) -> dict[str, Any]:
    """The calibration excerpt a run embeds: the saved one if it fits, else a fresh one."""
    source = str(results_dir / CALIBRATION_DIR / LATEST_FILE)
    try:
        latest = load_latest(results_dir)
    except DocumentError as exc:  # an older gauntlet's, say: measure one this version reads
        progress(Note(f"saved calibration not used: {exc}"))
        latest = None
    if latest is not None and fits(latest):
        return excerpt(latest, source)
    if not may_measure:
        return excerpt(
            None,
            reason="none saved for this machine and --no-calibration given: "
            "run `gauntlet calibrate`",
        )
    progress(Calibrating())
    doc, path = trio.run(calibrate, results_dir, progress)
    progress(Note(render_table(doc)))
    return excerpt(doc, str(path))
