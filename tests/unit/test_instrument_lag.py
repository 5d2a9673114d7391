"""The harness's own stall, read from when each event was published against the plan."""

from __future__ import annotations

import pytest

from gauntlet.instrument.lag import STALLED_MS, lag_note, publish_lag_ms

MS = 1_000_000


def test_on_time_publications_have_no_lag_whatever_the_origin():
    plan = [0.0, 0.2, 0.4, 0.6]
    assert publish_lag_ms(plan, [5_000 * MS + int(t * 1000) * MS for t in plan]) == 0.0


def test_the_largest_delay_behind_the_plan_is_the_lag():
    plan = [0.0, 0.2, 0.4, 0.6]
    published = [0, 201 * MS, 1_900 * MS, 1_950 * MS]  # the loop stalled 1.5 s before id 3
    assert publish_lag_ms(plan, published) == pytest.approx(1_500.0)


def test_early_is_not_negative_and_bursts_share_a_planned_time():
    assert publish_lag_ms([0.0, 0.0, 0.0, 1.0], [0, 0, 1 * MS, 990 * MS]) == pytest.approx(1.0)
    assert publish_lag_ms([0.0, 1.0], [0, 900 * MS]) == 0.0


@pytest.mark.parametrize(("plan", "published"), [([], []), ([0.0], [0]), ([0.0, 0.2], [0])])
def test_fewer_than_two_publications_say_nothing(plan, published):
    assert publish_lag_ms(plan, published) is None


def test_a_stall_past_the_threshold_is_noted_with_its_size():
    assert lag_note(None) is None and lag_note(STALLED_MS) is None
    note = lag_note(1743.9)
    assert note is not None and "1744 ms behind its schedule" in note
