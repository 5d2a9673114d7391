"""The bench's pure parts: the knee, targets, the schema,
and a point as a `gauntlet load` run and back. No sockets, no processes, no timing."""

from __future__ import annotations

import copy

import pytest
import trio

from gauntlet.errors import GauntletError
from gauntlet.instrument.bench.document import (
    BENCH_SCHEMA_VERSION,
    KIND,
    evaluate_targets,
    hop_overhead,
    hostile_target,
    knees,
    limited_by,
    limiting_process,
    validate,
    workers_for,
)
from gauntlet.instrument.bench.run import BenchConfig, quick_config, summary_lines
from gauntlet.instrument.bench.sweep import MAX_SUBSCRIBERS, PointSpec, bench_point, load_spec
from gauntlet.load.accounting import merge

MS = 1_000_000


def point(transport="sse", path="direct", n=10, fraction=1.0, p99=5.0, error=None, role="server"):
    return {
        "transport": transport,
        "path": path,
        "subscribers": n,
        "delivered_fraction": fraction,
        "latency_ms": {"p50": 1.0, "p99": p99},
        "error": error,
        "limiting": {"role": role, "pid": 1, "cpu_share": 0.2, "saturated": False},
    }


@pytest.mark.parametrize(
    ("n", "per", "workers"), [(10, 500, 1), (500, 500, 1), (501, 500, 2), (2000, 500, 4)]
)
def test_workers_for(n, per, workers):
    assert workers_for(n, per) == workers


def test_knee_is_the_first_count_with_loss_or_p99_over_one_second():
    points = [
        point(n=100),
        point(n=10),
        point(n=500, p99=1000.5, role="proxy"),
        point(n=1000, fraction=0.9),
        point(path="hop", n=10),
        point(path="hop", n=100, fraction=0.999),
    ]
    by = {(k["transport"], k["path"]): k for k in knees(points)}
    assert by["sse", "direct"]["knee_subscribers"] == 500
    assert by["sse", "direct"]["max_good_subscribers"] == 100
    assert by["sse", "direct"]["limited_by"] == "proxy (not saturated)"
    assert by["sse", "hop"]["knee_subscribers"] == 100


def test_no_knee_when_every_point_is_good_and_an_error_is_a_knee():
    assert knees([point(n=10), point(n=100)])[0]["knee_subscribers"] is None
    k = knees([point(n=10, error="only 3 of 10 subscribers reached the server")])[0]
    assert k["knee_subscribers"] == 10 and "reached" in k["reason"]
    assert k["max_good_subscribers"] is None


def test_hop_overhead_is_the_difference_against_direct_per_hop():
    direct = {"latency_ms": {"p50": 0.5, "p99": 1.0}, "delivered_fraction": 1.0}
    chained = {"latency_ms": {"p50": 2.0, "p99": 4.0}, "delivered_fraction": 1.0}
    h = hop_overhead(direct, chained, 3)
    assert h["added_ms"] == {"p50": 1.5, "p99": 3.0}
    assert h["added_per_hop_ms"] == {"p50": 0.5, "p99": 1.0}


def test_limiting_process_flags_a_saturated_core():
    procs = [
        {"role": "server", "pid": 1, "cpu_share": 0.4},
        {"role": "worker", "pid": 2, "cpu_share": 0.95},
        {"role": "proxy", "pid": 3, "cpu_share": None},
    ]
    assert limiting_process(procs) == {
        "role": "worker",
        "pid": 2,
        "cpu_share": 0.95,
        "saturated": True,
        "machine_saturated": False,
    }
    assert limiting_process([]) is None


def test_all_cores_busy_with_no_process_saturated_is_the_machine():
    procs = [
        {"role": "server", "pid": 1, "cpu_share": 0.6},
        {"role": "proxy", "pid": 3, "cpu_share": 0.7},
    ]
    lim = limiting_process(procs, machine_busy_cores=1.9, cores=2)
    assert lim is not None and lim["role"] == "proxy" and lim["machine_saturated"]
    assert limited_by({"limiting": lim}) == "machine"
    assert limited_by({"limiting": limiting_process(procs, 1.0, 2)}) == "proxy (not saturated)"
    assert limited_by({"limiting": {**lim, "saturated": True}}) == "proxy"


def chain(per_hop_p50: float, hops: int = 1) -> dict:
    return {
        "hops": hops,
        "added_ms": {"p50": per_hop_p50 * hops, "p99": 1.0},
        "added_per_hop_ms": {"p50": per_hop_p50, "p99": 1.0},
    }


def targets_of(**doc) -> dict:
    return {t["name"]: t for t in evaluate_targets(doc)}


