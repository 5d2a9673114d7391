"""The results document: stable names, atomic write, `latest` pointing at the newest run."""

from __future__ import annotations

import datetime as dt
import json

from gauntlet.results import (
    SCHEMA_VERSION,
    ResultsDocument,
    build_document,
    cpu_model,
    new_run_id,
    write_document,
)


def doc(run_id: str, cells: list | None = None):
    return build_document(
        run_id=run_id,
        matrix="smoke",
        time_scale=30,
        cells=cells or [],
        interrupted=False,
        repo=__import__("pathlib").Path("."),
    )


def test_run_ids_sort_by_time_and_differ_within_a_second():
    t = dt.datetime(2026, 11, 24, 12, 0, 0, tzinfo=dt.UTC)
    a, b = new_run_id("smoke", t), new_run_id("smoke", t)
    assert a.startswith("20261124T120000Z-smoke-") and a != b


def test_document_carries_versions_machine_clock_and_scale():
    d = doc("r1").to_json()
    assert d["kind"] == "gauntlet-results"
    assert d["schema_version"] == SCHEMA_VERSION == 1
    assert d["tool"]["name"] == "gauntlet"
    assert d["dependencies"]["mitmproxy"] == "12.2.3"
    assert d["clock"]["name"] == "time.monotonic_ns" and d["clock"]["resolution_ns"] >= 1
    assert d["machine"]["cpu_model"] == cpu_model()
    assert d["time_scale"] == 30 and d["cells"] == []
    assert d["created_utc"].endswith("Z")


def test_write_is_atomic_and_latest_follows_the_newest_run(tmp_path):
    first = write_document(doc("r1"), tmp_path)
    second = write_document(doc("r2"), tmp_path)
    assert json.loads(first.read_text())["run_id"] == "r1"
    assert (tmp_path / "latest").resolve() == second.parent.resolve()
    assert not list(tmp_path.rglob("*.tmp"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest", "r1", "r2"]


def test_shards_are_disjoint_and_cover_every_cell():
    from gauntlet.spec import shard_of

    items = list(range(10))
    shards = [shard_of(items, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(shards, [])) == items
    assert shards[0] == [0, 3, 6, 9]


def test_bad_shard_spec_is_a_clear_error():
    import pytest

    from gauntlet.errors import GauntletError
    from gauntlet.spec import parse_shard

    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "x/4", "2"):
        with pytest.raises(GauntletError, match="expected K/N"):
            parse_shard(bad)


def test_merge_joins_shards_and_refuses_mixed_matrices_or_repeated_cells():
    import pytest

    from gauntlet.errors import GauntletError
    from gauntlet.results import merge_documents

    a = doc("a", [{"id": "x", "verdict": "PASS"}])
    b = doc("b", [{"id": "y", "verdict": "FAIL"}]).model_copy(update={"interrupted": True})
    merged = merge_documents([a, b], "m", ["a.json", "b.json"])
    assert [c.id for c in merged.cells] == ["x", "y"]
    assert merged.interrupted is True and merged.merged_from == ["a", "b"]
    # every shard's machine is kept: compare refuses latency verdicts when they differ
    tree = merged.to_json()
    assert tree["machines"] == [a.to_json()["machine"], b.to_json()["machine"]]
    assert "repeats" not in tree  # no cell was repeated: absent, not null
    other = doc("c").to_json()
    other["machine"]["cpu_count"] = 64
    again = merge_documents(
        [merged, ResultsDocument.from_json(other, "c.json")], "m2", ["m.json", "c.json"]
    )
    assert [m["cpu_count"] for m in again.to_json()["machines"]][-1] == 64
    with pytest.raises(GauntletError, match="b.json: matrix 'tls' differs"):
        merge_documents([a, b.model_copy(update={"matrix": "tls"})], "m", ["a.json", "b.json"])
    with pytest.raises(GauntletError, match="b.json: cell x is also in a.json"):
        merge_documents([a, a.model_copy(update={"run_id": "b"})], "m", ["a.json", "b.json"])


def test_cpu_model_is_the_first_model_name_of_proc_cpuinfo():
    names = [
        line.split(":", 1)[1].strip()
        for line in open("/proc/cpuinfo")
        if line.startswith("model name")
    ]
    assert cpu_model() == (names[0] if names else None)


def test_a_results_file_round_trips_through_the_model(tmp_path):
    from gauntlet.results import read_results
    from gauntlet.verdict import Verdict

    cells = [
        {
            "id": "x",
            "verdict": "DEGRADED",
            "expected_verdict": None,
            "reason": "slow",
            "metrics": {"sent": 3},
            "samples": [[1, 2.5]],
        }
    ]
    path = write_document(doc("r1", cells), tmp_path)
    back = read_results(path)
    assert back.cells[0].verdict is Verdict.DEGRADED
    assert back.to_json() == json.loads(path.read_text())
    assert back.to_json()["cells"][0]["samples"] == [[1, 2.5]]  # measurements kept as written


def test_an_old_results_file_without_kind_still_reads(tmp_path):
    from gauntlet.results import read_results

    tree = doc("r1").to_json()
    del tree["kind"]
    (tmp_path / "results.json").write_text(json.dumps(tree))
    assert read_results(tmp_path / "results.json").run_id == "r1"
