"""`gauntlet run --repeat N`: every cell N times, verdict counts per cell in results.json."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.e2e.conftest import gauntlet_cmd

pytestmark = pytest.mark.e2e


def test_repeat_counts_verdicts_per_cell_in_the_results(tmp_path):
    done = subprocess.run(
        gauntlet_cmd(
            "run",
            "--transport",
            "sse",
            "--intermediary",
            "direct",
            "--repeat",
            "3",
            "--no-calibration",
            "--no-plots",
            "--results",
            str(tmp_path),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads((tmp_path / "latest" / "results.json").read_text())
    assert [c["id"] for c in doc["cells"]] == ["sse-direct#1", "sse-direct#2", "sse-direct#3"]
    assert doc["repeats"] == {"runs": 3, "cells": {"sse-direct": {"PASS": 3}}, "flips": []}
    assert doc["complete"] is True
    assert "repeats: every cell 3 times, no verdict flipped" in done.stdout
