"""results.json while a run measures: rewritten per cell, never holding inf or nan."""

from __future__ import annotations

import json
import math
from pathlib import Path

from gauntlet.results import PartialDocument, build_document, json_safe, write_text_atomic

REPO = Path(__file__).resolve().parents[2]


def test_non_finite_numbers_become_null_at_any_depth():
    doc = {"a": math.inf, "b": [1.5, -math.inf, {"c": math.nan}], "d": (math.nan,), "e": "inf"}
    assert json_safe(doc) == {"a": None, "b": [1.5, None, {"c": None}], "d": [None], "e": "inf"}
    json.dumps(json_safe(doc), allow_nan=False)  # the strict writer accepts it


def test_a_document_with_a_nan_metric_is_still_written():
    doc = build_document(
        run_id="r",
        matrix="m",
        time_scale=math.inf,
        interrupted=False,
        repo=REPO,
        cells=[{"id": "x", "verdict": "PASS", "metrics": {"p95": math.nan}}],
    )
    text = json.dumps(doc.to_json(), allow_nan=False)
    assert json.loads(text)["cells"][0]["metrics"]["p95"] is None
    assert doc.complete is True and json.loads(text)["time_scale"] is None


def test_the_partial_document_is_valid_json_after_every_cell(tmp_path):
    header = build_document(
        run_id="r",
        matrix="m",
        time_scale=30,
        interrupted=False,
        repo=REPO,
        cells=[],
        complete=False,
    )
    partial = PartialDocument(header, tmp_path / "r" / "results.json", 3)
    write_text_atomic(partial.text(), partial.path)
    assert json.loads(partial.path.read_text())["cells"] == []
    partial.add(2, {"id": "c", "v": math.inf})
    partial.add(0, {"id": "a"})
    write_text_atomic(partial.text(), partial.path)
    doc = json.loads(partial.path.read_text())
    assert [c["id"] for c in doc["cells"]] == ["a", "c"]  # spec order, not finishing order
    assert doc["cells"][1]["v"] is None and doc["complete"] is False
    assert doc["run_id"] == "r" and doc["schema_version"] == header.schema_version
