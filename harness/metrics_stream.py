"""Token-stream metrics: pure functions from one cell's event log to how an answer arrived.

An LLM answer or an MCP tool call's progress is many small events and an end marker. A hop
that buffers loses nothing, so delivery and p95 alone miss it; what the user sees is the
answer appearing in lumps, or all at once at the end. So, per answer:

- time to first token and time to the end marker, from the client's first request;
- the answer's duration: the client's first request to the last token's publication (what
  the time to first token equals when a hop holds everything until the end);
- inter-token gaps: between first receipts of distinct tokens, in arrival order, p50/p99;
- batches: the most tokens that arrived in one read (`Received.read`, set by clients that
  see reads; None for clients that see only parsed messages, the official SDKs), and the
  longest lump: a run of tokens each arriving within `LUMP_NS` of the one before, which at
  30-100 tokens/s (10-33 ms apart) only a hop that held them produces, whether it releases
  them in one write or in a quick series (a TCP relay re-injecting held chunks); and the
  typical lump, the size of the lump the median token arrived in: a hop that buffers puts
  most tokens in lumps (nginx's 4 KiB: ~20 each), a one-off stall of a loaded machine puts a
  few (it shows in the largest, not in the typical), so the verdict's batch budget applies
  to the typical lump;
- completeness: the end marker seen, and how many of the published tokens arrived;
- resumptions: requests that resumed a cut stream (their kind names `Last-Event-ID`; MCP).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gauntlet.eventlog import EndOfAnswer, EventLog, Published, Received, Request
from gauntlet.metrics import NS_PER_MS, percentile

LUMP_NS = 1_000_000  # 1 ms: tokens published 10-33 ms apart arrive closer only if held


@dataclass(frozen=True)
class StreamMetrics:
    tokens_sent: int
    tokens_received: int
    end_marker: bool
    time_to_first_token_ms: float | None
    time_to_end_ms: float | None
    answer_duration_ms: float | None
    gap_p50_ms: float | None
    gap_p99_ms: float | None
    max_tokens_per_read: int | None
    max_lump_tokens: int
    typical_lump_tokens: int = 0
    resumptions: int = 0

    @property
    def max_batch_tokens(self) -> int:
        return max(self.max_tokens_per_read or 0, self.max_lump_tokens)

    @property
    def complete(self) -> bool:
        return self.end_marker and self.tokens_received == self.tokens_sent

    @property
    def held_until_end(self) -> bool:
        """Nothing arrived before the answer was over (first token at >= 90 % of its duration)."""
        ttft, duration = self.time_to_first_token_ms, self.answer_duration_ms
        return ttft is not None and bool(duration) and ttft >= 0.9 * (duration or 0)

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "complete": self.complete,
            "held_until_end": self.held_until_end,
            "max_batch_tokens": self.max_batch_tokens,
        }


def most_per_read(receipts: list[Received]) -> int | None:
    """The most tokens one read carried; None when the client does not number its reads."""
    if not receipts or not all(r.read for r in receipts):
        return None
    counts: dict[tuple[int, int], int] = {}
    for r in receipts:
        counts[(r.conn, r.read)] = counts.get((r.conn, r.read), 0) + 1
    return max(counts.values())


def lumps(receipts: list[Received]) -> list[int]:
    """Sizes of the runs of tokens each arriving within LUMP_NS of the previous one."""
    sizes: list[int] = []
    previous: int | None = None
    for r in receipts:
        if previous is not None and r.t_ns - previous < LUMP_NS:
            sizes[-1] += 1
        else:
            sizes.append(1)
        previous = r.t_ns
    return sizes


def typical_lump(sizes: list[int]) -> int:
    """The size of the lump the median token arrived in (token-weighted median)."""
    per_token = sorted(size for size in sizes for _ in range(size))
    return per_token[len(per_token) // 2] if per_token else 0


def compute(log: EventLog, *, deadline_ns: int | None = None) -> StreamMetrics:
    """Stream metrics of one cell; receipts after `deadline_ns` do not count."""
    published = {p.id: p.t_ns for p in log.of(Published)}
    firsts: list[Received] = []
    seen: set[int] = set()
    for r in log.of(Received):
        if (deadline_ns is None or r.t_ns <= deadline_ns) and r.id not in seen:
            seen.add(r.id)
            firsts.append(r)
    requests = log.of(Request)
    start = min((r.t_ns for r in requests), default=None)
    ends = [e.t_ns for e in log.of(EndOfAnswer) if deadline_ns is None or e.t_ns <= deadline_ns]

    def since_start(t_ns: int | None) -> float | None:
        return None if t_ns is None or start is None else (t_ns - start) / NS_PER_MS

    gaps = [(b.t_ns - a.t_ns) / NS_PER_MS for a, b in zip(firsts, firsts[1:], strict=False)]
    return StreamMetrics(
        tokens_sent=len(published),
        tokens_received=len([r for r in firsts if r.id in published]),
        end_marker=bool(ends),
        time_to_first_token_ms=since_start(firsts[0].t_ns if firsts else None),
        time_to_end_ms=since_start(min(ends) if ends else None),
        answer_duration_ms=since_start(max(published.values()) if published else None),
        gap_p50_ms=percentile(gaps, 50),
        gap_p99_ms=percentile(gaps, 99),
        max_tokens_per_read=most_per_read(firsts),
        max_lump_tokens=max(lumps(firsts), default=0),
        typical_lump_tokens=typical_lump(lumps(firsts)),
        resumptions=sum("Last-Event-ID" in r.kind for r in requests),
    )
