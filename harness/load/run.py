"""One `gauntlet load` run: target, hops, Locust's master and workers, the publisher, receipts.

The harness process stays trio: Locust (gevent) runs only in its own child processes, one
master and N workers started here (`python -m locust -f harness/load/locustfile.py`), each
in its own process group with SIGKILL on our death (harness/spawn.py), so none outlives the
run. The master binds 127.0.0.1 on a port the OS chose; more workers on other machines join
it with `--remote-workers` (README "Beyond one machine").

Every run is bounded: users (MAX_USERS), events (duration x rate) and time (the master's
`--gauntlet-max-seconds`, and a hard bound on waiting for it here). The master ends the run
itself once every user holds every event, or when this process tells it (END_SIGNAL) that the
delivery window after the last publish is over. CPU and peak RSS of the server (this process),
each hop, the master and each worker are sampled from /proc over the publishing window; a
worker past 90 % of a core makes the run measure again with twice the workers, as the
bench's sweep does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import trio

from gauntlet.errors import GauntletError, unwrap
from gauntlet.eventlog import EventLog, Published, Record, ServerRequest
from gauntlet.hops import client_entry
from gauntlet.instrument.bench import procs
from gauntlet.instrument.bench.document import SATURATED_CPU_SHARE, knees, limiting_process
from gauntlet.load.accounting import (
    ReceiptsError,
    check_receipts,
    merge,
    never_subscribed_error,
    ramp_points,
)
from gauntlet.progress import Progress, Step, ignore
from gauntlet.spawn import Child, kill_group, spawn
from gauntlet.spec import HopSpec, scale_chain
from gauntlet.target import TargetChoice
from gauntlet.topology_open import open_topology

LOAD_TRANSPORTS = ("sse", "sse_close_each", "long_poll", "websocket")
USER_CLASSES = {
    "sse": "SseSubscriber",
    "sse_close_each": "SseCloseEachSubscriber",
    "long_poll": "LongPollSubscriber",
    "websocket": "WebSocketSubscriber",
}
MAX_USERS = 20_000  # a user is 1 socket in its worker, 1 at the server, 2 per hop
MAX_WORKERS = 16
MAX_DURATION_S = 3600.0
SAMPLE_EVERY_S = 1.0
END_SIGNAL = signal.SIGUSR1  # the locustfile's master ends the run on it (as at its time limit)
MASTER_GRACE_S = 90.0  # beyond --gauntlet-max-seconds: stop_timeout + Locust's 60 s stop wait
REPO = Path(__file__).resolve().parents[2]
# The locustfile ships beside this module (package data), in a checkout and in the wheel.
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass(frozen=True)
class LoadSpec:
    """What one run asks for; every figure is bounded in check()."""

    transport: str
    users: int
    spawn_rate: float = 100.0
    rate_per_s: float = 1.0
    duration_s: float = 30.0
    workers: int = 2
    remote_workers: int = 0
    master_port: int = 0  # 0: the OS chooses
    through: str = "direct"
    deliver_within_s: float = 15.0
    connect_within_s: float = 30.0  # room for Locust's processes to start and meet
    clock: str = "monotonic"
    clock_sync_error_ms: float | None = None
    payload_bytes: int = 64
    publish_when_subscribed: bool = False
    """False: publish from the first subscription on, so events meet the ramp (latency against
    subscribers). True: publish once the target has seen every user's subscription, so every
    event meets all `users` (the bench's points, harness/instrument/bench/sweep.py)."""

    def check(self) -> None:
        if self.transport not in LOAD_TRANSPORTS:
            raise GauntletError(
                f"--transport {self.transport!r}: gauntlet load runs {', '.join(LOAD_TRANSPORTS)}"
            )
        if not 1 <= self.users <= MAX_USERS:
            raise GauntletError(f"--users {self.users}: expected 1..{MAX_USERS}")
        if not 0 < self.spawn_rate <= self.users * 10:
            raise GauntletError(f"--spawn-rate {self.spawn_rate:g}: expected > 0 (users/s)")
        if not 0 < self.rate_per_s <= 100:
            raise GauntletError(f"--rate {self.rate_per_s:g}: expected 0 < events/s <= 100")
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise GauntletError(
                f"--duration {self.duration_s:g}: expected 0 < s <= {MAX_DURATION_S:g}"
            )
        if not 0 <= self.workers <= MAX_WORKERS or self.workers + self.remote_workers < 1:
            raise GauntletError(
                f"--workers {self.workers}: expected 0..{MAX_WORKERS}, and at "
                "least one worker in all (--remote-workers)"
            )
        if self.users < self.workers + self.remote_workers:
            raise GauntletError(
                f"--users {self.users}: fewer users than workers "
                f"({self.workers + self.remote_workers})"
            )
        if self.clock not in ("monotonic", "wall"):
            raise GauntletError(f"--clock {self.clock!r}: expected monotonic or wall")
        if self.remote_workers and self.clock != "wall":
            raise GauntletError(
                "--remote-workers: other machines do not share this machine's "
                "monotonic clock; use --clock wall (and state its sync error)"
            )

    @property
    def events(self) -> int:
        return max(1, round(self.duration_s * self.rate_per_s))

    @property
    def ramp_s(self) -> float:
        return self.users / self.spawn_rate

    @property
    def max_seconds(self) -> float:
        """The master's own stop: ramp, publishing, delivery, and room to connect."""
        return round(
            self.connect_within_s
            + 2 * self.ramp_s
            + self.events / self.rate_per_s
            + self.deliver_within_s,
            1,
        )


class _LoadLog(EventLog):
    """The target's log for a run: publish stamps kept, requests only counted (thousands);
    `reached` is set once `users` requests have arrived."""

    def __init__(self, users: int = 0) -> None:
        super().__init__()
        self.published: dict[int, int] = {}
        self.requests = 0
        self.users = users
        self.reached = trio.Event()

    def append(self, record: Record) -> None:
        if isinstance(record, Published):
            self.published[record.id] = record.t_ns
        elif isinstance(record, ServerRequest):
            self.requests += 1
            if self.requests >= self.users:
                self.reached.set()


def free_loopback_port() -> int:
    """A port the OS chose on 127.0.0.1, for Locust's master (it takes a number, not a socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def master_argv(spec: LoadSpec, host: str, port: int, receipts: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        USER_CLASSES[spec.transport],
        "--headless",
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        str(port),
        "--expect-workers",
        str(spec.workers + spec.remote_workers),
        "--expect-workers-max-wait",
        "60",
        "--users",
        str(spec.users),
        "--spawn-rate",
        f"{spec.spawn_rate:g}",
        "--host",
        host,
        "--gauntlet-events",
        str(spec.events),
        "--gauntlet-receipts",
        str(receipts),
        "--gauntlet-clock",
        spec.clock,
        "--gauntlet-max-seconds",
        f"{spec.max_seconds:g}",
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]


def worker_argv(master_host: str, port: int) -> list[str]:
    """A worker's command line (on another machine: `locust` from a Gauntlet checkout)."""
    return [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(port),
        "--loglevel",
        "WARNING",
    ]


class _Sampler:
    """CPU and peak RSS of each process, read from /proc every second; the last reading of a
    process that ended (a worker at stop) is kept, so its share covers its own window.

    Also each process's busiest second (`peak_cpu_share`) and the machine's: at 0.1 events/s
    a window is mostly idle between fan-outs, so its average share (35 % for the server at
    10 000 subscribers) hides the process a fan-out waits on; its busiest second shows it."""

    def __init__(
        self, roles: list[tuple[str, int]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.roles = roles
        self.clock = clock
        self.first: dict[int, tuple[float, procs.ProcReading]] = {}
        self.last: dict[int, tuple[float, procs.ProcReading]] = {}
        self.peak: dict[int, float] = {}
        self.system: list[tuple[int, int]] = []  # (busy, total) ticks: first and last
        self.system_prev: tuple[int, int] | None = None
        self.peak_machine_cores: float | None = None
        self.stop = False

    def sample(self) -> None:
        now = self.clock()
        system = procs.read_system()
        if system is not None:
            self.system[1:] = [system] if self.system else []
            if not self.system:
                self.system.append(system)
            if self.system_prev is not None and system[1] > self.system_prev[1]:
                busy = (
                    (system[0] - self.system_prev[0])
                    / (system[1] - self.system_prev[1])
                    * (os.cpu_count() or 1)
                )
                self.peak_machine_cores = round(max(self.peak_machine_cores or 0.0, busy), 3)
            self.system_prev = system
        for role, pid in self.roles:
            reading = procs.read(pid if pid != os.getpid() else None)
            if reading is None:
                continue
            if role == "proxy":  # a real proxy works in children (nginx's workers): the tree
                tree = procs.tree_cpu_s(pid)
                reading = procs.ProcReading(
                    tree if tree is not None else reading.cpu_s, reading.peak_rss_mb
                )
            if reading.peak_rss_mb is None and pid in self.last:  # an exited process (a
                reading = procs.ProcReading(
                    reading.cpu_s,  # zombie) has no memory: keep
                    self.last[pid][1].peak_rss_mb,
                )  # its last peak
            self.first.setdefault(pid, (now, reading))
            if pid in self.last and pid in self.peak and now > self.last[pid][0]:
                t, before = self.last[pid]
                share = (reading.cpu_s - before.cpu_s) / (now - t)
                self.peak[pid] = round(max(self.peak[pid], share), 3)
            self.peak.setdefault(pid, 0.0)
            self.last[pid] = (now, reading)

    def restart(self) -> None:
        """The window starts now: CPU is counted from the first publish (workers' imports and
        Locust's start-up are not the fan-out's cost; connects during the ramp are), and the
        peak RSS of each process from here (where the kernel allows it)."""
        self.first.clear()
        self.peak.clear()
        self.system.clear()
        self.peak_machine_cores = None
        for _, pid in self.roles:
            procs.reset_peak(pid if pid != os.getpid() else None)
        self.sample()

    async def run(self) -> None:
        while not self.stop:
            self.sample()
            await trio.sleep(SAMPLE_EVERY_S)

    def machine_busy_cores(self) -> float | None:
        """Cores busy with anything (ours or other tenants') over the window, from /proc/stat."""
        if len(self.system) < 2:
            return None
        (b0, t0), (b1, t1) = self.system
        return round((b1 - b0) / (t1 - t0) * (os.cpu_count() or 1), 3) if t1 > t0 else None

    def window_s(self) -> float | None:
        """From the first publish to the last reading of any process."""
        if not self.first or not self.last:
            return None
        return round(
            max(t for t, _ in self.last.values()) - min(t for t, _ in self.first.values()), 3
        )

    def rows(self) -> list[dict[str, Any]]:
        out = []
        for role, pid in self.roles:
            row: dict[str, Any] = {
                "role": role,
                "pid": pid,
                "cpu_s": None,
                "cpu_share": None,
                "peak_cpu_share": self.peak.get(pid),
                "peak_rss_mb": None,
            }
            if pid in self.first and pid in self.last:
                (t0, a), (t1, b) = self.first[pid], self.last[pid]
                row["cpu_s"] = round(b.cpu_s - a.cpu_s, 3)
                row["cpu_share"] = round((b.cpu_s - a.cpu_s) / (t1 - t0), 3) if t1 > t0 else None
                row["peak_rss_mb"] = b.peak_rss_mb
            out.append(row)
        return out


async def measure(
    spec: LoadSpec,
    choice: TargetChoice,
    hops: Sequence[HopSpec],
    workdir: Path,
    progress: Progress = ignore,
    sock: socket.socket | None = None,
    logs_to: Path | None = None,
) -> dict[str, Any]:
    """Run once; again with twice the local workers while one saturated its core. With
    `logs_to`, the Locust processes' logs of every attempt are kept there."""
    attempts: list[dict[str, Any]] = []
    while True:
        point = await run_once(spec, choice, hops, workdir, progress, sock)
        if logs_to is not None:
            _keep_logs(workdir, logs_to)
        sock = None  # a fixed port serves the first attempt only
        hot = [
            p
            for p in point["processes"]
            if p["role"] == "worker" and (p["cpu_share"] or 0) >= SATURATED_CPU_SHARE
        ]
        if not hot or not spec.workers or spec.workers * 2 > min(MAX_WORKERS, spec.users):
            point["attempts"] = attempts
            return point
        progress(
            Step(
                f"a worker used {hot[0]['cpu_share']:.0%} of a core: again with "
                f"{spec.workers * 2} workers"
            )
        )
        attempts.append(
            {
                k: point.get(k)
                for k in ("workers", "delivered_fraction", "latency_ms", "limiting", "error")
            }
        )
        spec = replace(spec, workers=spec.workers * 2)


async def run_once(
    spec: LoadSpec,
    choice: TargetChoice,
    hops: Sequence[HopSpec],
    workdir: Path,
    progress: Progress = ignore,
    sock: socket.socket | None = None,
) -> dict[str, Any]:
    spec.check()
    point: dict[str, Any] = {
        "transport": spec.transport,
        "path": spec.through,
        "users": spec.users,
        "spawn_rate": spec.spawn_rate,
        "rate_per_s": spec.rate_per_s,
        "events": spec.events,
        "workers": spec.workers,
        "remote_workers": spec.remote_workers,
        "error": None,
        "processes": [],
        "limiting": None,
    }
    run_dir = _new_run_dir(
        workdir, f"run-{spec.transport}-{spec.through}-{spec.users}-{spec.workers}w"
    )
    receipts = run_dir / "receipts"
    receipts.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        await _run(spec, choice, hops, workdir, run_dir, receipts, point, progress, sock)
    except (GauntletError, OSError, BaseExceptionGroup) as exc:
        inner = unwrap(exc)
        if isinstance(inner, GauntletError | OSError):
            point["error"] = (
                str(inner)
                if isinstance(inner, GauntletError)
                else f"{type(inner).__name__}: {inner}"
            )
        else:
            raise
    point["duration_s"] = round(time.monotonic() - started, 3)
    return point


@asynccontextmanager
async def serve_through(
    target: Any,
    hops: Sequence[HopSpec],
    hop_dir: Path,
    through: str,
    log: EventLog,
    sock: socket.socket | None = None,
) -> AsyncIterator[tuple[str, list[Any]]]:
    """The server and hops of a run, by the one topology (harness/topology_open.py): the
    target serving on 127.0.0.1, the chain in front of it, and the URL the subscribers use;
    (base URL, running hops). The Locust processes are this topology's clients: the caller
    kills them (finally) inside the block, so before the hops and the server."""
    async with open_topology(
        scale_chain(hops), hop_dir, log, server=target, server_socket=sock
    ) as topology:
        base_url, forward = client_entry(topology.hops, topology.server_url)
        if forward is not None:
            raise GauntletError(
                f"--through {through}: a forward proxy; gauntlet load drives reverse chains only"
            )
        yield base_url, list(topology.hops)


async def _run(
    spec: LoadSpec,
    choice: TargetChoice,
    hops: Sequence[HopSpec],
    workdir: Path,
    run_dir: Path,
    receipts: Path,
    point: dict[str, Any],
    progress: Progress,
    sock: socket.socket | None = None,
) -> None:
    log = _LoadLog(spec.users)
    target = choice.build(log, spec.payload_bytes)
    hop_dir = workdir / "hops"  # shared by every run of a workdir: each hop's CA made once
    hop_dir.mkdir(exist_ok=True)
    procs.raise_open_files_limit()  # the children inherit it
    wall_offset_ns = time.time_ns() - time.monotonic_ns()
    async with serve_through(target, hops, hop_dir, spec.through, log, sock) as (base_url, chain):
        port = spec.master_port or free_loopback_port()
        point["master"] = {"host": "127.0.0.1", "port": port}
        children: list[tuple[str, Child]] = []
        try:
            with open(run_dir / "master.log", "wb") as out:
                master = await spawn(
                    master_argv(spec, base_url, port, receipts),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    cwd=REPO,
                )
            children.append(("master", master))
            for i in range(spec.workers):
                with open(run_dir / f"worker{i}.log", "wb") as out:
                    child = await spawn(
                        worker_argv("127.0.0.1", port),
                        stdin=subprocess.DEVNULL,
                        stdout=out,
                        stderr=out,
                        cwd=REPO,
                    )
                children.append(("worker", child))
            progress(
                Step(
                    f"locust master 127.0.0.1:{port}, {spec.workers} local worker(s)"
                    + (f", waiting for {spec.remote_workers} remote" if spec.remote_workers else "")
                    + f"; {spec.users} {spec.transport} users at "
                    f"{spec.spawn_rate:g}/s through {spec.through}"
                )
            )
            roles = (
                [("server", os.getpid())]
                + [("proxy", h.pid) for h in chain if h.pid]
                + [(role, c.pid) for role, c in children]
            )
            sampler = _Sampler(roles)
            point["load_average_before"] = list(os.getloadavg())
            async with trio.open_nursery() as inner:
                inner.start_soon(sampler.run)
                window = await _publish(spec, target, log, sampler.restart)
                with trio.move_on_at(window):
                    await master.wait()
                if master.returncode is None:  # the delivery window is over
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(master.pid, END_SIGNAL)
                with trio.move_on_after(spec.max_seconds + MASTER_GRACE_S) as bound:
                    await master.wait()
                sampler.stop = True
                inner.cancel_scope.cancel()
            point["load_average_after"] = list(os.getloadavg())
            if bound.cancelled_caught:
                raise GauntletError(
                    "the Locust master did not end within "
                    f"{spec.max_seconds + MASTER_GRACE_S:g} s "
                    f"(see {run_dir}/master.log)"
                )
        finally:
            for _, child in children:
                await kill_group(child)
    point["window_s"] = sampler.window_s()
    point["processes"] = sampler.rows()
    point["machine_busy_cores"] = sampler.machine_busy_cores()
    point["limiting"] = limiting_process(
        point["processes"], point["machine_busy_cores"], os.cpu_count()
    )
    point["peak_machine_busy_cores"] = sampler.peak_machine_cores
    point["limiting_at_peak"] = limiting_process(
        [{**row, "cpu_share": row["peak_cpu_share"]} for row in point["processes"]],
        sampler.peak_machine_cores,
        os.cpu_count(),
    )
    reason = run_dir / "receipts" / "stop-reason.txt"
    point["stop_reason"] = reason.read_text().strip() if reason.exists() else None
    sent = log.published
    if spec.clock == "wall":
        sent = {e: t + wall_offset_ns for e, t in sent.items()}
    _account(spec, receipts, sent, point)


async def _publish(
    spec: LoadSpec, target: Any, log: _LoadLog, on_start: Callable[[], None]
) -> float:
    """A steady `rate_per_s` from the first subscription the target saw (a running endpoint
    cannot say: from now), or with `publish_when_subscribed` once it has seen every user's;
    `events` in all. Returns when the delivery window ends (trio time, `delivery_window_end`)."""
    within = spec.connect_within_s + 2 * spec.ramp_s
    if spec.publish_when_subscribed:
        if target.first_request is None:
            raise GauntletError(
                "publishing once every user subscribed needs a target served "
                "here (the reference server or --app)"
            )
        with trio.move_on_after(within):
            await log.reached.wait()
        if not log.reached.is_set():
            raise GauntletError(
                f"only {log.requests} of {spec.users} subscribers reached the "
                f"server within {within:.0f} s"
            )
    elif target.first_request is not None:
        with trio.move_on_after(60.0 + spec.ramp_s):
            await target.first_request.wait()
    on_start()
    start = trio.current_time()
    for i in range(spec.events):
        await trio.sleep_until(start + i / spec.rate_per_s)  # the workload's pacing
        await target.publish()
    return delivery_window_end(spec, start, trio.current_time())


def delivery_window_end(spec: LoadSpec, first_publish: float, last_publish: float) -> float:
    """When the run ends if the master has not ended it (pure): `deliver_within_s` after the
    last publish, and not before the ramp has had twice its nominal time from the first one
    (as `max_seconds` allows it), so a late subscriber still gets its stream and the history.

    Without it a run with one subscriber short of every event waited for the master's
    `--gauntlet-max-seconds` with every stream idle: measured, 10 000 SSE through nginx
    waited 85 s after the last event, nginx's 60 s `proxy_read_timeout` cut all 9 996 streams
    (h11 RemoteProtocolError each) and their reconnection storm overflowed the listen queues
    (4 447 connect timeouts), load the run never asked for. With `publish_when_subscribed`
    the ramp was over before the first publish."""
    ramp_end = first_publish if spec.publish_when_subscribed else first_publish + 2 * spec.ramp_s
    return max(last_publish, ramp_end) + spec.deliver_within_s


def _new_run_dir(workdir: Path, name: str) -> Path:
    """A folder no earlier run of this workdir used: its receipts are this run's only."""
    name = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    for i in itertools.count(1):
        candidate = workdir / (name if i == 1 else f"{name}-{i}")
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")


def _keep_logs(workdir: Path, logs_to: Path) -> None:
    import shutil

    for log_file in workdir.glob("run-*/*.log"):
        target = logs_to / log_file.parent.name / log_file.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_file, target)


def read_receipts(folder: Path) -> list[dict[str, Any]]:
    docs = []
    for path in sorted(folder.glob("receipts-*.json")):
        try:
            doc = json.loads(path.read_text())
        except ValueError as exc:
            raise ReceiptsError(f"{path}: not JSON ({exc})") from None
        check_receipts(doc, str(path))
        docs.append(doc)
    return docs


def _account(spec: LoadSpec, folder: Path, sent: dict[int, int], point: dict[str, Any]) -> None:
    try:
        docs = read_receipts(folder)
    except ReceiptsError as exc:
        point["error"] = str(exc)
        return
    expected_workers = spec.workers + spec.remote_workers
    if len(docs) != expected_workers:
        point["error"] = (
            f"{len(docs)} of {expected_workers} workers sent receipts (see {folder.parent}/*.log)"
        )
    figures = merge(sent, docs)
    point.update({k: v for k, v in figures.items() if k != "events"})
    point["per_event"] = figures["events"]
    point["worker_receipts"] = [
        {
            "node": d["node"],
            "host": d["host"],
            "pid": d["pid"],
            "users": len(d["users"]),
            "cpu_s": d["cpu_s"],
            "peak_rss_mb": d["peak_rss_mb"],
        }
        for d in docs
    ]
    ramp = ramp_points(figures["events"], spec.transport, spec.through)
    point["ramp"] = ramp
    point["knee"] = knees(ramp)[0] if ramp else None
    if figures["subscribers"] != spec.users and point["error"] is None:
        point["error"] = f"{figures['subscribers']} of {spec.users} users reported receipts"
    if point["error"] is None:
        point["error"] = never_subscribed_error(figures, spec.through)
