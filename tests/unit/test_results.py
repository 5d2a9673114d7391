"""The results document: stable names, atomic write, `latest` pointing at the newest run."""

from __future__ import annotations

import datetime as dt
import json

from harness.results import SCHEMA_VERSION, build_document, new_run_id, write_document


def doc(run_id: str) -> dict:
    return build_document(run_id=run_id, matrix="smoke", time_scale=30, cells=[],
                          interrupted=False, repo=__import__("pathlib").Path("."))  # fmt: skip


def test_run_ids_sort_by_time_and_differ_within_a_second():
    t = dt.datetime(2026, 11, 24, 12, 0, 0, tzinfo=dt.UTC)
    a, b = new_run_id("smoke", t), new_run_id("smoke", t)
    assert a.startswith("20261124T120000Z-smoke-") and a != b


def test_document_carries_versions_machine_clock_and_scale():
    d = doc("r1")
    assert d["schema_version"] == SCHEMA_VERSION == 1
    assert d["tool"]["name"] == "gauntlet"
    assert d["dependencies"]["mitmproxy"] == "12.2.3"
    assert d["clock"]["name"] == "time.monotonic_ns" and d["clock"]["resolution_ns"] >= 1
    assert d["time_scale"] == 30 and d["cells"] == []
    assert d["created_utc"].endswith("Z")


def test_write_is_atomic_and_latest_follows_the_newest_run(tmp_path):
    first = write_document(doc("r1"), tmp_path)
    second = write_document(doc("r2"), tmp_path)
    assert json.loads(first.read_text())["run_id"] == "r1"
    assert (tmp_path / "latest").resolve() == second.parent.resolve()
    assert not list(tmp_path.rglob("*.tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "r1", "r2"]
