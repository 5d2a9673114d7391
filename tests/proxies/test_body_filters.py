"""The body-filter plumbing every reshaping behaviour shares (proxies/_body.py), and the pure
filters themselves, without mitmproxy's addon machinery.

mitmproxy calls a response's stream callable once per chunk and once with b"" at the end of
the body (mitmproxy's `Response.stream`, docs "Streaming"): each stacked filter must see
exactly that protocol, or a filter that tells the end by `chunk == b""` never flushes.
"""

from __future__ import annotations

import pytest
from mitmproxy.test import tflow

from gauntlet.proxies._body import HOLD_WHOLE_RESPONSE, BodyPipeline, add_body_filter, stream_live
from gauntlet.proxies.drop_events import FrameDropper, drops, frame_id
from gauntlet.proxies.size_buffer import BlockBuffer


class Recorder:
    """A pass-through filter that records the chunks it was given."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def __call__(self, chunk: bytes) -> list[bytes]:
        self.seen.append(chunk)
        return [chunk]


def test_every_stacked_filter_sees_each_chunk_then_the_b_empty_end_marker():
    first, second = Recorder(), Recorder()
    pipeline = BodyPipeline()
    pipeline.filters += [first, second]
    assert pipeline(b"abc") == [b"abc"]
    assert pipeline(b"") == []
    assert first.seen == second.seen == [b"abc", b""]


def test_stream_live_streams_a_response_body_chunk_by_chunk():
    flow = tflow.tflow(resp=True)
    stream_live(flow)
    assert flow.response.stream is True


def test_stream_live_leaves_upgrades_and_held_responses_alone():
    upgrade = tflow.tflow(resp=True)
    upgrade.response.status_code = 101
    stream_live(upgrade)
    assert upgrade.response.stream is False
    held = tflow.tflow(resp=True)
    held.metadata[HOLD_WHOLE_RESPONSE] = True
    stream_live(held)
    assert held.response.stream is False


def test_stream_live_keeps_a_filter_already_added():
    flow = tflow.tflow(resp=True)
    add_body_filter(flow, Recorder())
    stream_live(flow)
    assert isinstance(flow.response.stream, BodyPipeline)


def test_block_buffer_defaults_to_blocks_releasing_whole_blocks_and_the_rest_at_the_end():
    buffer = BlockBuffer(4)  # nginx-style: every full block, not only the first
    assert buffer(b"abcdef") == [b"abcd"]
    assert buffer(b"ghij") == [b"efgh"]
    assert buffer(b"") == [b"ij"]


def test_the_dropped_ids_are_the_documented_ones():
    # The drop_events_seed option's help promises these, and e2e tests expect exact ids.
    assert [i for i in range(1, 16) if drops(3, i, 100)] == [1, 2, 8]


def frames(ids: list[int], *, eol: bytes = b"\n", sep: bytes = b": ") -> bytes:
    return b"".join(b"id" + sep + b"%d" % i + eol + b"data: {}" + eol + eol for i in ids)


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize("sep", [b": ", b":"])
def test_frames_are_dropped_by_id_whatever_the_line_ending_and_id_spacing(eol, sep):
    # WHATWG SSE: lines end in CRLF, LF or CR, and the space after "id:" is optional.
    kept = [i for i in range(1, 16) if i not in (1, 2, 8)]
    dropper = FrameDropper(seed=3, per_mille=100)
    out = b"".join(dropper(frames(list(range(1, 16)), eol=eol, sep=sep))) + b"".join(dropper(b""))
    assert out == frames(kept, eol=eol, sep=sep)


def test_frames_without_a_numeric_id_pass_untouched():
    body = b"id: abc\ndata: 1\n\n: heartbeat\n\ndata: no id\n\n"
    dropper = FrameDropper(seed=3, per_mille=1000)  # would drop every numbered frame
    assert b"".join(dropper(body)) + b"".join(dropper(b"")) == body
    assert frame_id(b"id: abc\ndata: 1\n\n") is None
