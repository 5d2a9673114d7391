"""Run comparison: what is a regression, what is only a change, what is a warning."""

from __future__ import annotations

import copy

import pytest

from gauntlet.errors import GauntletError
from gauntlet.report.compare import (
    COUNTS,
    Count,
    Thresholds,
    base_id,
    baseline_drift,
    compare,
    compare_count,
    count_value,
    judge_shift,
    machine_difference,
    min_effect_ms,
    validate,
)
from gauntlet.report.shift import Shift

STEADY = [1.0 + 0.1 * i for i in range(15)]


def calibration(direct=0.5, hop=1.0, status="calibrated"):
    return {"status": status, "baseline": {"direct_p50_ms": direct, "hop_p50_ms": hop}}


def doc(*cells, machine=None, deps=None, cal=None, **extra):
    return {
        "run_id": extra.pop("run_id", "r"),
        "machine": machine or {"cpu_count": 2},
        "dependencies": deps or {"mitmproxy": "12"},
        "calibration": cal or calibration(),
        "cells": list(cells),
        **extra,
    }


def cell(cid, verdict="PASS", expected="PASS", lat=STEADY, hops=1, **metrics):
    return {
        "id": cid,
        "verdict": verdict,
        "expected_verdict": expected,
        "reason": "r",
        "hops": [{}] * hops,
        "metrics": {
            "delivered": len(lat),
            "lost": 0,
            "duplicates": 0,
            "reconnects": 0,
            "requests": 1,
            "bytes_received": 100 * len(lat),
            **metrics,
        },
        "samples": [
            {"id": i + 1, "sent_ms": 200.0 * i, "received_ms": [200.0 * i + x]}
            for i, x in enumerate(lat)
        ],
    }


def shifted(by):
    return [x + by for x in STEADY]


def test_defaults():
    assert Thresholds() == Thresholds(
        alpha=0.001, min_shift_ms=10.0, min_shift_pct=10.0, confidence=0.99, min_samples=5
    )
    assert COUNTS == (
        Count("delivered", -1, lossy_tolerance=1),
        Count("lost", 1, lossy_tolerance=1),
        Count("duplicates", 1, 1),
        Count("reconnects", 1, 1, 25.0),
        Count("requests", 1, 2, 50.0),
        Count("bytes_per_event", 1, 0, 20.0),
    )


def test_same_run_twice_is_no_regression():
    run = doc(cell("a"), cell("b", "FAIL", "FAIL", lat=[]))
    result = compare(run, copy.deepcopy(run))
    assert result.regressions == [] and result.changes == [] and result.warnings == []
    assert result.lines() == ["no regression, 0 other change(s)"]


def test_twenty_ms_on_every_event_is_a_regression_with_its_evidence():
    result = compare(
        doc(cell("smoke:sse-transparent")), doc(cell("smoke:sse-transparent", lat=shifted(20)))
    )
    assert [str(r) for r in result.regressions] == [
        "smoke:sse-transparent: latency +20.0 ms [19.5, 20.5] (Hodges-Lehmann shift, "
        "Mann-Whitney p=2e-06, n=15/15; counts from 10.0 ms)"
    ]
    assert result.regressions[0].shift.shift_ms == pytest.approx(20)
    assert result.lines()[-1] == "1 regression(s), 0 other change(s)"
    assert result.lines()[0].startswith("REGRESSION smoke:sse-transparent: latency +20.0 ms")


def test_a_loaded_machine_making_some_events_late_is_no_regression():
    loaded = [x + 2 for x in STEADY[:10]] + [30.0, 45.0, 60.0, 80.0, 120.0]
    result = compare(doc(cell("a")), doc(cell("a", lat=loaded)))
    assert result.regressions == [] and result.changes == []


def test_significance_is_needed_besides_the_effect():
    # 5 against 5 fully apart: p = 1/252 = 0.004 >= alpha, though the interval is [26, 34]
    result = compare(doc(cell("a", lat=[1, 2, 3, 4, 5])), doc(cell("a", lat=[31, 32, 33, 34, 35])))
    assert result.regressions == [] and result.changes == []
    loose = Thresholds(alpha=0.005)
    (only,) = compare(
        doc(cell("a", lat=[1, 2, 3, 4, 5])), doc(cell("a", lat=[31, 32, 33, 34, 35])), loose
    ).regressions
    assert only.text.startswith("latency +30.0 ms [26.0, 34.0]")


