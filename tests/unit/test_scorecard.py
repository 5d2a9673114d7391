"""The scorecard and its recommendation come from the results document, nothing else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gauntlet.report import render_markdown, render_table
from gauntlet.report.scorecard import build, render_html

CHAIN = "corporate_chain"


def cell(
    transport,
    intermediary,
    verdict,
    *,
    p50=2.0,
    p95=5.0,
    delivered=10,
    requests=1,
    bytes_received=1000,
    protocol="h1",
    matrix="m",
):
    hops = (
        []
        if intermediary == "direct"
        else [{"behaviours": ["a"]}, {"behaviours": ["b"]}]
        if intermediary == CHAIN
        else [{"behaviours": [intermediary]}]
    )
    return {
        "id": f"{matrix}:{transport}-{intermediary}-{protocol}",
        "transport": transport,
        "intermediary": intermediary,
        "protocol": protocol,
        "verdict": verdict,
        "expected_verdict": None,
        "reason": "r",
        "metrics": {
            "sent": 10,
            "delivered": delivered,
            "requests": requests,
            "bytes_received": bytes_received,
            "latency_ms": {"p50": p50 if delivered else None, "p95": p95 if delivered else None},
        },
        "spec": {"matrix": matrix, "hops": hops},
    }


def doc(cells):
    return {
        "schema_version": 1,
        "run_id": "r",
        "matrix": "m",
        "time_scale": 30,
        "interrupted": False,
        "cells": cells,
    }


def run_a():
    return doc(
        [
            cell("sse", "direct", "PASS", p50=1.0),
            cell("sse", "store_and_forward", "FAIL", delivered=0),
            cell("sse", "size_buffer", "FAIL", delivered=0),
            cell("sse", "transparent", "PASS", p50=1.5),
            cell("sse", CHAIN, "FAIL", delivered=0),
            cell("long_poll", "direct", "PASS", p50=2.0, requests=12),
            cell("long_poll", "store_and_forward", "PASS", p50=3.0, requests=12),
            cell("long_poll", "size_buffer", "PASS", p50=4.0, requests=12, p95=40.0),
            cell("long_poll", "transparent", "PASS", p50=2.5, requests=12),
            cell("long_poll", CHAIN, "PASS", p50=5.0, requests=12),
            cell("sse_close_each", "direct", "PASS", requests=10),
            cell("sse_close_each", "store_and_forward", "PASS", requests=10),
            cell("sse_close_each", "size_buffer", "PASS", requests=10, p95=12.0),
            cell("sse_close_each", "transparent", "PASS", requests=10),
            cell("sse_close_each", CHAIN, "PASS", requests=10),
        ]
    )


def test_counts_paths_chains_and_names_what_defeats_each_transport():
    card = build(run_a())
    sse = next(s for s in card.scores if s.transport == "sse")
    assert (sse.paths, sse.chains, sse.survived, sse.chains_defeated) == (4, 1, 1, 1)
    assert sse.defeated_by == ("store_and_forward", "size_buffer", CHAIN)
    assert sse.counts == {"PASS": 2, "DEGRADED": 0, "FAIL": 3, "ERROR": 0}
    lp = next(s for s in card.scores if s.transport == "long_poll")
    assert lp.worst_p95_ms == 40.0 and lp.worst_p95_cell == "m:long_poll-size_buffer-h1"
    assert lp.added_p50_ms == 1.5  # median of 1.0, 2.0, 0.5, 3.0 over direct's 2.0
    assert lp.requests_per_event == 1.2 and lp.bytes_per_event == 100.0
    assert sse.requests_per_event == 0.1  # only the cells that delivered count


def test_recommendation_is_computed_and_states_its_evidence():
    card = build(run_a())
    assert [s.transport for s in card.scores] == ["sse_close_each", "long_poll", "sse"]
    text = " ".join(card.recommendation)
    assert "sse_close_each and long_poll survived every path (all 4 measured)." in text
    assert f"sse failed 3 of 4: store_and_forward, size_buffer, {CHAIN}." in text
    assert text.count("Ship sse_close_each") == 1 and "0.10 requests" not in text
    assert "1.00 requests and 100 bytes per delivered event, worst p95 12 ms" in text


def test_changing_the_results_changes_the_recommendation():
    cells = run_a()["cells"]
    worse = [
        dict(c, verdict="FAIL")
        if c["transport"] == "sse_close_each" and c["intermediary"] == "size_buffer"
        else c
        for c in cells
    ]
    text = " ".join(build(doc(worse)).recommendation)
    assert "long_poll survived every path (4 measured)." in text
    assert "sse_close_each failed 1 of 4: size_buffer" in text
    assert "Ship long_poll" in text


def test_more_evidence_ranks_first_among_survivors():
    cells = [c for c in run_a()["cells"] if c["transport"] != "sse"]
    cells = [
        c
        for c in cells
        if c["transport"] == "long_poll" or c["intermediary"] in ("direct", "transparent")
    ]  # sse_close_each now crossed one path only
    text = " ".join(build(doc(cells)).recommendation)
    assert "long_poll (4) and sse_close_each (1) survived every path they crossed" in text
    assert "Ship long_poll: it survived every path (4, the most of the survivors" in text


def test_no_survivor_recommends_the_fewest_defeats_with_care():
    cells = [c for c in run_a()["cells"] if c["transport"] == "sse"]
    text = " ".join(build(doc(cells)).recommendation)
    assert "Only sse was measured: run more transports" in text and "Ship" not in text
    two = cells + [
        cell("websocket", "store_and_forward", "FAIL", delivered=0),
        cell("websocket", "size_buffer", "PASS", requests=1),
    ]
    text = " ".join(build(doc(two)).recommendation)
    assert (
        "No transport survived every path; websocket lost the fewest (1 of 2): "
        "0.10 requests and 100 bytes per delivered event, worst p95 5 ms." in text
    )
    assert "Ship" not in text


def test_partial_failures_name_the_variant_that_failed():
    cells = [
        cell("sse", "idle_timeout", "PASS", matrix="smoke"),
        cell("sse", "idle_timeout", "FAIL", matrix="quiet", delivered=3),
        cell("sse", "idle_timeout", "FAIL", matrix="smoke", protocol="h2", delivered=3),
    ]
    assert build(doc(cells)).scores[0].defeated_by == ("idle_timeout (quiet, smoke h2)",)


def test_errors_are_not_evidence_and_absent_latency_is_said():
    cells = [cell("sse", "x", "ERROR", delivered=0), cell("sse", "y", "PASS", p50=None, p95=None)]
    cells[1]["metrics"]["latency_ms"] = {"p50": None, "p95": None}
    card = build(doc(cells))
    assert card.scores[0].defeated_by == () and card.scores[0].counts["ERROR"] == 1
    assert card.scores[0].paths == 1  # x was never measured
    text = " ".join(card.recommendation)
    assert "Not measured (ERROR cells, no evidence either way): sse 1." in text
    assert "Latency not measured for sse" in text and "latency not measured" in text


def test_shown_in_table_markdown_and_html():
    d = run_a()
    table = render_table(d)
    assert "Scorecard" in table and "Recommendation:" in table
    row = next(line for line in table.splitlines() if line.startswith("sse "))
    assert "1/4" in row and "0/1" in row and "store_and_forward, size_buffer" in row
    md = render_markdown(d)
    assert "## Scorecard" in md and "| sse | 1/4 | 0/1 |" in md
    assert 'id="scorecard"' in render_html(d) and "Ship sse_close_each" in render_html(d)


verdicts = st.sampled_from(["PASS", "DEGRADED", "FAIL", "ERROR"])


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["sse", "long_poll", "websocket"]),
            st.sampled_from(["direct", "p1", "p2", "p3", CHAIN]),
            verdicts,
        ),
        min_size=1,
        max_size=30,
    )
)
def test_defeats_are_exactly_the_paths_with_a_failed_cell(spec):
    cells = [cell(t, i, v, delivered=0 if v == "FAIL" else 10) for t, i, v in spec]
    card = build(doc(cells))
    for s in card.scores:
        mine = [c for c in cells if c["transport"] == s.transport]
        paths = {c["intermediary"] for c in mine if c["verdict"] != "ERROR"} - {"direct"}
        failed = {c["intermediary"] for c in mine if c["verdict"] == "FAIL"} - {"direct"}
        assert s.paths == len(paths) and {d.split(" (")[0] for d in s.defeated_by} == failed
        assert sum(s.counts.values()) == len(mine)
        if s.paths and not failed:
            assert s.transport in " ".join(card.recommendation).split(" survived every path")[0]
    ranked = [(len(s.defeated_by), -s.survived, s.counts["DEGRADED"]) for s in card.scores]
    assert ranked == sorted(ranked)


def test_the_scorecard_names_what_was_measured():
    d = run_a()
    assert "Scorecard of reference server" in render_table(d)
    d["cells"] = [dict(c, target="target http://127.0.0.1:8000") for c in d["cells"]]
    assert "Scorecard of target http://127.0.0.1:8000 (per transport" in render_table(d)
    assert "Of target http://127.0.0.1:8000." in render_markdown(d)


def test_cells_without_send_time_are_counted_in_a_latency_line():
    d = run_a()
    d["cells"][0]["latency"] = "not measured (endpoint sends no send time)"
    line = "latency: not measured (endpoint sends no send time) in 1 of 15 cells"
    assert line in render_table(d).splitlines() and line in render_markdown(d)
    assert line in render_html(d)
    assert "latency: not measured" not in render_table(run_a())


def test_a_transport_that_delivered_nothing_ranks_after_one_that_did_when_all_else_ties():
    """A direct-only run: no path, no defeat, no DEGRADED cell; long_poll delivered nothing,
    so it has no cost per event, which ranks as the worst cost, not as a crash or the best."""
    card = build(
        doc([cell("long_poll", "direct", "FAIL", delivered=0), cell("sse", "direct", "PASS")])
    )
    assert [s.transport for s in card.scores] == ["sse", "long_poll"]
    assert [s.requests_per_event for s in card.scores] == [0.1, None]
