"""Report readers: the table and the plots read only a results document."""

from __future__ import annotations

import json

import matplotlib.image
import pytest

from gauntlet.errors import GauntletError
from gauntlet.report import load_results, render_table, write_plots
from gauntlet.report.plots import grid_shape, latencies_ms


def cell(transport, intermediary, verdict, expected, delivered=3, p=(1.0, 2.0)):
    samples = [
        {"id": i, "sent_ms": i * 100.0, "received_ms": [i * 100.0 + p[0]] if i <= delivered else []}
        for i in range(1, 4)
    ]
    return {
        "id": f"{transport}-{intermediary}",
        "transport": transport,
        "intermediary": intermediary,
        "verdict": verdict,
        "expected_verdict": expected,
        "reason": f"why {verdict}",
        "samples": samples,
        "metrics": {
            "sent": 3,
            "delivered": delivered,
            "latency_ms": {"p50": p[0] if delivered else None, "p95": p[1] if delivered else None},
        },
    }


DOC = {
    "schema_version": 1,
    "run_id": "r1",
    "matrix": "smoke",
    "time_scale": 30,
    "interrupted": False,
    "cells": [
        cell("sse", "direct", "PASS", "PASS"),
        cell("sse", "store_and_forward", "FAIL", "FAIL", delivered=0),
        cell("websocket", "direct", "DEGRADED", "PASS", p=(300.0, 420.0)),
        {
            "id": "long_poll-x",
            "transport": "long_poll",
            "intermediary": "x",
            "verdict": "ERROR",
            "expected_verdict": None,
            "reason": "client crashed",
            "metrics": None,
            "samples": [],
        },
    ],
}


def test_table_has_a_row_per_cell_with_numbers_and_marks_mismatches():
    lines = render_table(DOC).splitlines()
    assert "time scale 1/30" in lines[0]
    row = next(line for line in lines if "store_and_forward" in line)
    assert "FAIL" in row and "0/3" in row and " - " in row
    mismatch = next(line for line in lines if line.startswith("!"))
    assert "websocket" in mismatch and "DEGRADED (expected PASS)" in mismatch
    assert "300.0" in mismatch and "420.0" in mismatch
    assert (
        "4 cells: 1 PASS, 1 DEGRADED, 1 FAIL, 1 ERROR; 1 mismatch(es) with expectations"
    ) in lines


def test_table_shows_added_p50_and_says_where_there_is_no_direct_baseline():
    cells = [{**DOC["cells"][0], "added_p50_ms": 201.5}, {**DOC["cells"][1], "added_p50_ms": None}]
    lines = render_table({**DOC, "cells": cells}).splitlines()
    assert "added p50" in lines[1]
    assert "+201.5" in lines[2]
    assert any("'-' where the run has none" in line for line in lines)


def test_scaled_hop_options_are_shown_real_and_scaled():
    scaled_cell = {
        **DOC["cells"][0],
        "spec": {
            "hops": [
                {
                    "options": {"idle_timeout_ms": "60000"},
                    "options_scaled": {"idle_timeout_ms": "2000"},
                }
            ]
        },
    }
    lines = render_table({**DOC, "cells": [scaled_cell]}).splitlines()
    assert "scaled: idle_timeout_ms 60000 -> 2000 (real-world -> this run)" in lines


def test_interrupted_run_says_so():
    lines = render_table({**DOC, "interrupted": True}).splitlines()
    assert "run interrupted: only the cells above were measured" in lines


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such results file"),
        ("{not json", "not a results document"),
        ('{"schema_version": 2}', "schema_version 2, this gauntlet reads 1"),
    ],
)
def test_load_results_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "results.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(GauntletError) as err:
        load_results(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_load_results_round_trip(tmp_path):
    from pathlib import Path

    from gauntlet.results import build_document

    full = build_document(
        run_id="r1",
        matrix="smoke",
        time_scale=30,
        interrupted=False,
        repo=Path("."),
        cells=DOC["cells"],
    ).to_json()
    path = tmp_path / "results.json"
    path.write_text(json.dumps(full))
    assert load_results(path) == full


def test_latencies_are_first_receipts_minus_sends_sorted():
    assert latencies_ms(cell("sse", "d", "PASS", "PASS", p=(5.0, 5.0))) == [5.0, 5.0, 5.0]
    assert latencies_ms(DOC["cells"][1]) == []


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (4, (1, 4)), (5, (2, 4)), (12, (3, 4))])
def test_grid_shape(n, shape):
    assert grid_shape(n) == shape