def test_targets_met_not_met_and_not_measured():
    sse_1000 = {**point(path="hop", n=1000, p99=250.0)}
    t = targets_of(
        hops=[
            {"transport": "sse", "chains": [chain(0.4), chain(0.7, 2)]},
            {"transport": "long_poll", "chains": [chain(1.4)]},
        ],
        sweep=[sse_1000],
        matrices=[
            {"name": "smoke", "wall_s": 50.0, "skipped": None},
            {"name": "default", "wall_s": None, "skipped": "--quick"},
        ],
    )
    assert t["hop_p50_per_hop_sse"]["met"] is True and t["hop_p50_per_hop_sse"]["figure"] == 0.7
    assert t["hop_p50_per_hop_long_poll"]["met"] is False
    assert t["sse_1000_through_hop"]["met"] is True
    assert t["smoke_matrix_wall"]["met"] is True
    assert t["default_matrix_wall"]["met"] is None
    assert t["default_matrix_wall"]["note"] == "--quick"
    t = targets_of(
        hops=[{"transport": "sse", "chains": [chain(1.2)]}],
        sweep=[point(path="hop", n=1000, p99=250.0, fraction=0.99)],
        matrices=[{"name": "smoke", "wall_s": 61.0}],
    )
    assert t["hop_p50_per_hop_sse"]["met"] is False
    assert t["sse_1000_through_hop"]["met"] is False
    assert t["smoke_matrix_wall"]["met"] is False
    assert targets_of()["sse_1000_through_hop"]["met"] is None
    assert targets_of()["hop_p50_per_hop_sse"]["met"] is None


def hostile(base=2.0, p99=9.0, lost=0, realtime=True) -> dict:
    return {
        "base_lost": 0,
        "lost": lost,
        "base_p99_ms": base,
        "p99_ms": p99,
        "rss_growth_mb": 8.0,
        "hostile_requests": 900,
        "realtime": realtime,
    }


@pytest.mark.parametrize(
    ("figures", "met", "ratio"),
    [
        (hostile(base=2.0, p99=9.9), True, 1.98),  # under the 5 ms floor: limit 10 ms
        (hostile(base=2.0, p99=10.1), False, 2.02),
        (hostile(base=8.0, p99=16.0), True, 2.0),  # above the floor: 2 x the baseline
        (hostile(base=8.0, p99=16.5), False, 2.06),
        (hostile(p99=3.0, lost=1), False, 0.6),  # a lost event fails it whatever the p99
        (hostile(p99=30.0, realtime=False), None, 6.0),  # without SCHED_RR: not judged
    ],
)
def test_hostile_target_is_p99_within_2x_a_floored_baseline_and_no_loss(figures, met, ratio):
    t = hostile_target(figures)
    assert (t["met"], t["figure"], t["unit"]) == (met, ratio, "x")
    assert hostile_target(None)["met"] is None
    assert "hostile_clients_p99" not in targets_of()  # older documents: no such target
    assert targets_of(hostile=figures)["hostile_clients_p99"]["met"] is met


def test_a_hostile_measurement_that_failed_is_not_measured_with_its_cause():
    t = hostile_target({"error": "the hostile clients ended before they started: b''"})
    assert (t["met"], t["figure"]) == (None, None)
    assert t["note"] == "the hostile clients ended before they started: b''"


