"""The documents' shared part: header, the one writer, the one `latest` rule, checked reads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from gauntlet import documents
from gauntlet.documents import DocumentError, header, machine_info, read, read_latest, write
from gauntlet.load.document import LoadDocument, write_load
from gauntlet.results import ResultsDocument, build_document, read_results

REPO = Path(__file__).resolve().parents[2]
CREATED = dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC)


def run(run_id: str, verdict: str = "PASS") -> ResultsDocument:
    return build_document(
        run_id=run_id,
        matrix="smoke",
        time_scale=30,
        interrupted=False,
        repo=REPO,
        created=CREATED,
        cells=[{"id": "sse-direct", "verdict": verdict}],
    )


def load(load_id: str) -> LoadDocument:
    return LoadDocument.model_validate(
        {
            **header(LoadDocument, created=CREATED, machine=machine_info(), repo=REPO),
            "load_id": load_id,
            "command": ["gauntlet", "load"],
            "target": "reference server",
            "points": [{"transport": "sse", "users": 10}],
            "knees": [],
            "wall_s": 1.5,
        }
    )


def test_every_document_starts_with_the_same_header():
    results, loaded = run("r1").to_json(), load("l1").to_json()
    shared = (
        "schema_version",
        "kind",
        "tool",
        "created_utc",
        "machine",
        "dependencies",
        "git",
        "clock",
    )
    assert list(results)[: len(shared)] == list(shared) == list(loaded)[: len(shared)]
    assert results["kind"] == "gauntlet-results" and loaded["kind"] == "gauntlet-load"
    assert results["created_utc"] == "2026-12-02T13:00:00Z"


def test_one_latest_rule_a_relative_link_to_the_newest_for_folders_and_files(tmp_path):
    first, second = write(run("r1"), tmp_path), write(run("r2"), tmp_path)
    assert first == tmp_path / "r1" / "results.json" and second.parent.name == "r2"
    assert (tmp_path / "latest").readlink() == Path("r2")  # relative: the folder can move
    assert read_results(tmp_path / "latest" / "results.json").run_id == "r2"
    loads = tmp_path / "load"
    write_load(load("l1"), tmp_path)
    write_load(load("l2"), tmp_path)
    assert (loads / "latest.json").readlink() == Path("l2.json")
    assert read_latest(LoadDocument, loads) == load("l2")
    assert read_latest(LoadDocument, tmp_path / "nowhere") is None
    assert not [p for p in tmp_path.rglob(".*")]  # no temporary file or link left behind


def test_a_latest_that_is_a_real_folder_is_refused_in_one_line(tmp_path):
    (tmp_path / "latest").mkdir()
    with pytest.raises(DocumentError, match=r"latest: a folder, not the link .* move it away"):
        write(run("r1"), tmp_path)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"schema_version": 2},
            "schema_version 2, this gauntlet reads 1: a results document of "
            r"another gauntlet version \(this is 0.1.0\)$",
        ),
        ({"schema_version": None}, "schema_version None, this gauntlet reads 1"),
        ({"kind": "gauntlet-bench"}, "kind 'gauntlet-bench', expected 'gauntlet-results'"),
        (
            {"cells": [{"id": "x", "verdict": "MAYBE"}]},
            r"cells\[0\].verdict: Input should be 'PASS', 'DEGRADED', 'FAIL', 'ERROR' or 'SKIPPED' "
            r"\(got 'MAYBE'\)",
        ),
        ({"cells": [{"verdict": "PASS"}]}, r"cells\[0\].id: Field required$"),
        ({"machine": "x"}, "machine: Input should be a valid dictionary"),
    ],
)
def test_a_document_it_cannot_use_is_one_line_naming_file_place_and_field(tmp_path, change, says):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({**run("r1").to_json(), **change}))
    with pytest.raises(DocumentError, match=f"^{path}: {says}") as caught:
        read_results(path)
    assert "\n" not in str(caught.value)


def test_a_file_that_is_missing_or_not_json_is_named(tmp_path):
    with pytest.raises(DocumentError, match="nowhere.json: no such load file"):
        read(LoadDocument, tmp_path / "nowhere.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(DocumentError, match="bad.json: not a load document"):
        read(LoadDocument, tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(DocumentError, match="list.json: not a load document"):
        read(LoadDocument, tmp_path / "list.json")


def test_a_load_document_round_trips_and_keeps_fields_a_newer_writer_added(tmp_path):
    path = write_load(load("l1"), tmp_path)
    tree = json.loads(path.read_text())
    assert tree["points"] == [{"transport": "sse", "users": 10}] and tree["load_id"] == "l1"
    path.write_text(json.dumps({**tree, "note": "added later"}))
    assert read(LoadDocument, path).to_json() == {**tree, "note": "added later"}


def test_non_finite_numbers_are_written_as_null(tmp_path):
    doc = build_document(
        run_id="r",
        matrix="m",
        time_scale=float("inf"),
        interrupted=False,
        repo=REPO,
        cells=[{"id": "x", "verdict": "PASS", "metrics": {"p95": float("nan")}}],
    )
    text = documents.dumps(doc.to_json())
    assert json.loads(text)["time_scale"] is None
    assert json.loads(text)["cells"][0]["metrics"]["p95"] is None
