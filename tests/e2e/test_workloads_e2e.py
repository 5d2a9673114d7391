"""Workload shapes through real processes: a quiet period, bursts, large payloads.

Each matrix runs once through the real `gauntlet run` (server, mitmdump hops, clients on
127.0.0.1 with OS-chosen ports; every wait bounded by the CLI's own budgets and a subprocess
timeout). Besides every verdict meeting its written expectation, each shape's signature is
asserted with counts, which do not depend on timing noise: who was cut and reconnected, how
many requests a burst cost, which event a block buffer never released. Latency bands are
wide (the scaled schedule's intervals, +-60 ms) because a loaded 2-core machine adds tens of
ms of scheduling noise but never a whole interval.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import gauntlet_cmd

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def run_matrix(name: str, results) -> dict[str, dict]:
    done = subprocess.run(
        gauntlet_cmd(
            "run", "--matrix", name, "--no-plots", "--no-calibration", "--results", str(results)
        ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((results / "latest" / "results.json").read_text())
    return {c["id"]: c for c in doc["cells"]}


@pytest.fixture(scope="module")
def quiet(tmp_path_factory):
    return run_matrix("quiet", tmp_path_factory.mktemp("quiet"))


@pytest.fixture(scope="module")
def bursts(tmp_path_factory):
    return run_matrix("bursts", tmp_path_factory.mktemp("bursts"))


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    return run_matrix("large", tmp_path_factory.mktemp("large"))


def test_quiet_period_idle_cuts_cost_a_reconnect_heartbeats_and_held_polls_avoid_it(quiet):
    reconnects = {cid: c["metrics"]["reconnects"] for cid, c in quiet.items()}
    assert reconnects["sse-idle_timeout"] == 1, quiet["sse-idle_timeout"]["connections"]
    assert reconnects["websocket-idle_timeout"] == 1
    assert reconnects["sse_heartbeat-idle_timeout"] == 0
    assert reconnects["long_poll-idle_timeout"] == 0
    assert all(reconnects[f"{t}-direct"] == 0 for t in ("sse", "sse_heartbeat", "websocket"))
    assert all(c["metrics"]["lost"] == 0 for c in quiet.values())


def test_quiet_period_is_in_the_published_schedule(quiet):
    sent = [s["sent_ms"] for s in quiet["sse-direct"]["samples"]]
    gap_ms = sent[5] - sent[4]
    assert 3333 - 60 < gap_ms < 3333 + 60 + 200  # 100 s / 30, plus one 200 ms step


def test_bursts_are_batched_by_polls_and_close_each(bursts):
    assert bursts["sse-store_and_forward"]["metrics"]["delivered"] == 0
    for cid in ("sse_close_each-direct", "sse_close_each-store_and_forward"):
        assert bursts[cid]["metrics"]["requests"] <= 3 * 2 + 1, cid  # two a burst, at most
    sent = [s["sent_ms"] for s in bursts["sse-direct"]["samples"]]
    assert max(sent[:10]) - min(sent[:10]) < 60  # ten at once
    assert 1000 - 60 < sent[10] - sent[0] < 1000 + 60  # a burst a second


def test_large_events_fill_blocks_but_the_last_tail_never_leaves(large):
    held = large["sse-size_buffer"]["metrics"]
    assert held["lost_ids"] == [15] and held["delivered"] == 14
    assert 200 - 60 < held["latency_ms"]["p50"] < 200 + 60  # each tail waits for the next event
    assert large["sse-small_threshold_buffer"]["verdict"] == "PASS"
    assert large["sse-gzip_buffer"]["metrics"]["delivered"] == 0
    assert large["sse_close_each-gzip_buffer"]["metrics"]["delivered"] == 15
