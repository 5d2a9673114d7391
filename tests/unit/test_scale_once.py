"""The time scale is applied once, in harness/spec.py: a cell built at scale 30 carries the
values the launcher, a real device's config and the clients get, and they pass them on as
they are (issue 14). Each check reads what would reach the process or the wire."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from gauntlet import real
from gauntlet.clients import TRANSPORTS
from gauntlet.hops import mitmdump_args
from gauntlet.scenario import load_matrix
from gauntlet.spec import REAL_WORLD, CellSpec

CHAINS = """
[idle_then_nginx]
description = "an emulated 90 s idle timeout in front of a real nginx (60 s read timeout)"
hops = [{ behaviours = ["idle_timeout"], options = { idle_timeout_ms = 90000 } },
        { real = "nginx:defaults" }]
"""
MATRIX = """
name = "scaled"
description = "every scaled duration at once"
time_scale = 30
transports = ["sse_heartbeat", "sse_canary", "long_poll", "short_poll"]
intermediaries = ["idle_then_nginx"]
[workload]
events = 4
rate_per_s = 2
payload_bytes = 32
quiet_after = 2
quiet_real_s = 60
[budget]
latency_p95_ms = 100
deliver_within_real_s = 60
[[expect]]
transport = "sse_heartbeat"
intermediary = "idle_then_nginx"
verdict = "PASS"
reason = "heartbeats keep both hops awake"
[[expect]]
transport = "sse_canary"
intermediary = "idle_then_nginx"
verdict = "PASS"
reason = "the canary passes"
[[expect]]
transport = "long_poll"
intermediary = "idle_then_nginx"
verdict = "PASS"
reason = "each poll ends before a timeout"
[[expect]]
transport = "short_poll"
intermediary = "idle_then_nginx"
verdict = "PASS"
reason = "each poll ends at once"
"""


@pytest.fixture
def cells(tmp_path: Path) -> dict[str, CellSpec]:
    (tmp_path / "intermediaries.toml").write_text(CHAINS)
    (tmp_path / "scaled.toml").write_text(MATRIX)
    return {c.transport: c for c in load_matrix("scaled", tmp_path).cells}


def test_a_hop_option_reaches_mitmdump_divided_once(cells):
    hop = cells["long_poll"].hops[0]
    assert dict(hop.options) == {"idle_timeout_ms": "3000"}  # 90 000 ms / 30
    args = mitmdump_args(hop, "http://127.0.0.1:1", Path("/c"), 3)
    assert [a for a in args if a.startswith("idle_timeout_ms=")] == ["idle_timeout_ms=3000"]


def test_a_real_devices_config_gets_the_scaled_timeout(cells, tmp_path):
    hop = cells["long_poll"].hops[1]
    text = real.render(
        "nginx:defaults",
        workdir=tmp_path,
        listen="127.0.0.1:1",
        upstream="127.0.0.1:2",
        timeouts_s=dict(hop.timeouts_s),
        as_root=False,
    )  # what harness/real/launch.py passes
    assert "proxy_read_timeout 2000ms;" in text  # 60 s / 30
    assert hop.record()["timeouts"]["real_s"]["proxy_read_timeout"] == 60
    assert hop.record()["timeouts"]["scaled_s"]["proxy_read_timeout"] == 2.0


def test_client_timings_reach_the_client_scaled(cells):
    def keywords(transport: str) -> dict:
        return TRANSPORTS[transport].client(cells[transport].client).keywords  # a partial

    assert keywords("sse_heartbeat")["path"] == "/sse?heartbeat_ms=833"  # 25 s / 30
    assert keywords("long_poll")["wait_ms"] == 1000  # 30 s / 30
    assert keywords("short_poll")["interval_s"] == 0.166  # 5 s / 30, whole ms
    assert keywords("sse_canary")["canary_timeout_s"] == 2.5  # Phoenix 2.5 s: not scaled
    unscaled = TRANSPORTS["long_poll"].client().keywords  # no cell: the real world's
    assert unscaled["wait_ms"] == REAL_WORLD.long_poll_hold_ms == 30_000


def test_the_workload_and_budget_arrive_scaled_and_results_keep_both(cells):
    cell = cells["sse_heartbeat"]
    assert cell.schedule_s == pytest.approx((0.0, 0.5, 3.0, 3.5))  # 60 s quiet / 30
    assert cell.timing.deliver_within_s == 2.0
    hop = cell.to_json()["hops"][0]
    assert (hop["options_real"], hop["options_scaled"]) == (
        {"idle_timeout_ms": "90000"},
        {"idle_timeout_ms": "3000"},
    )


def test_another_time_scale_rescales_from_the_real_world_values(cells):
    """`--gauntlet-time-scale` replaces a cell's timing: the derived values follow, from the
    written ones, never from the already scaled ones."""
    cell = cells["long_poll"]
    at_60 = dataclasses.replace(cell, timing=dataclasses.replace(cell.timing, time_scale=60))
    assert dict(at_60.hops[0].options) == {"idle_timeout_ms": "1500"}
    assert dict(at_60.hops[1].timeouts_s)["proxy_read_timeout"] == 1.0
    assert at_60.client.long_poll_hold_ms == 500  # 30 s / 60


def test_the_spec_layer_starts_nothing_and_imports_no_launcher():
    code = (
        "import sys, gauntlet.spec; "
        "print(sorted(m for m in ('trio', 'gauntlet.hops', 'gauntlet.real.launch', "
        "'gauntlet.clients', 'gauntlet.topology') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
