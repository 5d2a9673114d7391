"""Metrics from hand-built event logs: exact numbers, every rule and boundary."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.eventlog import (
    BytesReceived,
    Connected,
    EventLog,
    Published,
    Received,
    Request,
)
from harness.metrics import compute, percentile, samples

MS = 1_000_000


def log_of(*records) -> EventLog:
    log = EventLog()
    for r in records:
        log.append(r)
    return log


def test_latency_is_first_receipt_minus_publication_and_duplicates_are_counted():
    log = log_of(
        Request(0, 1, "GET /sse"),
        Connected(1 * MS, 1, "HTTP/1.1"),
        Published(1, 10 * MS, 64),
        Published(2, 20 * MS, 64),
        Received(1, 13 * MS, 1),
        Received(2, 30 * MS, 1),
        Received(2, 31 * MS, 2),  # replayed after a reconnect
        Connected(32 * MS, 2, "HTTP/1.1"),
        BytesReceived(13 * MS, 1, 100),
        BytesReceived(30 * MS, 1, 50),
        Request(31 * MS, 2, "GET /sse"),
    )
    m = compute(log, t0_ns=0)
    assert (m.sent, m.delivered, m.lost, m.duplicates, m.out_of_order) == (2, 2, 0, 1, 0)
    assert m.latency_ms.max == 10.0 and m.latency_ms.p50 == 6.5
    assert m.time_to_first_event_ms == 13.0
    assert (m.requests, m.reconnects, m.bytes_received) == (2, 1, 150)


def test_receipts_after_the_deadline_are_lost():
    log = log_of(Published(1, 0, 1), Published(2, 0, 1), Received(1, 5 * MS, 1),
                 Received(2, 50 * MS, 1))  # fmt: skip
    m = compute(log, t0_ns=0, deadline_ns=10 * MS)
    assert (m.delivered, m.lost, m.lost_ids) == (1, 1, (2,))
    assert compute(log, t0_ns=0).lost == 0


def test_out_of_order_counts_events_arriving_after_a_higher_id():
    published = [Published(i, 0, 1) for i in range(1, 5)]
    arrivals = [Received(1, 1, 1), Received(3, 2, 1), Received(2, 3, 1), Received(4, 4, 1)]
    log = log_of(*published, *arrivals)
    assert compute(log, t0_ns=0).out_of_order == 1


def test_nothing_delivered_gives_none_latencies_and_no_time_to_first_event():
    m = compute(log_of(Request(0, 1, "GET"), Published(1, 0, 1)), t0_ns=0)
    assert m.delivered == 0 and m.lost_ids == (1,)
    assert m.latency_ms.p50 is None and m.latency_ms.max is None
    assert m.time_to_first_event_ms is None
    assert m.to_json()["latency_ms"] == {"p50": None, "p95": None, "p99": None, "max": None}


def test_unpublished_ids_do_not_count_as_delivered():
    m = compute(log_of(Published(1, 0, 1), Received(99, 1, 1)), t0_ns=0)
    assert (m.delivered, m.lost) == (0, 1)


def test_samples_keep_every_receipt_relative_to_t0_without_deadline():
    log = log_of(Published(1, 10 * MS, 1), Published(2, 20 * MS, 1),
                 Received(1, 12 * MS, 1), Received(1, 40 * MS, 2))  # fmt: skip
    s = samples(log, t0_ns=10 * MS)
    assert [(x.id, x.sent_ms, x.received_ms) for x in s] == [(1, 0.0, (2.0, 30.0)), (2, 10.0, ())]


def test_percentile_edges():
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([1, 2, 3, 4], 100) == 4


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.floats(0, 100))
def test_percentile_matches_numpy_linear(values, q):
    assert np.isclose(percentile(values, q), np.percentile(values, q), rtol=1e-9, atol=1e-9)


def test_without_send_times_latency_is_left_out_but_delivery_is_not():
    log = log_of(Request(0, 1, "GET /sse"), Published(1, 10 * MS, 0), Published(2, 20 * MS, 0),
                 Received(2, 30 * MS, 1), Received(1, 31 * MS, 1))  # fmt: skip
    m = compute(log, t0_ns=0, latency=False)
    assert m.latency_ms.p50 is None and m.latency_ms.p95 is None and m.latency_ms.max is None
    assert (m.delivered, m.lost, m.out_of_order, m.time_to_first_event_ms) == (2, 0, 1, 30.0)
