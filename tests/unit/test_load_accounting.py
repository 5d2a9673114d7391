"""The load run's exact accounting (harness/load/accounting.py): receipts from several
workers merged into deliveries, losses, duplicates and latency, without sockets."""

from __future__ import annotations

import pytest

from gauntlet.load.accounting import (
    ReceiptsError,
    check_receipts,
    merge,
    never_subscribed_error,
    ramp_points,
)
from gauntlet.metrics import NS_PER_MS

MS = int(NS_PER_MS)


def worker(node: str, users: list[tuple[int | None, list[tuple[int, int]]]]) -> dict:
    return {
        "version": 1,
        "node": node,
        "host": "h",
        "pid": 1,
        "clock": "monotonic",
        "cpu_s": 0.0,
        "peak_rss_mb": 1.0,
        "users": [
            {
                "id": f"{node}/{i}",
                "subscribed_ns": since,
                "connects": 1,
                "errors": 0,
                "receipts": [list(r) for r in receipts],
            }
            for i, (since, receipts) in enumerate(users)
        ],
    }


SENT = {1: 100 * MS, 2: 200 * MS, 3: 300 * MS}


def test_every_event_once_per_subscriber_across_workers() -> None:
    a = worker("a", [(0, [(1, 101 * MS), (2, 203 * MS), (3, 305 * MS)])])
    b = worker("b", [(0, [(1, 110 * MS), (2, 220 * MS), (3, 330 * MS)])])
    out = merge(SENT, [a, b])
    assert (out["subscribers"], out["expected_deliveries"], out["delivered"]) == (2, 6, 6)
    assert (out["lost"], out["duplicates"], out["delivered_fraction"]) == (0, 0, 1.0)
    assert out["latency_samples"] == 6
    assert out["latency_ms"]["max"] == 30.0


def test_losses_and_duplicates_are_exact_per_event() -> None:
    a = worker("a", [(0, [(1, 101 * MS), (1, 150 * MS), (3, 301 * MS)])])  # 2 lost, 1 twice
    b = worker("b", [(0, [(2, 201 * MS), (2, 202 * MS), (2, 203 * MS)])])  # 1 and 3 lost
    out = merge(SENT, [a, b])
    assert (out["delivered"], out["lost"], out["duplicates"]) == (3, 3, 3)
    assert [e["lost"] for e in out["events"]] == [1, 1, 1]
    assert out["delivered_fraction"] == 0.5
    assert out["latency_ms"]["max"] == 1.0  # the duplicate's later stamp is not a latency


def test_an_id_never_published_is_counted_apart() -> None:
    out = merge(SENT, [worker("a", [(0, [(1, 101 * MS), (9, 1 * MS)])])])
    assert (out["delivered"], out["unexpected_ids"], out["lost"]) == (1, 1, 2)


def test_latency_only_for_events_published_after_subscribing() -> None:
    late = worker("a", [(250 * MS, [(1, 260 * MS), (2, 260 * MS), (3, 310 * MS)])])
    out = merge(SENT, [late])
    assert out["delivered"] == 3  # the history counts as delivery ...
    assert out["latency_samples"] == 1  # ... but only event 3 was pushed to it
    assert out["latency_ms"]["p50"] == 10.0
    assert [e["subscribers_at_publish"] for e in out["events"]] == [0, 0, 1]


def test_a_user_that_never_subscribed_is_counted_apart_from_loss() -> None:
    out = merge(SENT, [worker("a", [(None, [])]), worker("b", [(0, [(1, 100 * MS)])])])
    assert (out["subscribers"], out["subscribed"], out["never_subscribed"]) == (2, 1, 1)
    assert (out["lost"], out["lost_never_subscribed"]) == (2, 3)  # b's 2; a's 3 apart
    assert out["expected_deliveries"] == out["delivered"] + 2 + 3
    assert out["delivered_fraction"] == round(1 / 3, 6)  # over the user that subscribed
    assert [e["lost"] for e in out["events"]] == [0, 1, 1]
    assert [e["lost_never_subscribed"] for e in out["events"]] == [1, 1, 1]


def test_never_subscribed_causes_name_a_status_errors_or_no_attempt() -> None:
    doc = worker("a", [(None, []), (None, []), (None, []), (0, [])])
    doc["users"][0].update(failed_for_good="status 502", error_kinds={"TimeoutError": 2})
    doc["users"][1].update(error_kinds={"TimeoutError": 3, "ConnectionResetError": 1})
    doc["users"][2].update(attempts=0)
    out = merge(SENT, [doc])
    assert out["never_subscribed_causes"] == {
        "ConnectionResetError+TimeoutError": 1,
        "never tried": 1,
        "status 502": 1,
    }
    error = never_subscribed_error(out, "nginx:tuned_many")
    assert error is not None and error.startswith("load not established: 3 of 4 users")
    assert "status 502 x1" in error and "not as loss through nginx:tuned_many" in error
    assert "an answer from the path or the target" in error
    assert never_subscribed_error(merge(SENT, [worker("b", [(0, [])])]), "direct") is None
    silent = merge(SENT, [worker("c", [(None, [])])])
    assert "the load generator never got a stream" in (never_subscribed_error(silent, "x") or "")