def test_too_few_samples_are_not_compared():
    assert (
        compare(
            doc(cell("a", lat=[1, 2, 3, 4])),
            doc(cell("a", lat=[31, 32, 33, 34])),
            Thresholds(alpha=0.5),
        ).regressions
        == []
    )
    assert (
        compare(
            doc(cell("a", lat=[1, 2, 3, 4])),
            doc(cell("a", lat=[31, 32, 33, 34])),
            Thresholds(alpha=0.5, min_samples=4),
        ).regressions
        != []
    )


def test_judge_shift_boundaries():
    t = Thresholds()
    at = Shift(20.0, 10.0, 30.0, 0.000999, 15, 15, 1.0)
    assert judge_shift(at, 10.0, t)
    assert not judge_shift(at, 10.000001, t)
    assert not judge_shift(Shift(20.0, 10.0, 30.0, 0.001, 15, 15, 1.0), 10.0, t)


def test_min_effect_is_the_larger_of_absolute_and_relative_plus_the_baselines_drift():
    t = Thresholds()
    assert min_effect_ms(50.0, 1, None, t) == 10.0
    assert min_effect_ms(100.0, 1, None, t) == 10.0
    assert min_effect_ms(150.0, 1, None, t) == 15.0
    assert min_effect_ms(150.0, 2, (1.0, 0.5), t) == 17.0
    assert min_effect_ms(1.0, 3, (0.25, 0.5), Thresholds(min_shift_ms=2)) == 3.75


def test_baseline_drift_is_direct_and_per_hop_absolute():
    assert baseline_drift(doc(cal=calibration(1.0, 1.5)), doc(cal=calibration(2.0, 3.5))) == (
        1.0,
        1.0,
    )
    assert baseline_drift(doc(cal=calibration(2.0, 3.5)), doc(cal=calibration(1.0, 1.5))) == (
        1.0,
        1.0,
    )
    assert (
        baseline_drift(
            doc(cal=calibration(1.0, 1.5)), doc(cal=calibration(status="not calibrated"))
        )
        is None
    )
    missing = {"status": "calibrated", "baseline": {"direct_p50_ms": 1.0}}
    assert baseline_drift(doc(cal=missing), doc()) is None
    assert baseline_drift(doc(), {"calibration": None}) is None


def test_a_drifted_baseline_widens_the_minimum_effect_by_hops():
    old = doc(cell("a", hops=3), cal=calibration(0.5, 1.0))
    new_cal = calibration(1.5, 4.0)  # direct +1, per hop +2: widen by 1 + 3 * 2 = 7
    (only,) = compare(old, doc(cell("a", lat=shifted(20), hops=3), cal=new_cal)).regressions
    assert only.text.endswith("counts from 17.0 ms)")
    kept = compare(old, doc(cell("a", lat=shifted(17.2), hops=3), cal=new_cal))
    assert kept.regressions == []
    assert [str(c) for c in kept.changes] == []  # the interval [16.7, 17.7] is not all >= 17


def test_faster_is_a_change_never_a_regression():
    result = compare(doc(cell("a", lat=shifted(30))), doc(cell("a")))
    assert result.regressions == []
    assert [str(c) for c in result.changes] == [
        "a: latency -30.0 ms [-30.5, -29.5] (Hodges-Lehmann shift, Mann-Whitney p=1, "
        "n=15/15; counts from 10.0 ms)"
    ]


def test_repeats_pool_their_samples_under_the_base_id():
    assert base_id("m:a#12") == "m:a" and base_id("m:a") == "m:a" and base_id("m:a#x") == "m:a#x"
    assert base_id("m:a#") == "m:a#"
    old = doc(cell("m:a#1"), cell("m:a#2"))
    (only,) = compare(
        old, doc(cell("m:a#1", lat=shifted(20)), cell("m:a#2", lat=shifted(20)))
    ).regressions
    assert only.cell == "m:a" and "n=30/30" in only.text


