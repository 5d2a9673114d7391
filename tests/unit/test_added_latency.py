"""Added p50 latency over the run's direct cell, and the strict budget (pure functions)."""

from __future__ import annotations

import pytest

from gauntlet.added_latency import annotate, direct_p50s, judge_added
from gauntlet.verdict import Judgement, Verdict


def entry(
    intermediary: str,
    p50: float | None,
    *,
    transport: str = "sse",
    protocol: str = "h1",
    matrix: str = "realtime",
    verdict: str = "PASS",
    budget: float | None = None,
) -> dict:
    return {
        "id": f"{transport}-{intermediary}",
        "transport": transport,
        "protocol": protocol,
        "intermediary": intermediary,
        "verdict": verdict,
        "reason": "15/15 delivered",
        "metrics": {"latency_ms": {"p50": p50}} if p50 is not None or verdict != "ERROR" else None,
        "spec": {"matrix": matrix, "budget": {"added_p50_ms": budget}},
        "notes": [],
    }


def test_added_latency_is_against_the_direct_cell_of_the_same_transport_and_protocol():
    cells = [
        entry("direct", 2.0),
        entry("chunked_cork", 203.5),
        entry("direct", 5.0, protocol="https"),
        entry("chunked_cork", 6.0, protocol="https"),
        entry("chunked_cork", 9.0, transport="long_poll"),
    ]
    added = [c["added_p50_ms"] for c in annotate(cells)]
    assert added == [0.0, 201.5, 0.0, 1.0, None]  # long_poll: no direct cell in this run


def test_a_direct_cell_of_another_matrix_is_not_a_baseline():
    """Another matrix means another workload: its p50 says nothing about this one."""
    cells = [entry("direct", 2.0, matrix="bursts"), entry("chunked_cork", 203.5)]
    assert annotate(cells)[1]["added_p50_ms"] is None
    assert direct_p50s(cells) == {("bursts", "sse", "h1"): 2.0}


@pytest.mark.parametrize(
    ("added", "budget", "verdict"),
    [
        (201.5, 50, "DEGRADED"),  # haproxy's defaults: 200 ms per event is not PASS when strict
        (50.0, 50, "PASS"),  # at the budget: within it
        (201.5, None, "PASS"),  # no budget: tolerant, as the matrices were
        (None, 50, "PASS"),  # no baseline: nothing to judge against (the cell notes it)
    ],
)
def test_the_added_budget_turns_a_pass_degraded_and_names_the_figure(added, budget, verdict):
    out = judge_added(Judgement(Verdict.PASS, "15/15 delivered"), added, budget)
    assert out.verdict == verdict
    if verdict == "DEGRADED":
        assert "adds p50 201.5 ms over direct, above the 50 ms budget" in out.reason


@pytest.mark.parametrize("verdict", ["FAIL", "ERROR", "DEGRADED"])
def test_only_a_pass_is_re_judged(verdict):
    before = Judgement(Verdict(verdict), "why")
    assert judge_added(before, 500.0, 50) is before


def test_annotate_degrades_over_budget_and_notes_a_missing_baseline():
    cells = [
        entry("direct", 2.0, budget=50),
        entry("chunked_cork", 203.5, budget=50),
        entry("chunked_cork", 9.0, transport="long_poll", budget=50),
    ]
    out = annotate(cells)
    assert [c["verdict"] for c in out] == ["PASS", "DEGRADED", "PASS"]
    assert "201.5 ms" in out[1]["reason"]
    assert any("no direct cell" in n for n in out[2]["notes"])
    assert cells[1]["verdict"] == "PASS"  # pure: the input is untouched


def test_results_without_a_protocol_field_are_h1():
    """Entries written before the protocol dimension existed are HTTP/1.1 cells."""
    old = entry("chunked_cork", 203.5)
    del old["protocol"]
    assert annotate([entry("direct", 2.0), old])[1]["added_p50_ms"] == 201.5


def test_added_latency_keeps_microseconds():
    assert annotate([entry("direct", 5.0), entry("nginx", 10.12345)])[1]["added_p50_ms"] == 5.123


NOTE = (
    "added_p50_ms budget not checked: this run has no direct cell of the same matrix, "
    "transport and protocol"
)


def test_only_a_hop_cell_with_a_budget_and_no_baseline_gets_the_note_after_its_own_notes():
    lonely = {**entry("nginx", 9.0, transport="long_poll", budget=50), "notes": ["earlier"]}
    no_budget = entry("nginx", 9.0, transport="long_poll")
    baselined = entry("nginx", 9.0, budget=50)
    direct_alone = entry("direct", None, transport="ws", budget=50)  # no p50: no baseline
    out = annotate([entry("direct", 2.0), lonely, no_budget, baselined, direct_alone])
    assert out[1]["notes"] == ["earlier", NOTE]
    assert [e["notes"] for e in (out[2], out[3], out[4])] == [[], [], []]
