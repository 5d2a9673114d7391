"""The scorecard as the user reads it: the exact text, Markdown and HTML of one run (the run
of tests/unit/test_scorecard.py: sse fails behind three buffering paths, sse_close_each and
long_poll survive all four), and what each says when nothing crossed an intermediary."""

from __future__ import annotations

from gauntlet.report.scorecard import render_html, render_markdown, render_text
from tests.unit.test_scorecard import cell, doc, run_a

# ruff: noqa: E501

TEXT = [
    "",
    "Scorecard of reference server (per transport; a path is an intermediary other than direct):",
    "transport       paths survived  chains survived  PASS  DEGRADED  FAIL  ERROR  worst p95 ms  added p50 ms  requests/event  bytes/event  defeated by",
    "sse_close_each             4/4              1/1     5         0     0      0          12.0           0.0            1.00          100  -",
    "long_poll                  4/4              1/1     5         0     0      0          40.0           1.5            1.20          100  -",
    "sse                        1/4              0/1     2         0     3      0           5.0           0.5            0.10          100  store_and_forward, size_buffer, corporate_chain",
    "",
    "Recommendation:",
    "  sse_close_each and long_poll survived every path (all 4 measured).",
    "  sse failed 3 of 4: store_and_forward, size_buffer, corporate_chain.",
    "  Ship sse_close_each: it survived every path (4, the most of the survivors; ties go to fewer DEGRADED cells, then fewer requests per event, then a lower worst p95); 1.00 requests and 100 bytes per delivered event, worst p95 12 ms.",
]

MARKDOWN = [
    "## Scorecard",
    "",
    "Of reference server.",
    "",
    "| transport | paths survived | chains survived | PASS | DEGRADED | FAIL | ERROR | worst p95 ms | added p50 ms | requests/event | bytes/event | defeated by |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    "| sse_close_each | 4/4 | 1/1 | 5 | 0 | 0 | 0 | 12.0 | 0.0 | 1.00 | 100 | - |",
    "| long_poll | 4/4 | 1/1 | 5 | 0 | 0 | 0 | 40.0 | 1.5 | 1.20 | 100 | - |",
    "| sse | 1/4 | 0/1 | 2 | 0 | 3 | 0 | 5.0 | 0.5 | 0.10 | 100 | store_and_forward, size_buffer, corporate_chain |",
    "",
    "**Recommendation.** sse_close_each and long_poll survived every path (all 4 measured). sse failed 3 of 4: store_and_forward, size_buffer, corporate_chain. Ship sse_close_each: it survived every path (4, the most of the survivors; ties go to fewer DEGRADED cells, then fewer requests per event, then a lower worst p95); 1.00 requests and 100 bytes per delivered event, worst p95 12 ms.",
    "",
]

HTML = (
    '<h2>Scorecard</h2><p>Of reference server.</p><table class="scorecard" id="scorec'
    'ard"><tr><th>transport</th><th>paths survived</th><th>chains survived</th><th>PA'
    "SS</th><th>DEGRADED</th><th>FAIL</th><th>ERROR</th><th>worst p95 ms</th><th>adde"
    "d p50 ms</th><th>requests/event</th><th>bytes/event</th><th>defeated by</th></tr"
    "><tr><td>sse_close_each</td><td>4/4</td><td>1/1</td><td>5</td><td>0</td><td>0</t"
    "d><td>0</td><td>12.0</td><td>0.0</td><td>1.00</td><td>100</td><td>-</td></tr><tr"
    "><td>long_poll</td><td>4/4</td><td>1/1</td><td>5</td><td>0</td><td>0</td><td>0</"
    "td><td>40.0</td><td>1.5</td><td>1.20</td><td>100</td><td>-</td></tr><tr><td>sse<"
    "/td><td>1/4</td><td>0/1</td><td>2</td><td>0</td><td>3</td><td>0</td><td>5.0</td>"
    "<td>0.5</td><td>0.10</td><td>100</td><td>store_and_forward, size_buffer, corpora"
    'te_chain</td></tr></table><h3>Recommendation</h3><ul class="recommendation"><li>'
    "sse_close_each and long_poll survived every path (all 4 measured).</li><li>sse f"
    "ailed 3 of 4: store_and_forward, size_buffer, corporate_chain.</li><li>Ship sse_"
    "close_each: it survived every path (4, the most of the survivors; ties go to few"
    "er DEGRADED cells, then fewer requests per event, then a lower worst p95); 1.00 "
    "requests and 100 bytes per delivered event, worst p95 12 ms.</li></ul>"
)


