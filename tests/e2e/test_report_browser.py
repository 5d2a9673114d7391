"""The HTML report in a real headless browser (Debian's chromium, flags from docs/chromium.md).

The page must load from disk without the browser reporting an error, its rendered DOM must
hold one grid cell per scenario cell, and the screenshot must show each verdict's colour.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gauntlet.report import write_report
from gauntlet.report.html import COLOURS

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/lib/chromium/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


def cell(transport, intermediary, verdict, expected):
    delivered = 0 if verdict == "FAIL" else 5
    return {
        "id": f"{transport}-{intermediary}",
        "transport": transport,
        "intermediary": intermediary,
        "protocol": "h1",
        "verdict": verdict,
        "expected_verdict": expected,
        "reason": "r",
        "expected_reason": "e",
        "metrics": {
            "sent": 5,
            "delivered": delivered,
            "requests": 1,
            "bytes_received": 500,
            "latency_ms": {"p50": 1.0, "p95": 2.0},
        },
        "samples": [
            {"id": i, "sent_ms": i * 10.0, "received_ms": [i * 10.0 + 1] if delivered else []}
            for i in range(1, 6)
        ],
    }


DOC = {
    "schema_version": 1,
    "run_id": "browser-test",
    "matrix": "smoke",
    "time_scale": 30,
    "created_utc": "2026-11-24T00:00:00Z",
    "cells": [
        cell(t, i, v, e)
        for t, i, v, e in [
            ("sse", "direct", "PASS", "PASS"),
            ("sse", "store_and_forward", "FAIL", "FAIL"),
            ("long_poll", "direct", "PASS", "PASS"),
            ("long_poll", "store_and_forward", "DEGRADED", "PASS"),
        ]
    ],
}


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_report_renders_one_grid_cell_per_scenario_with_verdict_colours(tmp_path):
    assert Path(CHROMIUM).exists(), "scripts/ensure-test-deps.sh installs it (make test)"
    write_report(DOC, tmp_path / "run")
    page = (tmp_path / "run" / "report.html").as_uri()
    try:
        dom = chromium(tmp_path / "p1", "--dump-dom", page)
        shot = chromium(
            tmp_path / "p2", "--window-size=1200,700", f"--screenshot={tmp_path / 'shot.png'}", page
        )
    finally:
        shutil.rmtree(tmp_path / "p1", ignore_errors=True)
        shutil.rmtree(tmp_path / "p2", ignore_errors=True)
    assert dom.returncode == 0 and shot.returncode == 0, dom.stderr + shot.stderr
    assert dom.stdout.count('data-cell="') == len(DOC["cells"])
    assert dom.stdout.count('class="cell mismatch"') == 1
    pixels = np.asarray(Image.open(tmp_path / "shot.png").convert("RGB")).reshape(-1, 3)
    for verdict in ("PASS", "FAIL", "DEGRADED"):
        rgb = tuple(int(COLOURS[verdict][i : i + 2], 16) for i in (1, 3, 5))
        assert (pixels == rgb).all(axis=1).sum() > 500, f"no {verdict} cell drawn"
