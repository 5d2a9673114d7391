"""The scorecard's sentences at their edges: one transport measured, ties, ERROR cells, no
send times, long defeat lists, partial failures named by workload and protocol."""

from __future__ import annotations

from gauntlet.report.scorecard import build, latency_note, subject
from tests.unit.test_scorecard import CHAIN, cell, doc


def advice(*cells) -> tuple[str, ...]:
    return build(doc(list(cells))).recommendation


def test_nothing_crossed_an_intermediary_so_nothing_is_recommended():
    assert advice(cell("sse", "direct", "PASS")) == (
        "No recommendation: no transport crossed an intermediary in this run.",
    )


def test_the_only_transport_measured_says_so_whether_it_survived_or_not():
    assert advice(cell("sse", "direct", "PASS"), cell("sse", "transparent", "PASS"))[-1] == (
        "Ship sse: it survived every path (the only transport measured); 0.10 requests and 100 "
        "bytes per delivered event, worst p95 5 ms."
    )
    assert advice(cell("sse", "size_buffer", "FAIL", delivered=0))[-1] == (
        "Only sse was measured: run more transports (e.g. --matrix smoke) to choose between them."
    )


def test_a_single_survivor_is_shipped_without_the_tie_break_sentence():
    out = advice(cell("sse", "size_buffer", "FAIL", delivered=0), cell("ws", "size_buffer", "PASS"))
    assert out == (
        "ws survived every path (1 measured).",
        "sse failed 1 of 1: size_buffer.",
        "Ship ws: it survived every path; 0.10 requests and 100 bytes per delivered "
        "event, worst p95 5 ms.",
    )


def test_three_names_are_listed_with_commas_and_a_final_and():
    out = advice(*(cell(t, "transparent", "PASS") for t in ("a", "b", "c")))
    assert out[0] == "a, b and c survived every path (all 1 measured)."


def test_error_cells_are_counted_per_transport_and_never_count_as_evidence():
    out = advice(
        cell("a", "transparent", "PASS"),
        cell("a", "x", "ERROR"),
        cell("b", "transparent", "PASS"),
        cell("b", "x", "ERROR"),
        cell("b", "y", "ERROR"),
    )
    assert out[-1] == "Not measured (ERROR cells, no evidence either way): a 1, b 2."


def test_transports_without_send_times_are_named_and_ranked_on_delivery_and_cost():
    def no_latency(transport, verdict="PASS", delivered=10):
        c = cell(transport, "transparent", verdict, delivered=delivered)
        c["metrics"]["latency_ms"] = {"p50": None, "p95": None}
        return c

    out = advice(no_latency("a"), no_latency("b"), no_latency("c", "FAIL", delivered=0))
    assert out[-1] == (
        "Latency not measured for a and b (the endpoint sends no send time): "
        "ranked on delivery and cost only."
    )
    assert "latency not measured." in out[-2]  # the cost of the shipped transport


def test_five_defeats_are_listed_whole_and_a_sixth_adds_an_ellipsis():
    five = [cell("sse", f"p{i}", "FAIL", delivered=0) for i in range(5)]
    assert advice(*five)[0] == "sse failed 5 of 5: p0, p1, p2, p3, p4."
    six = [*five, cell("sse", "p5", "FAIL", delivered=0)]
    assert advice(*six)[0] == "sse failed 6 of 6: p0, p1, p2, p3, p4 ...."


def test_a_path_that_failed_only_in_some_cells_names_their_workload_and_protocol():
    card = build(
        doc(
            [
                cell("sse", "size_buffer", "PASS", matrix="m1"),
                cell("sse", "size_buffer", "FAIL", matrix="m2", protocol="h2"),
                cell("sse", "gzip", "PASS", matrix="m1"),
                cell("sse", "gzip", "FAIL", matrix="m2"),
            ]
        )
    )
    assert card.scores[0].defeated_by == ("size_buffer (m2 h2)", "gzip (m2)")


