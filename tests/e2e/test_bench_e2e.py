"""A tiny bench through the real machinery: server, a real `mitmdump` hop, and the load
generator's Locust master and workers (harness/load/).

Determinism contract: everything on 127.0.0.1 with OS-chosen ports; a hard `fail_after`.
Nothing here asserts a speed: the bench reports figures, it does not judge them in tests.
The expectations are the document's shape, the exact accounting (every event once per
subscriber, merged across two workers, no duplicate), and that no Locust process or hop
outlives the run.
"""

from __future__ import annotations

import json

import pytest
import trio

from gauntlet import cli
from gauntlet.instrument.bench.document import validate
from gauntlet.instrument.bench.run import BenchConfig, run_bench
from gauntlet.progress import Event, describe
from tests.e2e.conftest import alive

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.serial]


async def test_tiny_sweep_writes_a_well_formed_document(tmp_path):
    config = BenchConfig(
        quick=True,
        transports=("sse", "websocket"),
        subscribers=(5,),
        sweep_events=3,
        per_worker=3,
        floor_transports=("sse",),
        floor_events=5,
        hop_transports=("sse",),
        hop_counts=(1,),
        matrices=(),
        skipped_matrices=(("smoke", "test"), ("default", "test")),
        real_hop_transports=("sse",),
        real_hops=("nginx:tuned",),
        real_hop_events=20,
    )
    events: list[Event] = []
    with trio.fail_after(460):  # 9 points (each a Locust master and workers), hostile clients
        bench, path = await run_bench(config, tmp_path, events.append, ["gauntlet", "bench"])
    doc = bench.to_json()
    assert validate(doc) == []
    assert (tmp_path / "bench/latest.json").readlink().name == path.name
    assert json.loads(path.read_text()) == json.loads((tmp_path / "bench/latest.json").read_text())
    assert [(p["transport"], p["path"]) for p in doc["sweep"]] == [
        ("sse", "direct"),
        ("sse", "hop"),
        ("websocket", "direct"),
        ("websocket", "hop"),
    ]
    for p in doc["sweep"]:
        assert p["error"] is None and p["delivered_fraction"] == 1, p
        assert p["expected_deliveries"] == p["delivered"] == 5 * 3
        assert (p["lost"], p["duplicates"], p["unexpected_ids"]) == (0, 0, 0)
        assert p["subscribers_connected"] == 5 and p["stop_reason"].startswith("complete")
        roles = [proc["role"] for proc in p["processes"]]
        assert roles.count("worker") == p["workers"] == 2  # 5 subscribers, 3 per worker
        assert roles.count("master") == 1 and roles.count("proxy") == p["hops"]
        shares = sorted(r["subscribers"] for r in p["processes"] if r["role"] == "worker")
        assert shares == [2, 3]  # Locust spread the 5 users; each worker's receipts merged
        assert all(not alive(proc["pid"]) for proc in p["processes"] if proc["role"] != "server")
    assert doc["hops"][0]["chains"][0]["hops"] == 1
    assert {t["name"]: t["met"] for t in doc["targets"]}["smoke_matrix_wall"] is None
    hostile = doc["hostile"]  # figures only: the p99 target is judged, not asserted here
    assert (hostile["base_lost"], hostile["lost"]) == (0, 0) and hostile["hostile_requests"] > 20
    assert "hostile_clients_p99" in {t["name"] for t in doc["targets"]}
    assert any(describe(e).startswith("sweep [4/4]") for e in events)


def test_bench_refuses_an_unbounded_sweep(capsys):
    assert cli.main(["bench", "--subscribers", "10,9000", "--no-matrices"]) == cli.EXIT_USAGE
    assert "bounded" in capsys.readouterr().err