def test_different_machines_get_no_latency_verdicts_but_are_told():
    result = compare(
        doc(cell("a")),
        doc(
            cell("a", lat=shifted(20)),
            machine={"cpu_count": 2, "cpu_model": "x"},
            machines=[{"cpu_count": 2}, {"cpu_count": 4}],
        ),
    )
    assert result.regressions == []
    assert [c.text[:21] for c in result.changes] == ["latency +20.0 ms [19."]
    assert result.warnings == [
        "machines differ (cpu_count): latency not judged, shifts are listed as changes only"
    ]


def test_machine_difference_reads_only_fields_every_run_recorded():
    assert machine_difference(doc(), doc(machine={"cpu_count": 2, "cpu_model": "x"})) == []
    assert machine_difference(doc(machine={"a": 1, "b": 2}), doc(machine={"a": 2, "b": 3})) == [
        "a",
        "b",
    ]
    merged = doc(machines=[{"a": 1}, {"a": 1}])
    assert machine_difference(merged, doc(machine={"a": 1})) == []


def test_expectation_broken_is_a_regression_naming_the_cell():
    old = doc(cell("sse-store_and_forward", "FAIL", "FAIL", lat=[]))
    new = doc(cell("sse-store_and_forward", "FAIL", "PASS", lat=[]))
    assert [str(r) for r in compare(old, new).regressions] == [
        "sse-store_and_forward: measured FAIL, expected PASS (r)"
    ]


def test_worse_verdicts_regress_whatever_the_latency_better_ones_are_changes():
    old = doc(
        cell("a", "PASS", None),
        cell("b", "FAIL", None),
        cell("c", "FAIL", None),
        cell("d", "DEGRADED", None),
    )
    new = doc(
        cell("a", "DEGRADED", None),
        cell("b", "PASS", None),
        cell("c", "ERROR", None),
        cell("d", "FAIL", None),
    )
    result = compare(old, new)
    assert [str(r) for r in result.regressions] == [
        "a: verdict PASS -> DEGRADED (r)",
        "c: verdict FAIL -> ERROR (r)",
        "d: verdict DEGRADED -> FAIL (r)",
    ]
    assert [str(c) for c in result.changes] == ["b: verdict FAIL -> PASS"]


def test_a_fail_without_latency_becoming_pass_does_not_crash():
    old = doc(cell("a", "FAIL", None, lat=[], delivered=0, bytes_received=0))
    old["cells"][0]["metrics"]["latency_ms"] = {"p50": None, "p95": None}
    result = compare(old, doc(cell("a", "PASS", None)))
    assert [str(c) for c in result.changes] == ["a: verdict FAIL -> PASS", "a: delivered 0 -> 15"]
    assert result.regressions == []


def test_an_error_cell_without_metrics_compares():
    broken = cell("a", "ERROR", None, lat=[])
    broken["metrics"] = None
    result = compare(doc(cell("a", expected=None)), doc(broken))
    assert [str(r) for r in result.regressions] == ["a: verdict PASS -> ERROR (r)"]


def test_vanished_cells_regress_new_cells_are_changes():
    result = compare(doc(cell("a"), cell("b", "FAIL", None)), doc(cell("a"), cell("c")))
    assert [str(r) for r in result.regressions] == ["b: missing from the new run (was FAIL)"]
    assert [str(c) for c in result.changes] == ["c: new in this run (PASS)"]


def test_count_tolerances_at_their_boundaries():
    requests = Count("requests", 1, 2, 20.0)
    assert compare_count(requests, 10, 12) is None
    assert compare_count(requests, 10, 13) == (True, "requests 10 -> 13, tolerance 2")
    assert compare_count(requests, 20, 24) is None
    assert compare_count(requests, 20, 25) == (True, "requests 20 -> 25, tolerance 4")
    assert compare_count(requests, 20, 15) == (False, "requests 20 -> 15, tolerance 4")
    assert compare_count(requests, -20, -25) == (False, "requests -20 -> -25, tolerance 4")
    delivered = Count("delivered", -1)
    assert compare_count(delivered, 15, 15) is None
    assert compare_count(delivered, 15, 14) == (True, "delivered 15 -> 14")
    assert compare_count(delivered, 14, 15) == (False, "delivered 14 -> 15")
    assert compare_count(delivered, None, 15) is None and compare_count(delivered, 15, None) is None


