"""The comparison with the previous run, as the report and the summary show it."""

from __future__ import annotations

from gauntlet.report.comparison_view import comparison_html, comparison_markdown
from gauntlet.report.html import render_markdown, write_report

COMPARISON = {
    "old_run": "last-night",
    "summary": "1 regression(s), 1 other change(s)",
    "regressions": [
        {
            "cell": "smoke:sse-transparent",
            "text": "latency +20.3 ms [19.8, 20.9] "
            "(Hodges-Lehmann shift, Mann-Whitney p=1e-06, n=15/15; counts from 10.0 ms)",
        }
    ],
    "changes": [{"cell": "smoke:sse-direct", "text": "verdict FAIL -> PASS"}],
    "warnings": ["dependencies differ (mitmproxy): numbers may not compare <here>"],
}
DOC = {"run_id": "tonight", "matrix": "smoke", "time_scale": 30, "cells": []}


def test_markdown_names_the_old_run_the_summary_and_every_finding():
    assert comparison_markdown(None) == []
    assert comparison_markdown(COMPARISON) == [
        "## Compared with last-night",
        "",
        "**1 regression(s), 1 other change(s)**",
        "",
        "| | finding |",
        "|---|---|",
        "| REGRESSION | smoke:sse-transparent: latency +20.3 ms [19.8, 20.9] (Hodges-Lehmann "
        "shift, Mann-Whitney p=1e-06, n=15/15; counts from 10.0 ms) |",
        "| changed | smoke:sse-direct: verdict FAIL -> PASS |",
        "| warning | dependencies differ (mitmproxy): numbers may not compare <here> |",
        "",
    ]


def test_a_clean_comparison_has_no_table():
    clean = {"old_run": "a", "summary": "no regression, 0 other change(s)"}
    assert comparison_markdown(clean) == [
        "## Compared with a",
        "",
        "**no regression, 0 other change(s)**",
        "",
    ]
    assert 'class="comparison clean"' in comparison_html(clean)


def test_html_escapes_and_marks_a_regressed_comparison():
    assert comparison_html(None) == ""
    page = comparison_html(COMPARISON)
    assert page.startswith(
        '<div class="comparison regressed" id="comparison"><h2>Compared with last-night</h2>'
    )
    assert page.count('<tr class="regression"><th>REGRESSION</th>') == 1
    assert page.count('<tr class="changed">') == 1 and page.count('<tr class="warning">') == 1
    assert "&lt;here&gt;" in page and "<here>" not in page


def test_report_and_summary_carry_the_comparison(tmp_path):
    assert "## Compared with last-night" in render_markdown(DOC, COMPARISON)
    assert "Compared with" not in render_markdown(DOC)
    write_report(DOC, tmp_path, COMPARISON)
    assert 'id="comparison"' in (tmp_path / "report.html").read_text()
    assert "## Compared with last-night" in (tmp_path / "summary.md").read_text()
