"""One measured point of the bench: N subscribers of one transport, direct or through hops,
on the project's one load generator (`gauntlet load`, harness/load/).

A point is a `gauntlet load` run shaped for the sweep (`load_spec`): the reference server in
this process, the hops in front (harness/load/run.serve_through), ceil(N / per_worker)
Locust workers spawning N users, publishing only once the server has seen all N
subscriptions, a bounded workload, the master stopping the run once every subscriber holds
every event. Each worker's exact receipts are merged (harness/load/accounting.py); CPU and
peak RSS of the server, each hop, the master and each worker come from /proc over the
publishing window, and a worker above 90 % of a core makes the point run again with twice
the workers (harness/load/run.measure). `bench_point` (PURE) turns that run into the
bench document's point (harness/instrument/bench/document.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gauntlet.errors import GauntletError
from gauntlet.hops import HopSpec
from gauntlet.instrument.bench.document import workers_for
from gauntlet.load.run import LOAD_TRANSPORTS, MAX_WORKERS, REPO, LoadSpec, measure
from gauntlet.progress import Progress, ignore
from gauntlet.target import TargetChoice

__all__ = ["MAX_SUBSCRIBERS", "REPO", "PointSpec", "bench_point", "load_spec", "measure_point"]

MAX_SUBSCRIBERS = 5000  # 5000 through a hop is ~15000 sockets; the hard RLIMIT here is 20000
TRANSPARENT = HopSpec(("transparent",))
MAX_ERROR_EXAMPLES = 3


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
    payload_bytes: int = 64
    real: str | None = None
    """With hops=1: the hop is this real device:preset (harness/real/), not a transparent
    mitmdump, so the emulation's cost can be put beside real proxies' in the same run."""

    def __post_init__(self) -> None:
        if not 1 <= self.subscribers <= MAX_SUBSCRIBERS:
            raise GauntletError(
                f"{self.subscribers} subscribers: a point is bounded to "
                f"1..{MAX_SUBSCRIBERS} connections"
            )
        if not 0 <= self.hops <= 5:
            raise GauntletError(f"{self.hops} hops: expected 0..5")
        if self.events < 1 or self.rate_per_s <= 0:
            raise GauntletError("a point needs at least one event at a positive rate")
        if self.transport not in LOAD_TRANSPORTS:
            raise GauntletError(
                f"transport {self.transport!r}: the load generator runs "
                f"{', '.join(LOAD_TRANSPORTS)}"
            )

    @property
    def n_workers(self) -> int:
        n = self.workers or workers_for(self.subscribers, self.per_worker)
        return min(n, self.subscribers, MAX_WORKERS)

    @property
    def path(self) -> str:
        if self.real is not None:
            return self.real
        return "direct" if self.hops == 0 else "hop" if self.hops == 1 else f"{self.hops}hops"

    @property
    def chain(self) -> list[HopSpec]:
        return [HopSpec((), real=self.real)] if self.real else [TRANSPARENT] * self.hops


def load_spec(spec: PointSpec) -> LoadSpec:
    """The `gauntlet load` run that measures this point (pure): all N subscribed before the
    first event, `connect_rate` per worker (a storm of 2000 would overflow listen backlogs and
    measure SYN retries instead of push), bounded as every load run."""
    workers = spec.n_workers
    return LoadSpec(
        spec.transport,
        spec.subscribers,
        spawn_rate=min(spec.connect_rate * workers, spec.subscribers * 10.0),
        rate_per_s=spec.rate_per_s,
        duration_s=spec.events / spec.rate_per_s,
        workers=workers,
        through=spec.path,
        deliver_within_s=spec.deliver_within_s,
        payload_bytes=spec.payload_bytes,
        publish_when_subscribed=True,
    )


def bench_point(spec: PointSpec, run: dict[str, Any]) -> dict[str, Any]:
    """The bench document's point from one `gauntlet load` run (PURE).

    Every count is the load run's exact accounting (harness/load/accounting.merge). Worker
    rows gain their users and their own whole-life CPU from their receipts document;
    `hops_cpu_s` is the hops' process trees' CPU over the window (None without hops or when
    one was not read)."""
    by_pid = {w["pid"]: w for w in run.get("worker_receipts") or []}
    processes = []
    for row in run.get("processes") or []:
        row = dict(row)
        if row["role"] == "worker" and row["pid"] in by_pid:
            row["subscribers"] = by_pid[row["pid"]]["users"]
            row["total_cpu_s"] = by_pid[row["pid"]]["cpu_s"]
        processes.append(row)
    hop_cpu = [p["cpu_s"] for p in processes if p["role"] == "proxy"]
    kinds = run.get("client_error_kinds") or {}
    return {
        "transport": spec.transport,
        "path": spec.path,
        "hops": spec.hops,
        "subscribers": spec.subscribers,
        "workers": run.get("workers", spec.n_workers),
        "events": spec.events,
        "rate_per_s": spec.rate_per_s,
        "sent_events": run.get("sent_events", 0),
        "expected_deliveries": run.get("expected_deliveries", 0),
        "delivered": run.get("delivered", 0),
        "lost": run.get("lost"),
        "duplicates": run.get("duplicates"),
        "unexpected_ids": run.get("unexpected_ids"),
        "delivered_fraction": run.get("delivered_fraction"),
        "latency_ms": run.get("latency_ms") or {"p50": None, "p99": None, "max": None},
        "latency_samples": run.get("latency_samples"),
        "window_s": run.get("window_s"),
        "processes": processes,
        "machine_busy_cores": run.get("machine_busy_cores"),
        "hops_cpu_s": round(sum(hop_cpu), 6)
        if spec.hops and hop_cpu and None not in hop_cpu and len(hop_cpu) == spec.hops
        else None,
        "limiting": run.get("limiting"),
        "subscribers_connected": run.get("subscribed"),
        "reconnects": run.get("reconnects"),
        "client_errors": run.get("client_errors"),
        "client_error_examples": [f"{kind} x{n}" for kind, n in kinds.items()][:MAX_ERROR_EXAMPLES],
        "stop_reason": run.get("stop_reason"),
        "load_average_before": run.get("load_average_before"),
        "load_average_after": run.get("load_average_after"),
        "attempts": run.get("attempts", []),
        "error": run.get("error"),
        "duration_s": run.get("duration_s"),
    }


async def measure_point(
    spec: PointSpec,
    workdir: Path,
    progress: Progress = ignore,
) -> dict[str, Any]:
    """Measure one point on the load generator; an error makes an entry with `error` set."""
    run = await measure(load_spec(spec), TargetChoice(), spec.chain, workdir, progress)
    return bench_point(spec, run)