def test_counts_worse_regress_better_change():
    old = doc(cell("a", duplicates=1, reconnects=6, requests=10, bytes_received=1500))
    new = doc(cell("a", duplicates=3, reconnects=4, requests=10, bytes_received=1801))
    result = compare(old, new)
    assert [str(r) for r in result.regressions] == [
        "a: duplicates 1 -> 3, tolerance 1",
        "a: bytes_per_event 100 -> 120.067, tolerance 20",
    ]
    assert [str(c) for c in result.changes] == ["a: reconnects 6 -> 4, tolerance 1.5"]
    same = doc(cell("a", duplicates=2, reconnects=7, requests=15, bytes_received=1800))
    assert compare(old, same).regressions == [] and compare(old, same).changes == []


def test_a_baseline_that_moved_by_half_the_minimum_effect_stops_latency_verdicts():
    old = doc(cell("a"), cal=calibration(0.5, 2.5))
    busy = doc(cell("a", lat=shifted(40)), cal=calibration(0.5, 7.5))  # per hop: 2 -> 7
    result = compare(old, busy)
    assert result.regressions == []
    assert [c.text[:16] for c in result.changes] == ["latency +40.0 ms"]
    assert result.warnings == [
        "the calibration baselines moved by 0.0 ms direct, 5.0 ms per hop (>= half the minimum "
        "effect): one run's machine was busier, latency not judged, shifts are listed as "
        "changes only"
    ]
    just_below = doc(cell("a", lat=shifted(40)), cal=calibration(0.5, 7.4))
    assert [r.text[:16] for r in compare(old, just_below).regressions] == ["latency +40.0 ms"]
    direct = doc(cell("a", lat=shifted(40)), cal=calibration(5.5, 7.5))  # direct +5, hop same
    assert compare(old, direct).regressions == []


def test_bytes_per_event_needs_deliveries():
    no_delivery = {"metrics": {"delivered": 0, "bytes_received": 10}}
    assert count_value(no_delivery, "bytes_per_event") is None
    assert count_value({"metrics": {"delivered": 4}}, "bytes_per_event") is None
    assert (
        count_value({"metrics": {"delivered": 4, "bytes_received": 10}}, "bytes_per_event") == 2.5
    )
    assert count_value({"metrics": None}, "lost") is None


def test_dependency_differences_and_missing_calibration_warn():
    result = compare(
        doc(cell("a")),
        doc(cell("a"), deps={"mitmproxy": "13"}, cal=calibration(status="not calibrated")),
    )
    assert result.warnings == [
        "dependencies differ (mitmproxy): numbers may not compare",
        "a run has no calibration: minimum effects not widened by the baseline's drift",
    ]
    assert result.regressions == []


def test_to_json_carries_runs_thresholds_findings_and_summary():
    old, new = doc(cell("a"), run_id="old"), doc(cell("a", lat=shifted(20)), run_id="new")
    out = compare(old, new).to_json(old, new, Thresholds())
    assert out["kind"] == "gauntlet-comparison"
    assert (out["old_run"], out["new_run"]) == ("old", "new")
    assert out["thresholds"]["min_shift_ms"] == 10.0
    assert out["regressions"][0]["cell"] == "a"
    assert out["regressions"][0]["shift"]["shift_ms"] == 20.0
    assert out["changes"] == [] and out["warnings"] == []
    assert out["summary"] == "1 regression(s), 0 other change(s)"


