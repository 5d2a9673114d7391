"""`gauntlet compare` and `merge` on real runs of a tiny matrix (real processes).

Three runs of two cells (about 5 s each): the same spec twice must compare clean; a run whose
expectation was deliberately changed must exit 1 and name the cell, and its report drawn
`--compare-with` the first shows that; two shards must merge into the whole matrix.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import REPO, gauntlet_cmd

pytestmark = pytest.mark.e2e

MINI = """
name = "mini"
description = "sse direct and through store_and_forward"
time_scale = 60
transports = ["sse"]
intermediaries = ["direct", "store_and_forward"]
[workload]
events = 5
rate_per_s = 20
payload_bytes = 64
[budget]
latency_p95_ms = 250
deliver_within_real_s = 60
[[expect]]
transport = "sse"
intermediary = "direct"
verdict = "PASS"
reason = "nothing in between"
[[expect]]
transport = "sse"
intermediary = "store_and_forward"
verdict = "{held}"
reason = "the body is held until the response ends"
"""


def scenarios(tmp_path: Path, held: str) -> Path:
    folder = tmp_path / f"scenarios-{held}"
    folder.mkdir()
    (folder / "mini.toml").write_text(MINI.replace("{held}", held))
    shutil.copy(REPO / "scenarios" / "intermediaries.toml", folder)
    return folder


def run(tmp_path: Path, folder: Path, name: str, *extra: str) -> Path:
    out = tmp_path / name
    subprocess.run(
        gauntlet_cmd(
            "--scenarios",
            str(folder),
            "run",
            "--matrix",
            "mini",
            "--no-plots",
            "--no-calibration",
            "--results",
            str(out),
            *extra,
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out / "latest"


def gauntlet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(gauntlet_cmd(*args), capture_output=True, text=True, timeout=60)


def test_compare_is_clean_for_the_same_spec_and_names_a_broken_expectation(tmp_path):
    honest = scenarios(tmp_path, "FAIL")
    first, second = run(tmp_path, honest, "r1"), run(tmp_path, honest, "r2")
    same = gauntlet("compare", str(first), str(second), "--json", str(tmp_path / "same.json"))
    assert same.returncode == 0, same.stdout
    assert same.stdout.strip().splitlines()[-1].startswith("no regression")
    assert json.loads((tmp_path / "same.json").read_text())["summary"].startswith("no regression")
    changed = run(tmp_path, scenarios(tmp_path, "PASS"), "r3")
    broken = gauntlet("compare", str(first), str(changed))
    assert broken.returncode == 1
    assert "REGRESSION sse-store_and_forward: measured FAIL, expected PASS" in broken.stdout
    report = gauntlet("report", str(changed), "--compare-with", str(first))
    assert report.returncode == 0, report.stderr
    written = json.loads((changed / "comparison.json").read_text())
    assert written["regressions"][0]["cell"] == "sse-store_and_forward"
    assert "## Compared with" in (changed / "summary.md").read_text()


def test_shards_merge_into_the_whole_matrix(tmp_path):
    folder = scenarios(tmp_path, "FAIL")
    one = run(tmp_path, folder, "s1", "--shard", "1/2")
    two = run(tmp_path, folder, "s2", "--shard", "2/2")
    merged = gauntlet("merge", str(one), str(two), "--results", str(tmp_path / "merged"))
    assert merged.returncode == 0, merged.stderr
    assert "2 cells: 1 PASS, 0 DEGRADED, 1 FAIL, 0 ERROR; 0 mismatch(es)" in merged.stdout
