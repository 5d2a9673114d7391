"""Run comparison: what is a regression, what is only a change, what is a warning."""

from __future__ import annotations

import copy

from harness.report.compare import Thresholds, compare


def doc(*cells, machine=None, deps=None):
    return {"machine": machine or {"cpu_count": 2}, "dependencies": deps or {"mitmproxy": "12"},
            "cells": list(cells)}  # fmt: skip


def cell(cid, verdict="PASS", expected="PASS", p95=2.0):
    return {"id": cid, "verdict": verdict, "expected_verdict": expected, "reason": "r",
            "metrics": {"latency_ms": {"p95": p95}}}  # fmt: skip


def test_same_run_twice_is_no_regression():
    run = doc(cell("a"), cell("b", "FAIL", "FAIL", None))
    result = compare(run, copy.deepcopy(run))
    assert result.regressions == [] and result.changes == [] and result.warnings == []
    assert result.lines()[-1] == "no regression, 0 other change(s)"


def test_a_changed_expectation_that_is_not_met_is_a_regression_naming_the_cell():
    old = doc(cell("sse-store_and_forward", "FAIL", "FAIL", None))
    new = doc(cell("sse-store_and_forward", "FAIL", "PASS", None))
    assert compare(old, new).regressions == [
        "sse-store_and_forward: measured FAIL, expected PASS (r)"]


def test_worse_verdicts_regress_better_ones_are_changes():
    old = doc(cell("a", "PASS", None), cell("b", "FAIL", None))
    new = doc(cell("a", "DEGRADED", None), cell("b", "PASS", None))
    result = compare(old, new)
    assert result.regressions == ["a: verdict PASS -> DEGRADED (r)"]
    assert result.changes == ["b: verdict FAIL -> PASS"]


def test_latency_regression_needs_both_relative_and_absolute_growth():
    t = Thresholds(latency_pct=25, latency_min_ms=5)
    assert compare(doc(cell("a", p95=1.0)), doc(cell("a", p95=3.0)), t).regressions == []
    assert compare(doc(cell("a", p95=100.0)), doc(cell("a", p95=120.0)), t).regressions == []
    (only,) = compare(doc(cell("a", p95=100.0)), doc(cell("a", p95=130.0)), t).regressions
    assert only.startswith("a: p95 100.0 -> 130.0 ms (+30 %")


def test_machine_and_dependency_differences_warn():
    result = compare(doc(cell("a")), doc(cell("a"), machine={"cpu_count": 8},
                                         deps={"mitmproxy": "13"}))  # fmt: skip
    assert result.warnings == [
        "machine differ (cpu_count): numbers may not compare",
        "dependencies differ (mitmproxy): numbers may not compare",
    ]
    assert result.regressions == []


def test_missing_and_new_cells_are_changes():
    result = compare(doc(cell("a"), cell("b")), doc(cell("a"), cell("c")))
    assert result.changes == ["b: missing from the new run", "c: new in this run (PASS)"]
