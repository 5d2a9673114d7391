"""harness/report/compare.py at its edges: what `validate` accepts and names, the JSON summary
line, the machine warning, the confidence threshold, and cells too small to judge."""

from __future__ import annotations

import pytest

from gauntlet.errors import GauntletError
from gauntlet.report.compare import Thresholds, compare, validate
from tests.unit.test_compare import calibration, cell, doc, shifted


def test_a_cell_without_metrics_or_samples_is_valid():
    bare = {"id": "m:sse-direct", "verdict": "SKIPPED"}
    assert validate(doc(bare), "old.json")["cells"] == [bare]


@pytest.mark.parametrize(
    "name", ["delivered", "lost", "duplicates", "reconnects", "requests", "bytes_received"]
)
def test_every_count_compare_reads_must_be_a_number(name):
    bad = cell("m:sse-direct", **{name: "12"})
    with pytest.raises(GauntletError, match=rf"^old.json: cells\[0\].metrics.{name}: expected"):
        validate(doc(bad), "old.json")


@pytest.mark.parametrize("key", ["direct_p50_ms", "hop_p50_ms"])
def test_the_calibration_baseline_must_be_numbers(key):
    cal = calibration()
    cal["baseline"][key] = "fast"
    with pytest.raises(GauntletError, match=rf"calibration.baseline.{key}: expected a finite"):
        validate(doc(cal=cal), "new.json")


def test_the_json_summary_is_the_last_line_whatever_came_before():
    old = doc(cell("m:a"), cell("m:b"))
    new = doc(cell("m:a", verdict="FAIL"), cell("m:c"))
    summary = compare(old, new).to_json(old, new, Thresholds())["summary"]
    assert summary == "2 regression(s), 1 other change(s)"


def test_the_machine_warning_names_every_field_that_differs():
    old = doc(cell("m:a"), machine={"cpu_count": 2, "python": "3.12"})
    new = doc(cell("m:a"), machine={"cpu_count": 8, "python": "3.13"})
    assert compare(old, new).warnings[0].startswith("machines differ (cpu_count, python): ")


def test_the_shift_interval_is_at_the_thresholds_confidence_not_the_default():
    old, new = doc(cell("m:a")), doc(cell("m:a", lat=shifted(40)))
    wide = compare(old, new).regressions[0].shift
    narrow = compare(old, new, Thresholds(confidence=0.5)).regressions[0].shift
    assert wide is not None and narrow is not None
    assert wide.low_ms < narrow.low_ms <= narrow.high_ms < wide.high_ms


def test_a_cell_with_too_few_samples_does_not_stop_the_others_being_judged():
    old = doc(cell("m:a", lat=[1.0, 1.1]), cell("m:b"))
    new = doc(cell("m:a", lat=[50.0, 51.0]), cell("m:b", lat=shifted(40)))
    assert [f.cell for f in compare(old, new).regressions] == ["m:b"]
