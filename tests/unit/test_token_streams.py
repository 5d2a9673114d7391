"""Token streams, pure parts: stream metrics, the truncated/batched verdict rules, the
OpenAI-style chunks, the anti-buffering headers and the matrix's `headers` dimension."""

from __future__ import annotations

import json

import pytest

from gauntlet.clients.llm import event_id_of
from gauntlet.eventlog import EndOfAnswer, EventLog, Published, Received, Request
from gauntlet.metrics import compute
from gauntlet.metrics_stream import LUMP_NS
from gauntlet.metrics_stream import compute as stream_compute
from gauntlet.scenario import load_matrix
from gauntlet.server.llm import END, token_chunk, token_text
from gauntlet.server.optout import sse_headers
from gauntlet.server.publisher import PushEvent
from gauntlet.sse import SSEParser
from gauntlet.verdict import Budget, Verdict, judge
from tests.matrices import MINI
from tests.unit.test_scenario import write

MS = 1_000_000


def answer(
    arrivals_ms: list[float],
    reads: list[int] | None = None,
    *,
    sent: int | None = None,
    end: bool = True,
    every_ms: float = 20,
) -> EventLog:
    """A request at 0, token i published at (i+1)*every_ms, received at arrivals_ms[i]."""
    log = EventLog()
    log.append(Request(0, 1, "POST /v1/chat/completions"))
    n = sent if sent is not None else len(arrivals_ms)
    for i in range(n):
        log.append(Published(i + 1, int((i + 1) * every_ms * MS), 10))
    for i, t in enumerate(arrivals_ms):
        log.append(Received(i + 1, int(t * MS), 1, reads[i] if reads else 0))
    if end:
        log.append(EndOfAnswer(int(max(arrivals_ms, default=0) * MS) + 1, 1))
    return log


def test_streamed_tokens_have_first_token_gaps_and_no_batches():
    s = stream_compute(answer([21, 41, 61, 81], reads=[1, 2, 3, 4]))
    assert s.time_to_first_token_ms == 21 and s.answer_duration_ms == 80
    assert s.gap_p50_ms == 20 and s.max_tokens_per_read == 1 and s.max_lump_tokens == 1
    assert s.complete and not s.held_until_end


def test_a_read_carrying_many_tokens_is_a_batch():
    s = stream_compute(answer([50, 50, 50, 90], reads=[1, 1, 1, 2]))
    assert s.max_tokens_per_read == 3 and s.max_batch_tokens == 3


def test_a_quick_series_of_reads_is_a_lump_too():
    t = 100.0
    s = stream_compute(answer([t, t + 0.2, t + 0.4, t + 0.6 + LUMP_NS / MS], reads=[1, 2, 3, 4]))
    assert s.max_tokens_per_read == 1 and s.max_lump_tokens == 3 and s.max_batch_tokens == 3


def test_clients_without_reads_have_no_per_read_figure():
    assert stream_compute(answer([21, 41])).max_tokens_per_read is None


def test_everything_at_the_end_is_held_until_end():
    s = stream_compute(answer([81, 81, 81, 81], reads=[1, 1, 1, 1]))
    assert s.held_until_end and s.time_to_first_token_ms == 81


def test_receipts_after_the_deadline_do_not_count():
    s = stream_compute(answer([21, 41, 500]), deadline_ns=100 * MS)
    assert s.tokens_received == 2 and s.end_marker is False


STREAM_BUDGET = Budget(250, max_batch_tokens=4)


def judged(log: EventLog, budget: Budget = STREAM_BUDGET):
    m = compute(log, t0_ns=0)
    return judge(m, budget, within_s=1, stream=stream_compute(log))


def test_a_cut_answer_is_truncated_fail_with_how_much_arrived():
    j = judged(answer([21, 41], sent=5, end=False))
    assert j.verdict == Verdict.FAIL
    assert j.reason.startswith("truncated answer: 2/5 tokens arrived, no end marker")


def test_all_tokens_but_no_end_marker_is_still_truncated():
    assert judged(answer([21, 41], end=False)).verdict == Verdict.FAIL


def test_mostly_lumps_over_the_budget_are_degraded_batched():
    log = answer([50] * 5 + [90] * 5 + [130], reads=[1] * 5 + [2] * 5 + [3], every_ms=10)
    j = judged(log)
    assert j.verdict == Verdict.DEGRADED
    assert (
        "batched: all 11 tokens delivered in lumps of 5 (typical; budget 4), up to 5 per read"
    ) in j.reason


