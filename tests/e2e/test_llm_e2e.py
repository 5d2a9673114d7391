"""Token streams through real hops: the issue's acceptance, cell by cell, with numbers.

Real hypercorn, real mitmdump hops, the real clients (Gauntlet's reader, the official
`openai` and `mcp` SDKs) on 127.0.0.1 with OS-chosen ports, no network, no keys; every cell
is bounded by its own scaled budget and a `fail_after`. Counts (tokens per read, bytes per
read, resumptions) do not depend on timing noise; the few timing bands are written beside
them with their reason.
"""

from __future__ import annotations

import pytest
import trio

from gauntlet import topology
from gauntlet.eventlog import BytesReceived, EventLog, Request
from gauntlet.scenario import CellSpec, Intermediary, Timing, Workload
from gauntlet.server.llm import token_chunk
from gauntlet.server.publisher import PushEvent
from gauntlet.spec import HopSpec
from gauntlet.topology import run_cell
from gauntlet.verdict import Budget

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOKENS = Workload(events=60, rate_per_s=80, payload_bytes=64)  # 0.75 s of tokens
SILENT_CALL = Workload(
    events=40, rate_per_s=80, payload_bytes=64, quiet_after=20, quiet_real_s=75
)  # 75 s silent (1.25 s here) > ALB's 60 s (1 s here)
BUDGET = Budget(latency_p95_ms=250, max_batch_tokens=4)
BLOCK = 4096
CHUNKS = [len(token_chunk(PushEvent(i, 0, ""))) for i in range(1, TOKENS.events + 1)]


def cell(
    transport: str, behaviour: str | None, headers: str = "none", workload: Workload = TOKENS
) -> CellSpec:
    hops = (HopSpec((behaviour,)),) if behaviour else ()
    inter = Intermediary(behaviour or "direct", "", hops)
    return CellSpec(
        "llm-e2e", transport, inter, workload, BUDGET, Timing(60, 120), None, None, headers=headers
    )


async def measure(tmp_path, spec: CellSpec) -> dict:
    with trio.fail_after(40):
        return await run_cell(spec, tmp_path)


async def measure_with_log(tmp_path, spec: CellSpec, monkeypatch) -> tuple[dict, EventLog]:
    """The cell's entry and its event log (internal to run_cell: caught on its way out)."""
    logs: list[EventLog] = []
    original = topology._entry

    def keep(cell_, log, *args):
        logs.append(log)
        return original(cell_, log, *args)

    monkeypatch.setattr(topology, "_entry", keep)
    entry = await measure(tmp_path, spec)
    return entry, logs[0]


async def test_size_buffer_delivers_every_token_in_4_kib_lumps(tmp_path):
    entry = await measure(tmp_path, cell("llm_stream", "size_buffer"))
    s = entry["stream_metrics"]
    assert entry["verdict"] == "DEGRADED" and entry["reason"].startswith("batched:")
    assert s["tokens_received"] == s["tokens_sent"] == 60 and s["complete"]
    # A 4 KiB block holds 4096 // chunk-size tokens: between these bounds per read.
    assert BLOCK // max(CHUNKS) <= s["max_tokens_per_read"] <= 2 * BLOCK // min(CHUNKS) + 1
    assert BLOCK // max(CHUNKS) <= s["typical_lump_tokens"] <= s["max_tokens_per_read"]
    assert f"lumps of {s['typical_lump_tokens']} (typical; budget 4)" in entry["reason"]


async def test_size_buffer_reads_are_whole_blocks_until_the_tail(tmp_path, monkeypatch):
    _, log = await measure_with_log(tmp_path, cell("llm_stream", "size_buffer"), monkeypatch)
    reads = [r.n for r in log.of(BytesReceived)]
    assert all(n % BLOCK == 0 for n in reads[:-1]) and len(reads) >= 2, reads


async def test_x_accel_buffering_no_through_the_nginx_emulation_passes(tmp_path):
    entry = await measure(tmp_path, cell("llm_stream", "size_buffer", "x_accel"))
    assert entry["verdict"] == "PASS", entry["reason"]
    assert entry["stream_metrics"]["complete"]


@pytest.mark.parametrize("headers", ["none", "x_accel"])
async def test_store_and_forward_holds_everything_until_the_end_header_or_not(tmp_path, headers):
    entry = await measure(tmp_path, cell("llm_stream", "store_and_forward", headers))
    s = entry["stream_metrics"]
    assert entry["verdict"] == "DEGRADED" and s["held_until_end"] and s["complete"]
    assert "nothing until the answer ended, then all 60 tokens at once" in entry["reason"]
    assert "= the answer's duration" in entry["reason"]
    # The first token cannot come before the answer ends; the hop's flush and the client's
    # read add at most a few hundred ms on a loaded 2-core machine (measured: 5-40 ms).
    ttft, duration = s["time_to_first_token_ms"], s["answer_duration_ms"]
    assert duration <= ttft < duration + 500


async def test_mcp_silent_tool_call_through_idle_timeout_is_cut_and_resumed(tmp_path, monkeypatch):
    spec = cell("mcp_streamable", "idle_timeout", workload=SILENT_CALL)
    entry, log = await measure_with_log(tmp_path, spec, monkeypatch)
    s = entry["stream_metrics"]
    resumed = [r.kind for r in log.of(Request) if "Last-Event-ID" in r.kind]
    assert resumed and all(k.startswith("GET /mcp Last-Event-ID: ") for k in resumed)
    assert s["resumptions"] == len(resumed)
    assert s["complete"], entry["reason"]
    assert "with Last-Event-ID, the result still arrived" in entry["reason"]
    assert entry["verdict"] == "PASS" and s["tokens_received"] == 40


async def test_both_llm_clients_agree_on_the_same_cell(tmp_path):
    own = await measure(tmp_path / "own", cell("llm_stream", None))
    sdk = await measure(tmp_path / "sdk", cell("llm_stream_openai", None))
    assert own["verdict"] == sdk["verdict"] == "PASS"
    assert own["metrics"]["delivered"] == sdk["metrics"]["delivered"] == 60
    # Tolerance 10 ms: the SDK parses each chunk with pydantic (well under 1 ms) and both
    # run on a 2-core machine shared with other work; a client that buffered would differ
    # by the answer's duration (750 ms).
    p50_own, p50_sdk = own["metrics"]["latency_ms"]["p50"], sdk["metrics"]["latency_ms"]["p50"]
    assert abs(p50_own - p50_sdk) < 10, (p50_own, p50_sdk)


async def test_both_llm_clients_see_the_same_batching(tmp_path):
    own = await measure(tmp_path / "own", cell("llm_stream", "size_buffer"))
    sdk = await measure(tmp_path / "sdk", cell("llm_stream_openai", "size_buffer"))
    assert own["verdict"] == sdk["verdict"] == "DEGRADED"
    assert own["metrics"]["delivered"] == sdk["metrics"]["delivered"] == 60
    assert sdk["stream_metrics"]["max_lump_tokens"] >= own["stream_metrics"]["max_tokens_per_read"]