def test_the_text_scorecard_aligns_its_columns_and_ends_with_the_recommendation():
    assert render_text(run_a()) == TEXT


def test_the_markdown_scorecard_is_a_table_then_the_recommendation():
    assert render_markdown(run_a()) == MARKDOWN


def test_the_html_scorecard_is_a_table_then_the_recommendation_list():
    assert render_html(run_a()) == HTML


def test_a_run_without_cells_has_no_scorecard():
    assert (
        render_text(doc([])) == [] and render_markdown(doc([])) == [] and render_html(doc([])) == ""
    )


def own_endpoint(transport, intermediary, verdict, **kw):
    """A cell of a team's own endpoint that sends no send time: delivered, latency unknown."""
    c = cell(transport, intermediary, verdict, **kw)
    c["target"] = "http://127.0.0.1:8000/events"
    if c["metrics"]["delivered"]:
        c["metrics"]["latency_ms"] = {"p50": None, "p95": None}
        c["latency"] = "not measured (endpoint sends no send time)"
    return c


def run_without_send_times():
    return doc(
        [
            own_endpoint("sse", "direct", "PASS"),
            own_endpoint("sse", "transparent", "PASS"),
            own_endpoint("ws", "direct", "PASS", delivered=0),
            own_endpoint("ws", "transparent", "FAIL", delivered=0),
        ]
    )


def test_unmeasured_latency_and_absent_figures_are_told_apart_in_the_text():
    """'not measured': delivered, but the endpoint sends no send time; '-': no figure at all
    (nothing delivered, or no direct cell to add latency to). Short transport names set the
    first column's width."""
    assert render_text(run_without_send_times()) == [
        "",
        "Scorecard of http://127.0.0.1:8000/events (per transport; a path is an intermediary other than direct):",
        "transport  paths survived  chains survived  PASS  DEGRADED  FAIL  ERROR  worst p95 ms  added p50 ms  requests/event  bytes/event  defeated by",
        "sse                   1/1              0/0     2         0     0      0  not measured             -            0.10          100  -",
        "ws                    0/1              0/0     1         0     1      0             -             -               -            -  transparent",
        "latency: not measured (endpoint sends no send time) in 2 of 4 cells",
        "",
        "Recommendation:",
        "  sse survived every path (1 measured).",
        "  ws failed 1 of 1: transparent.",
        "  Ship sse: it survived every path; 0.10 requests and 100 bytes per delivered event, latency not measured.",
        "  Latency not measured for sse (the endpoint sends no send time): ranked on delivery and cost only.",
    ]


def test_the_markdown_sets_the_latency_note_apart_as_its_own_paragraph():
    assert render_markdown(run_without_send_times()) == [
        "## Scorecard",
        "",
        "Of http://127.0.0.1:8000/events.",
        "",
        "| transport | paths survived | chains survived | PASS | DEGRADED | FAIL | ERROR | worst p95 ms | added p50 ms | requests/event | bytes/event | defeated by |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        "| sse | 1/1 | 0/0 | 2 | 0 | 0 | 0 | not measured | - | 0.10 | 100 | - |",
        "| ws | 0/1 | 0/0 | 1 | 0 | 1 | 0 | - | - | - | - | transparent |",
        "",
        "latency: not measured (endpoint sends no send time) in 2 of 4 cells",
        "",
        "**Recommendation.** sse survived every path (1 measured). ws failed 1 of 1: transparent. Ship sse: it survived every path; 0.10 requests and 100 bytes per delivered event, latency not measured. Latency not measured for sse (the endpoint sends no send time): ranked on delivery and cost only.",
        "",
    ]
