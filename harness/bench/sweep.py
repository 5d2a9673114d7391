"""One measured point: N subscribers of one transport, direct or through transparent hops.

The order, each step waiting on a signal with a bound, never on a sleep:
1. the push server starts in this process (hypercorn reports its port);
2. the hops start (each `mitmdump` writes its port to a readiness pipe);
3. ceil(N / per_worker) worker processes start their share of subscribers
   (harness/bench/worker.py); the point is ready when the server has seen N requests;
4. CPU readings of every process; the publisher sends `events` at `rate_per_s`;
5. the point waits until every worker reports `complete`, or `deliver_within_s` passes;
6. CPU readings again; the workers are told to stop and send their receipts;
7. everything is killed (process groups, even on Ctrl-C or an exception).

The server and this orchestration share one process (its CPU is the `server` row); each
hop's and each worker's CPU is read from /proc, so the point can say which process limited
it. A worker above 90 % of a core makes the point run again with twice the workers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import trio

from gauntlet.bench import procs
from gauntlet.bench.document import limiting_process, point_figures, spread, workers_for
from gauntlet.bench.worker import WorkerArgs
from gauntlet.errors import GauntletError, unwrap
from gauntlet.eventlog import EventLog, Record, ServerRequest
from gauntlet.hops import client_entry, running_chain
from gauntlet.server import Publisher, PushApp, ServerOptions, serve_push_app
from gauntlet.spawn import Child, kill_group, spawn
from gauntlet.spec import HopSpec, scale_chain

MAX_SUBSCRIBERS = 5000  # 5000 through a hop is ~15000 sockets; the hard RLIMIT here is 20000
MAX_WORKERS = 16
WORKER_EXIT_TIMEOUT_S = 5.0
RESULT_TIMEOUT_S = 20.0
REPO = Path(__file__).resolve().parents[2]
TRANSPARENT = HopSpec(("transparent",))
POLLING = ("long_poll", "short_poll", "websocket_fallback")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class PointSpec:
    """What one point measures; every duration is a bound, `rate_per_s` is the workload."""

    transport: str
    subscribers: int
    hops: int = 0
    events: int = 10
    rate_per_s: float = 1.0
    per_worker: int = 500
    workers: int | None = None  # None: ceil(subscribers / per_worker)
    connect_rate: float = 400.0  # subscribers started per second per worker
    deliver_within_s: float = 10.0
    time_limit_s: float = 240.0
    payload_bytes: int = 64
    real: str | None = None
    """With hops=1: the hop is this real device:preset (harness/real/), not a transparent
    mitmdump, so the emulation's cost can be put beside real proxies' in the same run."""

    def __post_init__(self) -> None:
        if not 1 <= self.subscribers <= MAX_SUBSCRIBERS:
            raise GauntletError(f"{self.subscribers} subscribers: a point is bounded to "
                                f"1..{MAX_SUBSCRIBERS} connections")  # fmt: skip
        if not 0 <= self.hops <= 5:
            raise GauntletError(f"{self.hops} hops: expected 0..5")
        if self.events < 1 or self.rate_per_s <= 0:
            raise GauntletError("a point needs at least one event at a positive rate")

    @property
    def n_workers(self) -> int:
        n = self.workers or workers_for(self.subscribers, self.per_worker)
        return min(n, self.subscribers, MAX_WORKERS)

    @property
    def path(self) -> str:
        if self.real is not None:
            return self.real
        return "direct" if self.hops == 0 else "hop" if self.hops == 1 else f"{self.hops}hops"


class _ServerLog(EventLog):
    """The server's log for a point: counts requests, keeps nothing (publish stamps live in
    the publisher), and wakes the orchestration when `target` requests have arrived."""

    def __init__(self, target: int) -> None:
        super().__init__()
        self.requests = 0
        self.target = target
        self.reached = trio.Event()

    def append(self, record: Record) -> None:
        if isinstance(record, ServerRequest):
            self.requests += 1
            if self.requests >= self.target:
                self.reached.set()


class _Worker:
    """A worker process and what it has said on stdout so far."""

    def __init__(self, process: Child, subscribers: int) -> None:
        self.process = process
        self.pid = process.pid
        self.subscribers = subscribers
        self.started = trio.Event()
        self.connected = trio.Event()
        self.complete = trio.Event()
        self.done = trio.Event()
        self.result: dict[str, Any] | None = None

    async def read(self) -> None:
        import json

        assert self.process.stdout is not None
        buffer = b""
        try:
            while True:
                chunk = await self.process.stdout.receive_some(1 << 16)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.startswith(b"started"):
                        self.started.set()
                    elif line == b"connected":
                        self.connected.set()
                    elif line == b"complete":
                        self.complete.set()
                    elif line.startswith(b"result "):
                        self.result = json.loads(line[7:])
        finally:
            self.started.set()  # a dead worker must not keep anyone waiting
            self.connected.set()
            self.complete.set()
            self.done.set()

    async def stop(self) -> None:
        assert self.process.stdin is not None
        try:
            await self.process.stdin.send_all(b"stop\n")
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass


@asynccontextmanager
async def _workers(spec: PointSpec, base_url: str, workdir: Path,
                   max_seconds: float) -> AsyncIterator[list[_Worker]]:  # fmt: skip
    """Start the workers with their share of subscribers; always kill them on exit."""
    shares = spread(spec.subscribers, spec.n_workers)
    async with AsyncExitStack() as stack, trio.open_nursery() as readers:
        workers: list[_Worker] = []
        for i, share in enumerate(shares):
            args = WorkerArgs(spec.transport, base_url, share, spec.events,
                              spec.connect_rate, max_seconds)  # fmt: skip
            with open(workdir / f"worker{i}.log", "wb") as errors:
                process = await spawn(
                    [sys.executable, "-m", "gauntlet.bench.worker", *args.argv()],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, cwd=REPO,
                )  # fmt: skip
            stack.push_async_callback(kill_group, process, WORKER_EXIT_TIMEOUT_S)
            worker = _Worker(process, share)
            readers.start_soon(worker.read)
            workers.append(worker)
        try:
            yield workers
        finally:
            readers.cancel_scope.cancel()


def _readings(roles: list[tuple[str, int | None]]) -> list[procs.ProcReading | None]:
    return [procs.read(pid) for _, pid in roles]


async def measure_point(spec: PointSpec, workdir: Path, progress: Progress = lambda _: None,
                        ) -> dict[str, Any]:  # fmt: skip
    """Measure one point; a worker that saturated its core makes it run again with twice the
    workers (up to MAX_WORKERS). Earlier attempts are kept under `attempts`."""
    attempts: list[dict[str, Any]] = []
    while True:
        point = await run_point(spec, workdir, progress)
        saturated = [p for p in point["processes"] if p["role"] == "worker"
                     and (p["cpu_share"] or 0) >= 0.9]  # fmt: skip
        if not saturated or spec.n_workers >= min(MAX_WORKERS, spec.subscribers):
            point["attempts"] = attempts
            return point
        progress(f"    a worker used {saturated[0]['cpu_share']:.0%} of a core: again with "
                 f"{spec.n_workers * 2} workers")  # fmt: skip
        attempts.append({k: point[k] for k in ("workers", "delivered_fraction", "latency_ms",
                                                "limiting")})  # fmt: skip
        spec = replace(spec, workers=spec.n_workers * 2)


async def run_point(spec: PointSpec, workdir: Path, progress: Progress = lambda _: None,
                    ) -> dict[str, Any]:  # fmt: skip
    """Measure one point once; an error or the time limit makes an entry with `error` set."""
    started = time.monotonic()
    point: dict[str, Any] = {
        "transport": spec.transport, "path": spec.path, "hops": spec.hops,
        "subscribers": spec.subscribers, "workers": spec.n_workers, "events": spec.events,
        "rate_per_s": spec.rate_per_s, "sent_events": 0, "expected_deliveries": 0,
        "delivered": 0, "delivered_fraction": None,
        "latency_ms": {"p50": None, "p99": None, "max": None},
        "processes": [], "limiting": None, "error": None,
    }  # fmt: skip
    point_dir = workdir / f"{spec.transport}-{spec.path.replace(':', '-')}-{spec.subscribers}"
    point_dir.mkdir(parents=True, exist_ok=True)
    try:
        with trio.fail_after(spec.time_limit_s):
            await _measure(spec, workdir, point_dir, point, progress)
    except trio.TooSlowError:
        point["error"] = f"the point did not end within its {spec.time_limit_s:g} s limit"
    except (GauntletError, OSError, BaseExceptionGroup) as exc:
        inner = unwrap(exc)  # raised inside the server's or the workers' nursery
        if isinstance(inner, GauntletError):
            point["error"] = str(inner)
        elif isinstance(inner, OSError):
            point["error"] = f"{type(inner).__name__}: {inner}"
        else:
            raise
    point["duration_s"] = round(time.monotonic() - started, 3)
    return point


async def _measure(spec: PointSpec, workdir: Path, point_dir: Path, point: dict[str, Any],
                   progress: Progress) -> None:  # fmt: skip
    log = _ServerLog(spec.subscribers)
    polling = spec.transport in POLLING  # connected only once a first answer comes
    publisher = Publisher(log, spec.payload_bytes)
    app = PushApp(publisher, log, ServerOptions())
    procs.reset_peak()
    ramp_s = max(spread(spec.subscribers, spec.n_workers)) / spec.connect_rate
    connect_within_s = 15.0 + 3 * ramp_s
    publish_s = spec.events / spec.rate_per_s
    worker_bound = connect_within_s + publish_s + spec.deliver_within_s + RESULT_TIMEOUT_S + 30
    hop_dir = workdir / "hops"  # shared, so each hop's CA is generated once per bench
    hop_dir.mkdir(exist_ok=True)
    async with trio.open_nursery() as nursery:
        server_url = await nursery.start(serve_push_app, app)
        hops = [HopSpec((), real=spec.real)] if spec.real else [TRANSPARENT] * spec.hops
        async with running_chain(scale_chain(hops), server_url, hop_dir) as chain:
            base_url, _ = client_entry(chain, server_url)
            async with _workers(spec, base_url, point_dir, worker_bound) as workers:
                with trio.move_on_after(connect_within_s):
                    await log.reached.wait()
                    for w in workers:
                        await (w.started if polling else w.connected).wait()
                if log.requests < spec.subscribers:  # raising cancels the server's nursery
                    raise GauntletError(f"only {log.requests} of {spec.subscribers} subscribers"
                                        f" reached the server within {connect_within_s:.0f} s")
                late = [w.pid for w in workers if not polling and not w.connected.is_set()]
                if late:  # the server saw the request, but the client has no answer yet
                    raise GauntletError(f"subscribers of workers {late} not all connected within "
                                        f"{connect_within_s:.0f} s (requests reached the server)")
                progress(f"    {spec.subscribers} subscribers connected; publishing "
                         f"{spec.events} events at {spec.rate_per_s:g}/s")  # fmt: skip
                roles = [("server", None)] + [("proxy", h.pid) for h in chain] + \
                    [("worker", w.pid) for w in workers]  # fmt: skip
                for _, pid in roles:
                    if pid is not None:
                        procs.reset_peak(pid)
                system_before, before = procs.read_system(), _readings(roles)
                tree_before = [procs.tree_cpu_s(h.pid) for h in chain if h.pid]
                t0 = time.monotonic()
                start = trio.current_time()
                for i in range(spec.events):
                    await trio.sleep_until(start + i / spec.rate_per_s)  # the workload's pacing
                    publisher.publish()
                with trio.move_on_after(spec.deliver_within_s):
                    for w in workers:
                        await w.complete.wait()
                window_s = time.monotonic() - t0
                system_after, after = procs.read_system(), _readings(roles)
                tree_after = [procs.tree_cpu_s(h.pid) for h in chain if h.pid]
                for w in workers:
                    await w.stop()
                with trio.move_on_after(RESULT_TIMEOUT_S):
                    for w in workers:
                        await w.done.wait()
        nursery.cancel_scope.cancel()
    missing = [w.pid for w in workers if w.result is None]
    if missing:
        point["error"] = f"workers {missing} sent no result (see {point_dir}/worker*.log)"
    sent = {e.id: e.sent_ns for e in publisher.after(0)}
    receipts = [r for w in workers if w.result for r in w.result["receipts"]]
    point.update(point_figures(sent, receipts, spec.subscribers))
    point["window_s"] = round(window_s, 3)
    point["processes"] = _process_rows(roles, before, after, window_s, workers)
    cores = os.cpu_count() or 1
    point["machine_busy_cores"] = None
    if system_before and system_after:
        busy = system_after[0] - system_before[0]
        total = system_after[1] - system_before[1]
        point["machine_busy_cores"] = round(busy / total * cores, 3) if total else None
    spent = [a - b for a, b in zip(tree_after, tree_before, strict=True)
             if a is not None and b is not None]  # fmt: skip
    point["hops_cpu_s"] = round(sum(spent), 6) if chain and len(spent) == len(chain) else None
    point["limiting"] = limiting_process(point["processes"], point["machine_busy_cores"], cores)
    results = [w.result for w in workers if w.result]
    point["subscribers_connected"] = sum(r["connected"] for r in results)
    point["reconnects"] = sum(r["reconnects"] for r in results)
    point["duplicates"] = sum(r["duplicates"] for r in results)
    point["client_errors"] = sum(r["error_count"] for r in results)
    point["client_error_examples"] = [e for r in results for e in r["errors"]][:3]


def _process_rows(roles: list[tuple[str, int | None]], before: list, after: list,
                  window_s: float, workers: list[_Worker]) -> list[dict[str, Any]]:  # fmt: skip
    by_pid = {w.pid: w for w in workers}
    rows = []
    for (role, pid), b, a in zip(roles, before, after, strict=True):
        cpu = None if a is None or b is None else a.cpu_s - b.cpu_s
        row: dict[str, Any] = {
            "role": role, "pid": pid if pid is not None else os.getpid(),
            "cpu_s": None if cpu is None else round(cpu, 3),
            "cpu_share": None if cpu is None or window_s <= 0 else round(cpu / window_s, 3),
            "peak_rss_mb": None if a is None or a.peak_rss_mb is None else round(a.peak_rss_mb, 1),
        }
        if role == "worker" and pid in by_pid:
            w = by_pid[pid]
            row["subscribers"] = w.subscribers
            if w.result:
                row["total_cpu_s"] = w.result["cpu_s"]  # the worker's own figure, whole life
        rows.append(row)
    return rows
