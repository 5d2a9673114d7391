"""The body-filter plumbing every reshaping behaviour shares (proxies/_body.py), on its own.

mitmproxy calls a response's stream callable once per chunk and once with b"" at the end of
the body (mitmproxy's `Response.stream`, docs "Streaming"): each stacked filter must see
exactly that protocol, or a filter that tells the end by `chunk == b""` never flushes.
"""

from __future__ import annotations

from mitmproxy.test import tflow

from proxies._body import HOLD_WHOLE_RESPONSE, BodyPipeline, add_body_filter, stream_live


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
