"""Verdict rules, first match wins; boundaries are inclusive on the budget."""

from __future__ import annotations

import pytest

from gauntlet.eventlog import EventLog, Published, Received
from gauntlet.metrics import LatencySummary, Metrics, compute
from gauntlet.verdict import Budget, Verdict, error, judge


def metrics(sent=10, delivered=10, p95=5.0, out_of_order=0, duplicates=0) -> Metrics:
    lost = sent - delivered
    none = LatencySummary(None, None, None, None)
    lat = LatencySummary(p95, p95, p95, p95) if delivered else none
    return Metrics(
        sent,
        delivered,
        lost,
        duplicates,
        out_of_order,
        lat,
        1.0,
        0,
        1,
        0,
        tuple(range(delivered + 1, sent + 1)),
    )


BUDGET = Budget(latency_p95_ms=100)
MS = 1_000_000


@pytest.mark.parametrize(
    ("m", "verdict", "reason"),
    [
        (metrics(sent=0, delivered=0), Verdict.ERROR, "workload published no events"),
        (metrics(delivered=0), Verdict.FAIL, "nothing delivered within 2 s: 0/10 events"),
        (metrics(delivered=9), Verdict.FAIL, "lost 1/10 events within 2 s (first lost id 10)"),
        (metrics(p95=100.5), Verdict.DEGRADED, "p95 latency 100 ms over budget 100 ms"),
        (metrics(p95=100.0), Verdict.PASS, "10/10 delivered, p95 100.0 ms within 100 ms"),
        (metrics(out_of_order=2), Verdict.DEGRADED, "2 events out of order"),
        (metrics(duplicates=3), Verdict.PASS, ", 3 wire duplicates"),
    ],
)
def test_rules(m, verdict, reason):
    judgement = judge(m, BUDGET, within_s=2)
    assert judgement.verdict == verdict
    assert reason in judgement.reason
    assert "\n" not in judgement.reason


def test_loss_within_max_lost_is_judged_on_latency():
    assert judge(metrics(delivered=9), Budget(100, max_lost=1), within_s=2).verdict == Verdict.PASS


def test_error_carries_the_message():
    assert error("client crashed") == error("client crashed")
    assert error("client crashed").verdict == Verdict.ERROR


def test_without_latency_the_verdict_rests_on_delivery_and_order_and_says_so():
    """An endpoint with no send time: never a latency PASS by accident."""
    none = metrics(p95=None)
    judgement = judge(none, BUDGET, within_s=2)
    assert judgement.verdict == Verdict.PASS
    assert "10/10 delivered in order within 2 s; latency not measured" in judgement.reason
    assert "latency budget not checked" in judgement.reason
    assert judge(metrics(p95=None, out_of_order=1), BUDGET, within_s=2).verdict == Verdict.DEGRADED
    assert judge(metrics(p95=None, delivered=9), BUDGET, within_s=2).verdict == Verdict.FAIL


@pytest.mark.parametrize(
    ("m", "reason"),
    [
        (metrics(sent=0, delivered=0), "workload published no events"),
        (metrics(delivered=0), "nothing delivered within 2 s: 0/10 events (held or lost)"),
        (metrics(duplicates=3), "10/10 delivered, p95 5.0 ms within 100 ms, 3 wire duplicates"),
    ],
)
def test_the_reason_line_is_exactly_what_the_table_shows(m, reason):
    assert judge(m, BUDGET, within_s=2).reason == reason


def test_a_single_event_out_of_order_degrades_the_cell():
    judgement = judge(metrics(out_of_order=1), BUDGET, within_s=2)
    assert (judgement.verdict, judgement.reason) == (Verdict.DEGRADED, "1 events out of order")


def test_error_keeps_its_message_as_the_reason():
    assert error("hop transparent exited with 1").reason == "hop transparent exited with 1"


def test_the_verdict_uses_the_p95_computed_from_the_event_log():
    # 20 events, latencies 1..20 ms: p50 10.5 ms, p95 19.05 ms. A budget between the two
    # degrades the cell; a budget on the p95 passes it.
    log = EventLog()
    for i in range(1, 21):
        log.append(Published(i, i * 100 * MS, 64))
        log.append(Received(i, i * 100 * MS + i * MS, 1))
    m = compute(log, t0_ns=0)
    slow = judge(m, Budget(latency_p95_ms=19), within_s=2)
    assert (slow.verdict, slow.reason) == (Verdict.DEGRADED, "p95 latency 19 ms over budget 19 ms")
    assert judge(m, Budget(latency_p95_ms=19.05), within_s=2).verdict == Verdict.PASS
    assert judge(m, Budget(latency_p95_ms=19.04), within_s=2).verdict == Verdict.DEGRADED