def test_one_big_lump_among_streamed_tokens_is_a_hiccup_not_batching():
    arrivals = [10.0 * i for i in range(1, 16)] + [200] * 6
    s = stream_compute(answer(arrivals, every_ms=10))
    assert s.max_lump_tokens == 6 and s.typical_lump_tokens == 1
    assert judged(answer(arrivals, every_ms=10)).verdict == Verdict.PASS


def test_held_until_the_end_says_first_token_equals_the_duration():
    j = judged(answer([81, 81, 81, 81], reads=[1, 1, 1, 1]))
    assert j.verdict == Verdict.DEGRADED
    assert "nothing until the answer ended, then all 4 tokens at once" in j.reason
    assert "time to first token 81 ms = the answer's duration 80 ms" in j.reason


def test_an_inter_token_p99_budget_also_catches_batching():
    log = answer([21, 41, 400, 420], reads=[1, 2, 3, 4])
    assert judged(log, Budget(1000, inter_token_p99_ms=100)).verdict == Verdict.DEGRADED
    assert judged(log, Budget(1000, inter_token_p99_ms=400)).verdict == Verdict.PASS


def test_a_streamed_answer_passes_and_says_its_first_token():
    j = judged(answer([21, 41, 61], reads=[1, 2, 3]))
    assert j.verdict == Verdict.PASS and "time to first token 21 ms" in j.reason


def test_without_stream_metrics_judge_is_unchanged():
    log = answer([81, 81, 81, 81], reads=[1, 1, 1, 1])
    assert judge(compute(log, t0_ns=0), Budget(250), within_s=1).verdict == Verdict.PASS


def test_chunks_are_openai_chunks_carrying_the_event_id_and_end_with_done():
    events = SSEParser().feed(token_chunk(PushEvent(7, 0, "")) + END)
    first = json.loads(events[0].data)
    assert first["object"] == "chat.completion.chunk"
    assert first["choices"][0]["delta"]["content"] == token_text(7)
    assert event_id_of(events[0].data) == 7 and event_id_of(events[1].data) is None
    assert json.loads(events[1].data)["choices"][0]["finish_reason"] == "stop"
    assert events[2].data == "[DONE]"


def test_tokens_are_2_to_20_bytes():
    sizes = {len(token_text(i).encode()) for i in range(1, 400)}
    assert min(sizes) == 2 and max(sizes) == 20


@pytest.mark.parametrize(
    ("opt_out", "x_accel", "cache"),
    [
        ("none", False, b"no-cache"),
        ("x_accel", True, b"no-cache"),
        ("no_transform", False, b"no-cache, no-transform"),
        ("both", True, b"no-cache, no-transform"),
    ],
)
def test_opt_out_headers(opt_out, x_accel, cache):
    headers = dict(sse_headers(opt_out))
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert (headers.get(b"x-accel-buffering") == b"no") is x_accel
    assert headers[b"cache-control"] == cache


def test_unknown_opt_out_is_refused():
    with pytest.raises(ValueError, match="unknown header opt-out 'nope'"):
        sse_headers("nope")


def test_headers_multiply_cells_and_join_the_id(tmp_path):
    text = MINI.replace("time_scale = 10", 'time_scale = 10\nheaders = ["none", "x_accel"]')
    text += (
        '[[expect]]\ntransport = "sse"\nintermediary = "direct"\nheaders = "x_accel"\n'
        'verdict = "DEGRADED"\nreason = "a header-specific expectation wins"\n'
    )
    cells = {c.id: c for c in load_matrix(str(write(tmp_path, text))).cells}
    assert sorted(cells) == [
        "long_poll-direct",
        "long_poll-direct-x_accel",
        "sse-direct",
        "sse-direct-x_accel",
    ]
    assert cells["sse-direct-x_accel"].expected_verdict == Verdict.DEGRADED
    assert cells["sse-direct"].expected_verdict == Verdict.PASS
    assert cells["sse-direct-x_accel"].to_json()["headers"] == "x_accel"


def test_an_unknown_header_opt_out_names_the_field(tmp_path):
    text = MINI.replace("time_scale = 10", 'time_scale = 10\nheaders = ["nope"]')
    with pytest.raises(Exception, match=r"field 'headers\[0\]': unknown header opt-out 'nope'"):
        load_matrix(str(write(tmp_path, text)))


def test_batch_budgets_are_read_from_the_matrix(tmp_path):
    text = MINI.replace(
        "deliver_within_real_s = 20",
        "deliver_within_real_s = 20\nmax_batch_tokens = 4\ninter_token_p99_ms = 90",
    )
    budget = load_matrix(str(write(tmp_path, text))).cells[0].budget
    assert (budget.max_batch_tokens, budget.inter_token_p99_ms) == (4, 90)
