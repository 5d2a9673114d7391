"""Verdict rules, first match wins; boundaries are inclusive on the budget."""

from __future__ import annotations

import pytest

from harness.metrics import LatencySummary, Metrics
from harness.verdict import Budget, Verdict, error, judge


def metrics(sent=10, delivered=10, p95=5.0, out_of_order=0, duplicates=0) -> Metrics:
    lost = sent - delivered
    none = LatencySummary(None, None, None, None)
    lat = LatencySummary(p95, p95, p95, p95) if delivered else none
    return Metrics(sent, delivered, lost, duplicates, out_of_order, lat, 1.0, 0, 1, 0,
                   tuple(range(delivered + 1, sent + 1)))  # fmt: skip


BUDGET = Budget(latency_p95_ms=100)


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
    assert judge(metrics(p95=None, out_of_order=1), BUDGET, within_s=2).verdict == \
        Verdict.DEGRADED
    assert judge(metrics(p95=None, delivered=9), BUDGET, within_s=2).verdict == Verdict.FAIL