def test_plots_are_real_pngs(tmp_path):
    paths = write_plots(DOC, tmp_path)
    assert [p.name for p in paths] == ["latency.png", "timeline.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = matplotlib.image.imread(p)
        assert image.shape[0] > 200 and image.shape[1] > 200


def test_grid_puts_transports_in_rows_and_intermediary_protocols_in_columns():
    from gauntlet.report.html import grid

    h2 = {**DOC["cells"][0], "id": "sse-direct-h2", "protocol": "h2"}
    rows, cols, cells = grid({**DOC, "cells": [*DOC["cells"], h2]})
    assert rows == ["sse", "websocket", "long_poll"]
    assert cols == ["direct", "store_and_forward", "x", "direct (h2)"]
    assert cells[("sse", "direct (h2)")]["id"] == "sse-direct-h2"


def test_html_report_has_one_grid_cell_per_scenario_cell_and_outlines_mismatches(tmp_path):
    from gauntlet.report import write_report

    written = write_report(DOC, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert page.count('data-cell="') == len(DOC["cells"])
    assert page.count('class="cell mismatch"') == 1
    assert page.count("data:image/png;base64,") == 3
    assert {p.name for p in written} >= {"report.html", "summary.md", "overhead.png"}
    summary = (tmp_path / "summary.md").read_text()
    assert "| websocket | DEGRADED (expected PASS) |" in summary
    assert "\n4 cells: 1 PASS, 1 DEGRADED, 1 FAIL, 1 ERROR.\n" in summary


def test_overhead_is_requests_and_bytes_per_delivered_event():
    from gauntlet.report.plots import overhead

    assert overhead({"metrics": {"delivered": 4, "requests": 2, "bytes_received": 400}}) == (
        0.5,
        100.0,
    )
    assert overhead({"metrics": {"delivered": 0}}) is None and overhead({"metrics": None}) is None


def test_an_external_hop_warning_and_skipped_cells_are_shown_and_never_a_mismatch():
    from gauntlet.report.compare import Thresholds, compare

    warned = {
        **DOC["cells"][0],
        "hops": [{"index": 1, "external": True, "warning": "external hop at time scale 1/30: ..."}],
    }
    skipped = {
        **cell("sse", "nginx:tuned", "SKIPPED", "PASS"),
        "metrics": None,
        "reason": "hop nginx:tuned: nginx not installed: apt-get install nginx",
    }
    doc = {**DOC, "cells": [warned, skipped]}
    lines = render_table(doc).splitlines()
    assert "warning: external hop at time scale 1/30: ... (e.g. sse-direct)" in lines
    row = next(line for line in lines if "nginx:tuned" in line)
    assert not row.startswith("!") and "apt-get install nginx" in row
    assert any("1 SKIPPED; 0 mismatch(es)" in line for line in lines)
    passed = {**skipped, "verdict": "PASS"}
    result = compare({**DOC, "cells": [skipped]}, {**DOC, "cells": [passed]}, Thresholds())
    assert result.regressions == []
    back = compare({**DOC, "cells": [passed]}, {**DOC, "cells": [skipped]}, Thresholds())
    assert back.regressions == [] and back.changes


HOSTILE = '<script>alert("x")</script>'


def test_every_text_from_the_document_is_escaped_in_the_html(tmp_path):
    """A results document may come from another machine: its strings are text, never markup."""
    from gauntlet.report import write_report

    evil = {
        **DOC["cells"][2],
        "id": f"ws-{HOSTILE}",
        "reason": f"reason {HOSTILE}",
        "transport": f"t{HOSTILE}",
        "intermediary": f"i{HOSTILE}",
        "expected_reason": HOSTILE,
    }
    doc = {
        **DOC,
        "run_id": f"r{HOSTILE}",
        "matrix": HOSTILE,
        "cells": [*DOC["cells"], evil],
        "fidelity": {
            "rows": [
                {
                    "device": HOSTILE,
                    "preset": "p",
                    "emulation": "e~x",
                    "workload": "w",
                    "transport": "sse",
                    "status": "differ",
                    "differs": [HOSTILE],
                }
            ],
            "summary": {"differ": 1},
            "command": HOSTILE,
        },
    }
    comparison = {"old_run": HOSTILE, "summary": HOSTILE, "warnings": [HOSTILE]}
    write_report(doc, tmp_path, comparison)
    page = (tmp_path / "report.html").read_text()
    assert "<script" not in page
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
    assert page.count(escaped) >= 10  # title, grid, tooltip, scorecard, fidelity, comparison
    assert f'data-cell="ws-{escaped}"' in page
    assert f"<title>Gauntlet r{escaped}</title>" in page


def stream_cell(cell_id, end_marker, per_read):
    return {
        "id": cell_id,
        "transport": "llm_stream",
        "intermediary": "size_buffer",
        "verdict": "FAIL" if not end_marker else "DEGRADED",
        "expected_verdict": None,
        "reason": "r",
        "samples": [],
        "metrics": {"sent": 40, "delivered": 40},
        "stream_metrics": {
            "tokens_sent": 40,
            "tokens_received": 31 if not end_marker else 40,
            "end_marker": end_marker,
            "complete": end_marker,
            "time_to_first_token_ms": 812.25,
            "time_to_end_ms": None if not end_marker else 900.0,
            "answer_duration_ms": 880.0,
            "gap_p50_ms": 0.1,
            "gap_p99_ms": 640.0,
            "max_tokens_per_read": per_read,
            "max_lump_tokens": 21,
            "typical_lump_tokens": 20,
            "resumptions": 1,
        },
    }


def test_token_stream_cells_get_their_table_in_html_and_summary(tmp_path):
    from gauntlet.report import write_report
    from gauntlet.report.streams import HEADER, rows

    doc = {
        **DOC,
        "cells": [
            *DOC["cells"],
            stream_cell("llm-cut", False, None),
            stream_cell("llm-whole", True, 19),
        ],
    }
    assert rows(doc) == [
        (
            "llm-cut",
            "FAIL",
            "31/40",
            "missing: truncated",
            "812.2",
            "-",
            "880.0",
            "0.1",
            "640.0",
            "-",
            "21",
            "20",
            "1",
        ),
        (
            "llm-whole",
            "DEGRADED",
            "40/40",
            "seen",
            "812.2",
            "900.0",
            "880.0",
            "0.1",
            "640.0",
            "19",
            "21",
            "20",
            "1",
        ),
    ]
    write_report(doc, tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert 'id="token-streams"' in page
    assert "".join(f"<th>{h}</th>" for h in HEADER) in page
    assert '<tr class="truncated"><td>llm-cut</td><td>FAIL</td><td>31/40</td>' in page
    summary = (tmp_path / "summary.md").read_text()
    assert "| llm-whole | DEGRADED | 40/40 | seen | 812.2 | 900.0 |" in summary


def test_a_run_without_token_streams_has_no_stream_table(tmp_path):
    from gauntlet.report import write_report

    write_report(DOC, tmp_path)
    assert "token-streams" not in (tmp_path / "report.html").read_text()
    assert "Token streams" not in (tmp_path / "summary.md").read_text()


def test_plots_are_shown_by_name_under_their_heading(tmp_path):
    from gauntlet.report import write_report

    write_report(DOC, tmp_path)
    page = (tmp_path / "report.html").read_text()
    for heading, name in (
        ("Latency", "latency"),
        ("Send vs receive time", "timeline"),
        ("Cost per delivered event", "overhead"),
    ):
        assert f'<h2>{heading}</h2><img alt="{name}" src="data:image/png;base64,' in page
