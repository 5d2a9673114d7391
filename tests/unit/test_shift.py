"""The rank-based shift: hand-computable samples, the interval's rank, the one-sided test."""

from __future__ import annotations

import pytest

from gauntlet.report.shift import Shift, interval_rank, latencies, pairwise, shift


def test_pairwise_differences_are_new_minus_old_sorted():
    assert pairwise([0, 10], [1, 2]).tolist() == [-9, -8, 1, 2]


def test_latencies_are_first_receipt_minus_publication_of_delivered_events():
    cells = [
        {
            "samples": [
                {"sent_ms": 10.0, "received_ms": [12.5, 13.0]},
                {"sent_ms": 20.0, "received_ms": []},
            ]
        },
        {"samples": [{"sent_ms": 0.0, "received_ms": [4.0]}]},
        {"samples": None},
    ]
    assert latencies(cells) == [2.5, 4.0]


@pytest.mark.parametrize(
    ("n", "m", "confidence", "k"),
    [
        (15, 15, 0.99, 50),  # floor(112.5 - 2.5758 * 24.109)
        (15, 15, 0.95, 65),  # floor(112.5 - 1.9600 * 24.109)
        (10, 10, 0.95, 24),  # Hollander & Wolfe's table gives 24 too
        (3, 3, 0.99, 0),  # never below 0: the whole range
    ],
)
def test_interval_rank(n, m, confidence, k):
    assert interval_rank(n, m, confidence) == k


def test_a_constant_delay_on_every_event_is_the_shift_with_a_tight_interval():
    old = [1.0 + 0.1 * i for i in range(15)]
    s = shift(old, [x + 20 for x in old])
    assert s.shift_ms == pytest.approx(20.0)
    # k = 50: the 51st smallest difference is 20 - 0.5 (cumulative counts 1, 3, 6, ... 55)
    assert (s.low_ms, s.high_ms) == (pytest.approx(19.5), pytest.approx(20.5))
    assert s.p == pytest.approx(1.696e-6, rel=1e-3)  # normal approximation, z = 4.65
    assert (s.n_old, s.n_new, s.old_median_ms) == (15, 15, pytest.approx(1.7))


def test_three_against_three_is_the_exact_test_and_the_whole_range():
    s = shift([0, 1, 2], [10, 11, 12])
    assert s == Shift(10.0, 8.0, 12.0, 0.05, 3, 3, 1.0)  # p = 1 / C(6, 3)


def test_the_test_is_one_sided_new_later():
    assert shift([10, 11, 12], [0, 1, 2]).p == pytest.approx(1.0)
    assert shift([10, 11, 12], [0, 1, 2]).shift_ms == -10.0


def test_a_few_late_events_move_the_shift_little():
    old = [1.0 + 0.05 * i for i in range(15)]
    new = [x + 1 for x in old[:11]] + [40.0, 45.0, 50.0, 60.0]
    s = shift(old, new)
    assert s.shift_ms < 2.0 < s.high_ms and s.p < 0.001


def test_to_json_rounds_to_microseconds():
    s = Shift(1.23456, 0.12345, 2.34567, 1e-6, 15, 14, 0.98765)
    assert s.to_json() == {
        "shift_ms": 1.235,
        "low_ms": 0.123,
        "high_ms": 2.346,
        "p": 1e-6,
        "n_old": 15,
        "n_new": 14,
        "old_median_ms": 0.988,
    }


def test_all_ties_give_no_shift_and_p_one_not_nan():
    assert shift([1.0] * 6, [1.0] * 6) == Shift(0.0, 0.0, 0.0, 1.0, 6, 6, 1.0)