def test_lines_order_regressions_changes_warnings():
    result = compare(
        doc(cell("a"), cell("b", "FAIL", None)),
        doc(cell("a", "DEGRADED", None), cell("b", "PASS", None), deps={"x": "1"}),
    )
    assert result.lines() == [
        "REGRESSION a: verdict PASS -> DEGRADED (r)",
        "changed    b: verdict FAIL -> PASS",
        "warning    dependencies differ (mitmproxy, x): numbers may not compare",
        "1 regression(s), 1 other change(s)",
    ]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(cells={}), "f: cells: expected a list"),
        (lambda d: d.update(machine=[1]), "f: machine: expected an object"),
        (lambda d: d.update(calibration="x"), "f: calibration: expected an object"),
        (lambda d: d.update(machines=[None]), "f: machines: expected a list of objects"),
        (lambda d: d.update(machines={}), "f: machines: expected a list of objects"),
        (
            lambda d: d["calibration"]["baseline"].update(hop_p50_ms="1"),
            "f: calibration.baseline.hop_p50_ms: expected a finite number, got '1'",
        ),
        (lambda d: d["cells"].append(3), "f: cells[1]: expected an object with a string id"),
        (lambda d: d["cells"][0].update(id=1), "f: cells[0]: expected an object with a string id"),
        (lambda d: d["cells"][0].update(verdict="OK"), "f: cells[0] (a): verdict 'OK'"),
        (lambda d: d["cells"][0].update(hops={}), "f: cells[0].hops: expected a list"),
        (lambda d: d["cells"][0].update(metrics=[]), "f: cells[0].metrics: expected an object"),
        (
            lambda d: d["cells"][0]["metrics"].update(lost=float("nan")),
            "f: cells[0].metrics.lost: expected a finite number, got nan",
        ),
        (
            lambda d: d["cells"][0]["metrics"].update(requests=True),
            "f: cells[0].metrics.requests: expected a finite number, got True",
        ),
        (lambda d: d["cells"][0].update(samples={}), "f: cells[0].samples: expected a list"),
        (
            lambda d: d["cells"][0]["samples"].append({"sent_ms": 1}),
            "f: cells[0].samples[15]: expected sent_ms and received_ms",
        ),
        (
            lambda d: d["cells"][0]["samples"].append(1),
            "f: cells[0].samples[15]: expected sent_ms and received_ms",
        ),
        (
            lambda d: d["cells"][0]["samples"][2].update(sent_ms=None),
            "f: cells[0].samples[2].sent_ms: expected a finite number, got None",
        ),
        (
            lambda d: d["cells"][0]["samples"][3].update(received_ms=["x" * 99]),
            "f: cells[0].samples[3].received_ms[0]: expected a finite number, "
            "got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ],
)
def test_validate_names_what_is_wrong_and_where(mutate, message):
    bad = doc(cell("a"))
    mutate(bad)
    with pytest.raises(GauntletError) as info:
        validate(bad, "f")
    assert str(info.value) == message


def test_validate_accepts_a_real_shape_and_returns_it():
    good = doc(cell("a"), cell("b", "ERROR", lat=[]), machines=[{"a": 1}])
    good["cells"][1]["metrics"] = None
    good["cells"][1]["samples"].append({"sent_ms": 1.0, "received_ms": []})
    assert validate(good, "f") is good
    assert validate({"cells": [], "calibration": None}, "f") == {"cells": [], "calibration": None}


INTS = [float(i) for i in range(15)]  # pairwise differences are whole: the interval is exact


def test_an_interval_exactly_at_the_minimum_effect_counts_both_ways():
    # k = 50 drops the 50 smallest and largest of the differences shift + (i - j): +-5
    (only,) = compare(
        doc(cell("a", lat=INTS)),
        doc(cell("a", lat=[x + 15 for x in INTS])),
    ).regressions
    assert (only.shift.low_ms, only.shift.shift_ms) == (10.0, 15.0)
    assert (
        compare(doc(cell("a", lat=INTS)), doc(cell("a", lat=[x + 14.9 for x in INTS]))).regressions
        == []
    )
    faster = compare(doc(cell("a", lat=[x + 15 for x in INTS])), doc(cell("a", lat=INTS)))
    assert [c.shift.high_ms for c in faster.changes] == [-10.0] and faster.regressions == []
    assert (
        compare(doc(cell("a", lat=[x + 14.9 for x in INTS])), doc(cell("a", lat=INTS))).changes
        == []
    )


