"""The whole benchmark: floor, hop overhead, load sweep, hostile clients, matrix wall times ->
one document.

- floor: one subscriber per transport, direct, at a low rate: the instrument's own latency;
- hops: the same through 1, 2 and 3 transparent hops, minus the floor measured in this run;
- sweep: subscribers x transport x {direct, one hop} at 1 event/s each
  (harness/instrument/bench/sweep.py);
- hostile: the reference server's subscribers beside hostile clients, their p99 against their
  own baseline (harness/instrument/bench/hostile.py);
- matrices: `gauntlet run` of the smoke matrix and the default profile as subprocesses, timed.

The document (bench/document.py: BenchDocument) goes to `<results>/bench/<bench id>.json`,
written once (write, then rename), and `<results>/bench/latest.json` links to it.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import trio

from gauntlet import documents
from gauntlet.documents import header, machine_info
from gauntlet.errors import GauntletError, unwrap
from gauntlet.instrument.bench import hostile, procs
from gauntlet.instrument.bench.document import (
    BenchDocument,
    emulation_vs_real,
    evaluate_targets,
    hop_overhead,
    knees,
    relay_cost,
)
from gauntlet.instrument.bench.sweep import MAX_SUBSCRIBERS, REPO, PointSpec, measure_point
from gauntlet.instrument.heap import freeze_startup_heap
from gauntlet.load.run import LOAD_TRANSPORTS
from gauntlet.progress import Note, Progress, Step, ignore
from gauntlet.results import new_run_id
from gauntlet.spawn import kill_group, spawn
from gauntlet.workdir import private_workdir

BENCH_DIR = "bench"
SWEEP_TRANSPORTS = ("sse", "long_poll", "websocket")
MATRIX_COMMANDS = {  # name -> (gauntlet arguments, time limit s)
    "smoke": (["run", "--matrix", "smoke", "--no-plots"], 300.0),
    "default": (["run", "--profile", "default", "--no-plots"], 1200.0),
}


@dataclass(frozen=True)
class BenchConfig:
    """What one bench run measures; `full_config()` and `quick_config()` are the two presets."""

    quick: bool = False
    transports: tuple[str, ...] = SWEEP_TRANSPORTS
    subscribers: tuple[int, ...] = (10, 100, 500, 1000, 2000)
    sweep_events: int = 10
    sweep_rate_per_s: float = 1.0
    sweep_paths: tuple[int, ...] = (0, 1)  # hops: direct and one transparent hop
    per_worker: int = 500
    floor_transports: tuple[str, ...] = SWEEP_TRANSPORTS
    floor_events: int = 100
    floor_rate_per_s: float = 20.0
    hop_transports: tuple[str, ...] = SWEEP_TRANSPORTS
    hop_counts: tuple[int, ...] = (1, 2, 3)
    matrices: tuple[str, ...] = ("smoke", "default")
    skipped_matrices: tuple[tuple[str, str], ...] = ()  # (name, why)
    deliver_within_s: float = 10.0
    notes: tuple[str, ...] = field(default=())
    real_hops: tuple[str, ...] = ("nginx:tuned", "haproxy:no_delay")
    real_hop_transports: tuple[str, ...] = SWEEP_TRANSPORTS
    real_hop_events: int = 300
    real_hop_rate_per_s: float = 50.0
    hostile: bool = True

    def check(self) -> None:
        unknown = [
            t
            for t in {*self.transports, *self.floor_transports, *self.hop_transports}
            if t not in LOAD_TRANSPORTS
        ]
        if unknown:  # the load generator's user kinds (harness/load/locustfile.py)
            raise GauntletError(
                f"unknown transport {sorted(unknown)[0]!r} (known: {', '.join(LOAD_TRANSPORTS)})"
            )
        too_many = [n for n in self.subscribers if not 1 <= n <= MAX_SUBSCRIBERS]
        if too_many:
            raise GauntletError(
                f"--subscribers {too_many[0]}: a point is bounded to "
                f"1..{MAX_SUBSCRIBERS} subscribers (loopback sockets, "
                "file descriptors)"
            )
        bad = [m for m in self.matrices if m not in MATRIX_COMMANDS]
        if bad:
            raise GauntletError(f"unknown matrix {bad[0]!r} (known: {', '.join(MATRIX_COMMANDS)})")


def full_config(**overrides: Any) -> BenchConfig:
    return BenchConfig(**overrides)


def quick_config(**overrides: Any) -> BenchConfig:
    """Under 3 minutes: the sweep at 10 and 1000, few events, hop chains for sse only, and the
    smoke matrix; the default profile takes ~7 minutes and is skipped (and says so)."""
    settings: dict[str, Any] = dict(
        quick=True,
        subscribers=(10, 1000),
        sweep_events=5,
        floor_events=40,
        hop_transports=("sse",),
        matrices=("smoke",),
        real_hop_transports=("sse",),
        real_hop_events=150,
        skipped_matrices=(("default", "skipped by --quick (about 7 minutes)"),),
    )
    settings.update(overrides)
    return BenchConfig(**settings)


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_mb() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def bench_machine(open_files: int) -> dict[str, Any]:
    return {
        **machine_info(),
        "cpu_model": _cpu_model(),
        "memory_mb": _memory_mb(),
        "open_files_limit": open_files,
    }


def _line(label: str, point: dict[str, Any]) -> Step:
    if point.get("error"):
        return Step(f"{label}: ERROR {point['error']}")
    lat, lim = point["latency_ms"], point.get("limiting") or {}
    busiest = f", busiest {lim['role']} {lim['cpu_share']:.0%}" if lim else ""
    return Step(
        f"{label}: delivered {point['delivered_fraction']:.4f}, p50 {lat['p50']} ms, "
        f"p99 {lat['p99']} ms{busiest} [{point['duration_s']:.0f} s]"
    )


async def _floor_and_hops(
    config: BenchConfig,
    workdir: Path,
    progress: Progress,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    floor, hops = [], []
    for transport in config.floor_transports:
        spec = PointSpec(
            transport,
            1,
            0,
            config.floor_events,
            config.floor_rate_per_s,
            deliver_within_s=config.deliver_within_s,
        )
        progress(
            Note(
                f"floor: {transport}, 1 subscriber, {spec.events} events at "
                f"{spec.rate_per_s:g}/s, direct"
            )
        )
        direct = await measure_point(spec, workdir, progress)
        progress(_line("direct", direct))
        floor.append(direct)
        if transport not in config.hop_transports:
            continue
        chains = []
        for k in config.hop_counts:
            chained = await measure_point(
                PointSpec(
                    transport,
                    1,
                    k,
                    config.floor_events,
                    config.floor_rate_per_s,
                    deliver_within_s=config.deliver_within_s,
                ),
                workdir,
                progress,
            )
            progress(_line(f"{k} hop(s)", chained))
            entry = hop_overhead(direct, chained, k)
            entry["error"] = chained.get("error")
            chains.append(entry)
        hops.append({"transport": transport, "direct": direct["latency_ms"], "chains": chains})
    return floor, hops


async def _real_hops(
    config: BenchConfig, workdir: Path, progress: Progress
) -> list[dict[str, Any]]:
    """Direct, the transparent emulation and each real proxy as one hop, one subscriber, in
    the same run: added latency and CPU per relayed event (document.relay_cost). A device
    not installed is listed as skipped with its package."""
    from gauntlet import real

    out = []
    for transport in config.real_hop_transports:

        def point(**kw: Any) -> PointSpec:
            return PointSpec(
                transport,  # noqa: B023 - called in this iteration only
                1,
                events=config.real_hop_events,
                rate_per_s=config.real_hop_rate_per_s,
                deliver_within_s=config.deliver_within_s,
                **kw,
            )

        progress(
            Note(
                f"real hops: {transport}, {config.real_hop_events} events at "
                f"{config.real_hop_rate_per_s:g}/s: direct, transparent, "
                f"{', '.join(config.real_hops)}"
            )
        )
        direct = await measure_point(point(), workdir, progress)
        costs, skipped = [], []
        for spec in [point(hops=1)] + [point(hops=1, real=name) for name in config.real_hops]:
            why = real.missing(spec.real) if spec.real else None
            if why:
                skipped.append({"hop": spec.real, "why": why})
                continue
            measured = await measure_point(spec, workdir, progress)
            progress(_line(spec.path, measured))
            costs.append(relay_cost(direct, measured))
        out.append(
            {
                "transport": transport,
                "direct": direct["latency_ms"],
                "hops": costs,
                "skipped": skipped,
                "comparison": emulation_vs_real(costs),
            }
        )
    return out


async def _sweep(config: BenchConfig, workdir: Path, progress: Progress) -> tuple[list, list]:
    points: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    total = len(config.transports) * len(config.sweep_paths) * len(config.subscribers)
    i = 0
    for transport in config.transports:
        for hops in config.sweep_paths:
            broken = None
            for n in sorted(config.subscribers):
                i += 1
                spec = PointSpec(
                    transport,
                    n,
                    hops,
                    config.sweep_events,
                    config.sweep_rate_per_s,
                    per_worker=config.per_worker,
                    deliver_within_s=config.deliver_within_s,
                )
                if broken is not None:  # bounded: no bigger load after a point that broke
                    skipped.append(
                        {"transport": transport, "path": spec.path, "subscribers": n, "why": broken}
                    )
                    progress(Note(f"sweep [{i}/{total}] {transport} {spec.path} {n}: skipped"))
                    continue
                progress(
                    Note(
                        f"sweep [{i}/{total}] {transport} {spec.path} {n} subscribers "
                        f"({spec.n_workers} workers)"
                    )
                )
                point = await measure_point(spec, workdir, progress)
                progress(_line(f"{transport} {spec.path} {n}", point))
                points.append(point)
                if point.get("error"):
                    broken = f"{n} subscribers already failed: {point['error']}"
    return points, skipped


async def _hostile(progress: Progress) -> dict[str, Any]:
    """The hostile-clients measurement, in SCHED_RR where the kernel allows it; without it the
    figures are kept but the p99 target is not judged (harness/instrument/bench/hostile.py).
    A measurement that fails (the attack never started, a phase past its bound) is
    `{"error": why}`, as a sweep point's error is, and the rest of the bench stands."""
    progress(
        Note(
            f"hostile clients: {hostile.SUBSCRIBERS} SSE subscribers, {hostile.EVENTS} events "
            f"at {hostile.RATE_PER_S:g}/s, alone then beside every kind of attack"
        )
    )
    try:
        with hostile.realtime_priority() as realtime:
            figures = await hostile.measure_beside_hostile_clients(realtime=realtime)
    except (GauntletError, trio.TooSlowError, OSError, BaseExceptionGroup) as exc:
        inner = unwrap(exc)  # a fault of the measurement ends this part, not the whole bench
        if not isinstance(inner, GauntletError | trio.TooSlowError | OSError):
            raise
        why = str(inner) or type(inner).__name__
        progress(Step(f"hostile: not measured: {why}"))
        return {"error": why}
    progress(
        Step(
            f"hostile: p99 {figures.base_p99_ms:.1f} ms alone, {figures.p99_ms:.1f} ms beside "
            f"the attack, lost {figures.base_lost}/{figures.lost}, RSS "
            f"+{figures.rss_growth_mb:.0f} MB"
            + ("" if realtime else " (no SCHED_RR: p99 not judged)")
        )
    )
    return figures.as_dict()


