"""Repeated cells: verdict counts per cell and flips, from results entries alone."""

from __future__ import annotations

from gauntlet.repeats import base_id, lines, summarize
from gauntlet.report import render_table


def cell(cell_id: str, verdict: str) -> dict:
    return {
        "id": cell_id,
        "verdict": verdict,
        "transport": "sse",
        "intermediary": "direct",
        "expected_verdict": None,
        "reason": "r",
        "metrics": None,
    }


def test_no_repeats_no_summary():
    assert summarize([cell("sse-direct", "PASS")]) is None


def test_counts_and_flips_per_cell():
    cells = [
        cell("m:a#1", "PASS"),
        cell("m:b#1", "FAIL"),
        cell("m:a#2", "PASS"),
        cell("m:b#2", "DEGRADED"),
        cell("m:a#3", "PASS"),
        cell("m:b#3", "FAIL"),
    ]
    summary = summarize(cells)
    assert summary == {
        "runs": 3,
        "flips": ["m:b"],
        "cells": {"m:a": {"PASS": 3}, "m:b": {"FAIL": 2, "DEGRADED": 1}},
    }
    text = lines({"repeats": summary})
    assert text[0].startswith("HARNESS DEFECT: 1 cell(s) flipped verdict over 3 repeats")
    assert text[1] == "  m:b: 1 DEGRADED, 2 FAIL"


def test_the_table_shows_flips_from_the_document_alone():
    cells = [cell("a#1", "PASS"), cell("a#2", "FAIL")]
    doc = {
        "run_id": "r",
        "matrix": "m",
        "time_scale": 30,
        "cells": cells,
        "repeats": summarize(cells),
    }
    assert "HARNESS DEFECT" in render_table(doc)
    steady = [cell("a#1", "PASS"), cell("a#2", "PASS")]
    doc = {**doc, "cells": steady, "repeats": summarize(steady)}
    assert "no verdict flipped" in render_table(doc)


def test_base_id_strips_only_the_repeat_suffix():
    assert base_id("smoke:sse-direct#12") == "smoke:sse-direct"
    assert base_id("smoke:sse-direct") == "smoke:sse-direct"