async def test_a_failing_hostile_measurement_is_an_error_entry_not_the_end_of_the_bench(
    monkeypatch,
):
    from gauntlet.instrument.bench import hostile, run

    async def attack_never_started(**_: object) -> None:
        async with trio.open_nursery():  # as the real one fails: inside a nursery
            raise GauntletError("the hostile clients ended before they started: b''")

    monkeypatch.setattr(hostile, "measure_beside_hostile_clients", attack_never_started)
    said: list[object] = []
    entry = await run._hostile(said.append)
    assert entry == {"error": "the hostile clients ended before they started: b''"}
    assert "hostile: not measured: the hostile clients ended" in str(said[-1])

    async def interrupted(**_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(hostile, "measure_beside_hostile_clients", interrupted)
    with pytest.raises(KeyboardInterrupt):  # only the measurement's own faults are kept
        await run._hostile(said.append)


def minimal_doc() -> dict:
    p = {
        **point(),
        "hops": 0,
        "workers": 1,
        "events": 3,
        "rate_per_s": 1.0,
        "processes": [
            {"role": "server", "pid": 1, "cpu_s": 0.1, "cpu_share": 0.05, "peak_rss_mb": 50.0}
        ],
    }
    return {
        "schema_version": BENCH_SCHEMA_VERSION,
        "kind": KIND,
        "bench_id": "x",
        "created_utc": "2026-11-25T00:00:00Z",
        "quick": True,
        "command": ["gauntlet"],
        "machine": {"cpu_count": 2, "python": "3.12", "cpu_model": "x", "memory_mb": 1},
        "tool": {"name": "gauntlet", "version": "0.1.0"},
        "dependencies": {},
        "git": {"commit": None, "dirty": None},
        "clock": {"name": "time.monotonic_ns", "resolution_ns": 1},
        "config": {},
        "floor": [p],
        "hops": [{"transport": "sse", "direct": p["latency_ms"], "chains": [chain(0.5)]}],
        "sweep": [copy.deepcopy(p)],
        "knees": knees([p]),
        "matrices": [{"name": "smoke", "wall_s": 40.0, "skipped": None}],
        "targets": [],
        "wall_s": 1.0,
    }


def test_schema_check_accepts_a_well_formed_document_and_names_what_is_missing():
    doc = minimal_doc()
    doc["targets"] = evaluate_targets(doc)
    assert validate(doc) == []
    assert summary_lines(doc)  # the human summary reads the same document
    doc["hostile"] = hostile()
    assert validate(doc) == []
    doc["hostile"] = {"error": "boom"}
    assert validate(doc) == [] and "hostile clients: not measured: boom" in summary_lines(doc)
    doc["hostile"] = hostile()
    assert any(
        line.startswith("hostile clients: subscribers' p99 2.0 ms alone, 9.0 ms")
        for line in summary_lines(doc)
    )
    del doc["sweep"][0]["processes"][0]["cpu_share"]
    doc.pop("wall_s")
    assert validate(doc) == ["sweep[0].processes[0].cpu_share: Field required"]
    doc["sweep"][0]["processes"][0]["cpu_share"] = 0.5
    assert validate(doc) == ["wall_s: Field required"]
    doc["wall_s"] = 1
    assert validate([]) == ["not a bench document (not a JSON object)"]
    assert validate({**doc, "schema_version": 2}) == [
        "schema_version 2, this gauntlet reads 1: "
        "a bench document of another gauntlet "
        "version (this is 0.1.0)"
    ]


def test_a_bench_document_round_trips_and_latest_links_to_the_newest(tmp_path):
    from gauntlet.documents import read, read_latest
    from gauntlet.instrument.bench.document import BenchDocument
    from gauntlet.instrument.bench.run import write_bench

    doc = BenchDocument.from_json(minimal_doc(), "test")
    path = write_bench(doc, tmp_path)
    assert path == tmp_path / "bench" / "x.json"
    assert read(BenchDocument, path) == doc
    assert read_latest(BenchDocument, tmp_path / "bench") == doc
    assert (tmp_path / "bench" / "latest.json").readlink().name == "x.json"


def test_a_point_is_a_load_run_publishing_once_all_subscribed():
    spec = load_spec(PointSpec("long_poll", 1200, 1, events=10, rate_per_s=2.0, per_worker=500))
    assert (spec.transport, spec.users, spec.workers, spec.through) == ("long_poll", 1200, 3, "hop")
    assert spec.events == 10 and spec.publish_when_subscribed
    assert spec.spawn_rate == 1200.0  # 400 per worker
    spec.check()
    one = load_spec(PointSpec("sse", 1, real="nginx:tuned", hops=1))
    assert one.spawn_rate == 10.0 and one.through == "nginx:tuned"  # within check()'s bound
    one.check()
    assert PointSpec("sse", 3, 2).chain == [PointSpec("sse", 3, 1).chain[0]] * 2


def test_bench_point_carries_the_exact_accounting_and_each_workers_share():
    sent = {1: 1_000 * MS, 2: 2_000 * MS}
    receipts = [
        {
            "users": [
                {
                    "id": "w1/0",
                    "subscribed_ns": 0,
                    "connects": 1,
                    "receipts": [[1, 1_001 * MS], [2, 2_003 * MS], [2, 2_004 * MS]],
                }
            ]
        },
        {
            "users": [
                {
                    "id": "w2/0",
                    "subscribed_ns": 0,
                    "connects": 2,
                    "errors": 1,
                    "error_kinds": {"ConnectionResetError": 1},
                    "receipts": [[1, 1_002 * MS]],
                }
            ]
        },
    ]
    run = {
        **merge(sent, receipts),
        "workers": 2,
        "error": None,
        "window_s": 2.5,
        "worker_receipts": [
            {"pid": 11, "users": 1, "cpu_s": 0.7},
            {"pid": 12, "users": 1, "cpu_s": 0.9},
        ],
        "processes": [
            {"role": "server", "pid": 1, "cpu_s": 0.5, "cpu_share": 0.2},
            {"role": "proxy", "pid": 5, "cpu_s": 0.25, "cpu_share": 0.1},
            {"role": "master", "pid": 10, "cpu_s": 0.1, "cpu_share": 0.04},
            {"role": "worker", "pid": 11, "cpu_s": 0.3, "cpu_share": 0.12},
            {"role": "worker", "pid": 12, "cpu_s": 0.2, "cpu_share": 0.08},
        ],
    }
    p = bench_point(PointSpec("sse", 2, 1, events=2), run)
    assert (p["expected_deliveries"], p["delivered"], p["lost"], p["duplicates"]) == (4, 3, 1, 1)
    assert p["delivered_fraction"] == 0.75 and p["latency_ms"]["max"] == 3.0
    assert (p["subscribers"], p["path"], p["hops"], p["workers"]) == (2, "hop", 1, 2)
    assert p["reconnects"] == 1 and p["client_error_examples"] == ["ConnectionResetError x1"]
    workers = [r for r in p["processes"] if r["role"] == "worker"]
    assert [(r["subscribers"], r["total_cpu_s"]) for r in workers] == [(1, 0.7), (1, 0.9)]
    assert p["hops_cpu_s"] == 0.25 and p["window_s"] == 2.5
    assert "subscribers" not in run["processes"][3]  # the run's rows are left as they were
    assert bench_point(PointSpec("sse", 2), run)["hops_cpu_s"] is None  # direct: no hop


def test_a_failed_run_is_a_point_with_its_error_and_no_figures():
    p = bench_point(PointSpec("websocket", 5), {"error": "only 3 of 5 subscribers reached"})
    assert p["error"] == "only 3 of 5 subscribers reached" and p["delivered"] == 0
    assert p["latency_ms"] == {"p50": None, "p99": None, "max": None} and p["processes"] == []
    assert knees([p])[0]["knee_subscribers"] == 5


def test_points_and_configs_are_bounded():
    with pytest.raises(GauntletError, match="bounded"):
        PointSpec("sse", MAX_SUBSCRIBERS + 1)
    assert PointSpec("sse", 2000).n_workers == 4 and PointSpec("sse", 2000, 1).path == "hop"
    with pytest.raises(GauntletError, match="bounded"):
        BenchConfig(subscribers=(10, 100_000)).check()
    with pytest.raises(GauntletError, match="unknown transport"):
        BenchConfig(transports=("smoke_signals",)).check()
    with pytest.raises(GauntletError, match="load generator"):
        PointSpec("short_poll", 10)
    assert quick_config().quick and "default" not in quick_config().matrices


def _relay_point(path: str, p50: float, cpu_s: float | None, delivered: int = 100) -> dict:
    return {
        "path": path,
        "latency_ms": {"p50": p50, "p99": p50 * 2},
        "hops_cpu_s": cpu_s,
        "delivered": delivered,
        "delivered_fraction": 1.0,
        "error": None,
    }


def test_relay_cost_is_added_latency_and_cpu_per_delivered_event():
    from gauntlet.instrument.bench.document import relay_cost

    cost = relay_cost(_relay_point("direct", 0.5, None), _relay_point("nginx:tuned", 0.7, 0.02))
    assert cost["hop"] == "nginx:tuned" and cost["added_ms"]["p50"] == pytest.approx(0.2)
    assert cost["cpu_us_per_event"] == 200.0  # 20 ms over 100 events
    assert (
        relay_cost(_relay_point("direct", 0.5, None), _relay_point("hop", 1, None))[
            "cpu_us_per_event"
        ]
        is None
    )


def test_emulation_vs_real_is_a_multiple_of_the_fastest_real_proxy():
    from gauntlet.instrument.bench.document import emulation_vs_real, relay_cost

    direct = _relay_point("direct", 0.5, None)
    costs = [
        relay_cost(direct, _relay_point("hop", 1.0, 0.08)),
        relay_cost(direct, _relay_point("nginx:tuned", 0.7, 0.02)),
        relay_cost(direct, _relay_point("haproxy:no_delay", 0.8, 0.03)),
    ]
    out = emulation_vs_real(costs)
    assert out["fastest_real"]["added_p50_ms"] == {"hop": "nginx:tuned", "value": 0.2}
    assert out["ratio"] == {"added_p50_ms": 2.5, "cpu_us_per_event": 4.0}
    assert out["met"] is False
    assert emulation_vs_real(costs[:1])["met"] is None  # no real proxy measured: no verdict
    fast = [relay_cost(direct, _relay_point("hop", 0.6, 0.02)), costs[1]]
    assert emulation_vs_real(fast)["met"] is True