async def _time_matrix(name: str, results_dir: Path, progress: Progress) -> dict[str, Any]:
    args, limit_s = MATRIX_COMMANDS[name]
    command = [sys.executable, "-m", "gauntlet", *args, "--results", str(results_dir)]
    progress(Note(f"matrix {name}: {' '.join(['gauntlet', *args])} (bounded {limit_s:.0f} s)"))
    started = time.monotonic()
    entry: dict[str, Any] = {
        "name": name,
        "command": ["gauntlet", *args],
        "wall_s": None,
        "exit_code": None,
        "skipped": None,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    out_path = results_dir / f"{name}.out"
    with open(out_path, "wb") as out, open(results_dir / f"{name}.err", "wb") as err:
        child = await spawn(command, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=REPO)
    try:
        with trio.move_on_after(limit_s) as scope:
            code = await child.wait()
    finally:
        await kill_group(child)  # the run's own hops die with it (PDEATHSIG)
    if scope.cancelled_caught:
        entry["skipped"] = f"did not finish within {limit_s:g} s"
    else:
        entry["wall_s"] = round(time.monotonic() - started, 2)
        entry["exit_code"] = code
        cells = [
            line
            for line in out_path.read_text(errors="replace").splitlines()
            if line.startswith("results: ")
        ]
        entry["cells"] = _count_cells(cells[-1].removeprefix("results: ")) if cells else None
    progress(Step(f"{name}: {entry['wall_s']} s, exit {entry['exit_code']}"))
    return entry


async def run_bench(
    config: BenchConfig,
    results_dir: Path,
    progress: Progress = ignore,
    command: list[str] | None = None,
) -> tuple[BenchDocument, Path]:
    """Measure everything `config` asks for and write the document; returns (doc, path)."""
    config.check()
    freeze_startup_heap()  # the harness's own GC pauses out of its figures
    open_files = procs.raise_open_files_limit()
    started = time.monotonic()
    created = dt.datetime.now(dt.UTC)
    bench_id = new_run_id("quick" if config.quick else "full", created)
    progress(Note(f"bench {bench_id}: {'quick' if config.quick else 'full'}; loopback only"))
    with private_workdir("bench") as workdir:  # 0700, removed on exit, swept if orphaned
        floor, hops = await _floor_and_hops(config, workdir, progress)
        real_hops = await _real_hops(config, workdir, progress)
        sweep, skipped = await _sweep(config, workdir, progress)
        hostile = await _hostile(progress) if config.hostile else None
        matrices = [
            await _time_matrix(name, workdir / "matrix-results", progress)
            for name in config.matrices
        ]
    matrices += [
        {
            "name": name,
            "command": list(MATRIX_COMMANDS[name][0]),
            "wall_s": None,
            "exit_code": None,
            "skipped": why,
        }
        for name, why in config.skipped_matrices
    ]
    doc: dict[str, Any] = {
        **header(BenchDocument, created=created, machine=bench_machine(open_files), repo=REPO),
        "bench_id": bench_id,
        "quick": config.quick,
        "command": command or ["gauntlet", "bench"],
        "config": asdict(config),
        "floor": floor,
        "hops": hops,
        "real_hops": real_hops,
        "sweep": sweep,
        "skipped_points": skipped,
        "knees": knees(sweep),
        "hostile": hostile,
        "matrices": matrices,
        "targets": [],
        "wall_s": 0.0,
    }
    doc["targets"] = evaluate_targets(doc)
    doc["wall_s"] = round(time.monotonic() - started, 2)
    bench = BenchDocument.model_validate(doc)
    return bench, write_bench(bench, results_dir)


def _count_cells(results_json: str) -> int | None:
    try:
        return len(json.loads(Path(results_json).read_text())["cells"])
    except (OSError, ValueError, KeyError):
        return None


def write_bench(doc: BenchDocument, results_dir: Path) -> Path:
    """`<results>/bench/<id>.json`, then `latest.json` linked to it (harness/documents)."""
    return documents.write(doc, results_dir / BENCH_DIR)


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """A short human summary of a bench document (pure)."""
    m = doc["machine"]
    out = [
        f"bench {doc['bench_id']} ({'quick' if doc['quick'] else 'full'}), "
        f"{doc['wall_s']:.0f} s on {m['cpu_count']} x {m.get('cpu_model')}, "
        f"{m.get('memory_mb')} MB, Python {m['python']}"
    ]
    for p in doc["floor"]:
        out.append(
            f"floor {p['transport']:<10} p50 {p['latency_ms']['p50']} ms, "
            f"p99 {p['latency_ms']['p99']} ms"
        )
    for h in doc["hops"]:
        for c in h["chains"]:
            out.append(
                f"hops  {h['transport']:<10} {c['hops']} hop(s): +{c['added_ms']['p50']} "
                f"ms p50, +{c['added_ms']['p99']} ms p99 "
                f"({c['added_per_hop_ms']['p50']} ms p50 per hop)"
            )
    for r in doc.get("real_hops", []):
        for c in r["hops"]:
            out.append(
                f"relay {r['transport']:<10} {c['hop']:<17} +{c['added_ms']['p50']} ms p50, "
                f"{c['cpu_us_per_event']} us CPU per event"
            )
        for s in r["skipped"]:
            out.append(f"relay {r['transport']:<10} {s['hop']:<17} skipped: {s['why']}")
    out.append(
        f"{'transport':<10} {'path':<7} {'subs':>5} {'delivered':>9} {'p50 ms':>8} "
        f"{'p99 ms':>8}  busiest process"
    )
    for p in doc["sweep"]:
        lim = p.get("limiting") or {}
        busiest = f"{lim['role']} {lim['cpu_share']:.0%}" if lim else "-"
        if p.get("machine_busy_cores") is not None:
            busiest += f", machine {p['machine_busy_cores']:.1f}/{m['cpu_count']} cores busy"
        if p.get("error"):
            busiest = f"ERROR {p['error']}"
        frac = p["delivered_fraction"]
        out.append(
            f"{p['transport']:<10} {p['path']:<7} {p['subscribers']:>5} "
            f"{frac if frac is not None else '-':>9} {_num(p['latency_ms']['p50']):>8} "
            f"{_num(p['latency_ms']['p99']):>8}  {busiest}"
        )
    for k in doc["knees"]:
        where = (
            f"at {k['knee_subscribers']} ({k['reason']}; limited by {k['limited_by']})"
            if k["knee_subscribers"]
            else "not reached"
        )
        out.append(f"knee  {k['transport']} {k['path']}: {where}")
    h = doc.get("hostile")
    if h and h.get("error"):
        out.append(f"hostile clients: not measured: {h['error']}")
    elif h:
        out.append(
            f"hostile clients: subscribers' p99 {h['base_p99_ms']} ms alone, {h['p99_ms']} ms "
            f"beside the attack; lost {h['base_lost']} / {h['lost']}; server RSS "
            f"+{h['rss_growth_mb']} MB; {h['hostile_requests']} hostile requests"
        )
    for m_ in doc["matrices"]:
        out.append(
            f"matrix {m_['name']}: "
            + (f"{m_['wall_s']} s" if m_["wall_s"] is not None else f"not timed ({m_['skipped']})")
        )
    for t in doc["targets"]:
        mark = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        out.append(f"target {mark}: {t['text']} (figure: {t['figure']} {t['unit']})")
    return out


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