def test_a_cell_without_a_protocol_field_is_h1_for_the_added_latency():
    hop = cell("sse", "transparent", "PASS", p50=4.0)
    del hop["protocol"]
    score = build(doc([cell("sse", "direct", "PASS", p50=1.0), hop])).scores[0]
    assert score.added_p50_ms == 3.0


def test_chains_are_paths_whose_hops_are_not_the_one_behaviour_they_are_named_after():
    bare = cell("sse", "x", "PASS")
    del bare["spec"]  # no spec: a single behaviour
    twice = cell("sse", "x2", "PASS")
    twice["spec"]["hops"] = [{"behaviours": ["x2"]}, {"behaviours": ["x2"]}]
    score = build(doc([bare, twice, cell("sse", CHAIN, "PASS")])).scores[0]
    assert (score.paths, score.chains) == (3, 2)


def test_cost_counts_every_delivering_cell_and_missing_figures_as_zero():
    one = cell("sse", "transparent", "PASS", delivered=1, requests=None, bytes_received=None)
    score = build(doc([one, cell("sse", "gzip", "PASS", delivered=9, requests=3)])).scores[0]
    assert score.requests_per_event == 0.3 and score.bytes_per_event == 100


def test_ties_rank_by_requests_then_worst_p95_with_unknowns_last():
    card = build(
        doc(
            [
                cell("a", "t", "PASS", requests=5),
                cell("b", "t", "PASS", requests=1),
                cell("c", "t", "PASS", p95=9.0),
                cell("d", "t", "PASS", p95=2.0),
            ]
        )
    )
    assert [s.transport for s in card.scores] == ["d", "b", "c", "a"]  # b, c, d: 0.1 each
    unknown = cell("e", "t", "PASS", p95=1.0)
    unknown["metrics"]["latency_ms"]["p95"] = None
    card = build(doc([unknown, cell("f", "t", "PASS", p95=300.0)]))
    assert [s.transport for s in card.scores] == ["f", "e"]


def test_the_subject_names_every_target_and_the_note_every_reason():
    cells = [
        {**cell("sse", "direct", "PASS"), "target": "https://b.test"},
        {**cell("ws", "direct", "PASS"), "target": "https://a.test", "latency": "no send"},
        {**cell("lp", "direct", "PASS"), "latency": "clock"},
    ]
    assert subject(doc(cells)) == "https://a.test, https://b.test, reference server"
    assert latency_note(doc(cells)) == "latency: clock; no send in 2 of 3 cells"


def bare(transport, intermediary, verdict, **kw):
    """A cell from results written before `spec` and `protocol` were recorded."""
    c = cell(transport, intermediary, verdict, **kw)
    del c["spec"], c["protocol"]
    return c


def test_without_spec_or_protocol_a_partial_failure_is_named_by_its_path_alone():
    card = build(doc([bare("sse", "x", "PASS"), bare("sse", "x", "FAIL", delivered=0)]))
    assert card.scores[0].defeated_by == ("x",)


def test_without_spec_the_direct_cell_of_the_same_transport_is_still_the_baseline():
    card = build(doc([bare("sse", "direct", "PASS", p50=1.0), bare("sse", "x", "PASS", p50=3.5)]))
    assert card.scores[0].added_p50_ms == 2.5


def test_added_latency_is_against_the_direct_cell_of_the_same_protocol():
    card = build(
        doc(
            [
                cell("sse", "direct", "PASS", p50=1.0),
                cell("sse", "direct", "PASS", p50=2.0, protocol="h2"),
                cell("sse", "x", "PASS", p50=6.0, protocol="h2"),
            ]
        )
    )
    assert card.scores[0].added_p50_ms == 4.0


def test_when_every_transport_lost_a_path_the_least_defeated_is_named_with_its_cost():
    out = advice(cell("a", "p", "FAIL", delivered=0), cell("b", "p", "FAIL", delivered=0))
    assert out == (
        "a failed 1 of 1: p; b failed 1 of 1: p.",
        "No transport survived every path; a lost the fewest (1 of 1): nothing delivered.",
    )