def test_a_run_without_a_machine_record_is_no_different_machine():
    assert machine_difference({"machine": None}, doc()) == []
    assert machine_difference({}, {}) == []


def test_a_calibration_without_a_direct_baseline_is_no_baseline():
    missing = {"status": "calibrated", "baseline": {"hop_p50_ms": 1.0}}
    assert baseline_drift(doc(), doc(cal=missing)) is None
    assert baseline_drift(doc(), doc(cal={"status": "calibrated"})) is None


def test_verdict_findings_carry_no_shift_in_json():
    old, new = doc(cell("a")), doc(cell("a", "FAIL", None))
    out = compare(old, new).to_json(old, new, Thresholds())
    assert out["regressions"] == [{"cell": "a", "text": "verdict PASS -> FAIL (r)", "shift": None}]
    assert out["thresholds"] == {
        "alpha": 0.001,
        "min_shift_ms": 10.0,
        "min_shift_pct": 10.0,
        "confidence": 0.99,
        "min_samples": 5,
    }


def test_validate_reads_only_what_compare_reads():
    ok = doc(cell("a"), deps=None)
    ok["cells"][0]["metrics"]["lost"] = None
    ok["cells"][0]["samples"][0]["received_ms"] = [1.0, "later receipts are not read"]
    ok["calibration"] = {"status": "not calibrated"}
    assert validate(ok, "f") is ok
    with pytest.raises(GauntletError, match="^f: dependencies: expected an object$"):
        validate({**ok, "dependencies": "x"}, "f")


def test_a_cell_that_already_lost_events_may_lose_one_more_by_timing():
    cut = {"delivered": 40, "lost": 60}
    result = compare(
        doc(cell("llm:cut", "FAIL", "FAIL", **cut)),
        doc(cell("llm:cut", "FAIL", "FAIL", delivered=39, lost=61)),
    )
    assert result.regressions == [] and result.changes == []
    two_more = compare(
        doc(cell("llm:cut", "FAIL", "FAIL", **cut)),
        doc(cell("llm:cut", "FAIL", "FAIL", delivered=38, lost=62)),
    )
    assert [str(r) for r in two_more.regressions] == [
        "llm:cut: delivered 40 -> 38, tolerance 1",
        "llm:cut: lost 60 -> 62, tolerance 1",
    ]


def test_a_first_lost_event_is_always_a_regression():
    result = compare(doc(cell("a")), doc(cell("a", delivered=14, lost=1)))
    assert [str(r) for r in result.regressions] == ["a: delivered 15 -> 14", "a: lost 0 -> 1"]


def test_a_shift_while_the_harness_itself_stalled_is_a_change_not_a_regression():
    old, new = cell("a"), cell("a", lat=shifted(20))
    old["instrument_lag_ms"], new["instrument_lag_ms"] = 1.6, 68.8
    result = compare(doc(old), doc(new))
    assert result.regressions == []
    (only,) = result.changes
    assert only.text.endswith("; not judged: the harness itself lagged 2 -> 69 ms"), only.text
    assert result.warnings == [
        "latency not judged in 1 cell(s) where the harness itself was stalled past 50 ms "
        "in a run (instrument_lag_ms), e.g. a"
    ]


def test_a_lag_within_the_stall_limit_leaves_the_shift_judged():
    old, new = cell("a"), cell("a", lat=shifted(20))
    old["instrument_lag_ms"], new["instrument_lag_ms"] = 1.6, 50.0
    (only,) = compare(doc(old), doc(new)).regressions
    assert only.text.startswith("latency +20.0 ms")


def test_a_stall_in_the_old_run_also_leaves_latency_unjudged():
    old, new = cell("a"), cell("a", lat=shifted(20))
    old["instrument_lag_ms"] = 120.0
    result = compare(doc(old), doc(new))
    assert result.regressions == []
    assert result.changes[0].text.endswith("lagged 120 -> ? ms")


def test_instrument_lag_must_be_a_number():
    bad = doc(cell("a"))
    bad["cells"][0]["instrument_lag_ms"] = "slow"
    with pytest.raises(GauntletError, match=r"cells\[0\]\.instrument_lag_ms: expected a finite"):
        validate(bad, "f")