def test_losses_split_live_from_history() -> None:
    # subscribed at 150 ms: event 1 (100 ms) is owed from the history, 2 and 3 live
    out = merge(SENT, [worker("a", [(150 * MS, [(3, 301 * MS)])])])
    assert [(e["lost"], e["lost_live"]) for e in out["events"]] == [(1, 0), (1, 1), (0, 0)]


def test_two_workers_claiming_one_user_is_refused() -> None:
    a = worker("a", [(0, [])])
    with pytest.raises(ReceiptsError, match="reported twice"):
        merge(SENT, [a, a])


def test_no_event_published() -> None:
    out = merge({}, [worker("a", [(0, [])])])
    assert (out["expected_deliveries"], out["delivered_fraction"]) == (0, None)


@pytest.mark.parametrize(
    "doc, why",
    [
        ([], "not a receipts document"),
        ({"version": 2, "users": []}, "not a receipts document"),
        ({"version": 1, "users": {}}, "'users' must be a list"),
        ({"version": 1, "users": [{"id": 3, "receipts": []}]}, "string 'id'"),
        ({"version": 1, "users": [{"id": "x"}]}, "'receipts' list"),
    ],
)
def test_check_receipts_names_the_problem(doc: object, why: str) -> None:
    with pytest.raises(ReceiptsError, match=why):
        check_receipts(doc, "w.json")


def test_ramp_points_group_by_subscribers_and_feed_the_bench_knee() -> None:
    from gauntlet.instrument.bench.document import knees

    events = [
        {
            "subscribers_at_publish": 0,
            "lost": 0,
            "lost_live": 0,
            "latency_ms": {"p50": None, "p99": None},
        },
        {
            "subscribers_at_publish": 10,
            "lost": 0,
            "lost_live": 0,
            "latency_ms": {"p50": 5.0, "p99": 9.0},
        },
        {
            "subscribers_at_publish": 10,
            "lost": 0,
            "lost_live": 0,
            "latency_ms": {"p50": 6.0, "p99": 8.0},
        },
        {
            "subscribers_at_publish": 20,
            "lost": 2,
            "lost_live": 2,
            "latency_ms": {"p50": 7.0, "p99": 1500.0},
        },
    ]
    points = ramp_points(events, "sse", "direct")
    assert [(p["subscribers"], p["events"]) for p in points] == [(10, 2), (20, 1)]
    assert points[0]["latency_ms"] == {"p50": 6.0, "p99": 9.0}  # the worst event's figures
    assert points[1]["delivered_fraction"] == 0.9
    knee = knees(points)[0]
    assert (knee["knee_subscribers"], knee["max_good_subscribers"]) == (20, 10)


def test_a_ramp_point_counts_only_its_own_subscribers_losses() -> None:
    """Measured (issue 15): one user of 10 000 never subscribed, so every event lacked one
    delivery, and the ramp's first point (1 subscriber at publish, p99 15 ms) carried the
    run's fraction (0.9999) and became the knee. The merge then the ramp: a point is judged
    on the subscribers it had at publish."""
    from gauntlet.instrument.bench.document import knees

    sent = {1: 100 * MS, 2: 200 * MS}
    early = worker("a", [(50 * MS, [(1, 101 * MS), (2, 201 * MS)])])
    late = worker("b", [(150 * MS, [(2, 202 * MS)])])  # missed event 1 from the history
    never = worker("c", [(None, [])])
    out = merge(sent, [early, late, never])
    points = ramp_points(out["events"], "sse", "direct")
    assert [(p["subscribers"], p["delivered_fraction"]) for p in points] == [(1, 1.0), (2, 1.0)]
    assert [p["lost_from_history"] for p in points] == [1, 0]
    assert knees(points)[0]["knee_subscribers"] is None
    assert out["lost"] == 1 and out["lost_never_subscribed"] == 2


def test_a_ramp_point_with_a_live_loss_is_the_knee() -> None:
    from gauntlet.instrument.bench.document import knees

    sent = {1: 100 * MS, 2: 200 * MS}
    a = worker("a", [(50 * MS, [(1, 101 * MS), (2, 201 * MS)])])
    b = worker("b", [(150 * MS, [(1, 160 * MS)])])  # subscribed, event 2 never came
    points = ramp_points(merge(sent, [a, b])["events"], "sse", "direct")
    assert [(p["subscribers"], p["delivered_fraction"]) for p in points] == [(1, 1.0), (2, 0.5)]
    knee = knees(points)[0]
    assert (knee["knee_subscribers"], knee["max_good_subscribers"]) == (2, 1)
