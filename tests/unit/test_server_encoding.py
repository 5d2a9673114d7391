"""The reference server encodes each event once for all its subscribers (EncodedEvents), and
the bytes on the wire are exactly the per-subscriber encoding they replace."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from gauntlet.eventlog import EventLog
from gauntlet.server.app import EncodedEvents, sse_frame, ws_text
from gauntlet.server.publisher import Publisher


def published(n: int, payload_bytes: int = 64) -> Publisher:
    publisher = Publisher(EventLog(), payload_bytes)
    for _ in range(n):
        publisher.publish()
    return publisher


@given(st.integers(1, 12), st.lists(st.integers(0, 12), min_size=1, max_size=6))
def test_sse_body_is_the_frames_of_the_events_in_order_whatever_was_asked_before(n, cursors):
    publisher, encoded = published(n), EncodedEvents()
    for cursor in cursors:  # subscribers resuming from anywhere, in any order
        events = publisher.after(cursor)
        assert encoded.sse(events) == b"".join(sse_frame(e) for e in events)


def test_one_event_is_encoded_once_and_shared_by_every_subscriber():
    publisher, encoded = published(2), EncodedEvents()
    [event] = publisher.after(1)
    first = encoded.sse([event])
    assert first == b"id: 2\ndata: " + event.payload.encode() + b"\n\n"
    assert all(encoded.sse([event]) is first for _ in range(3))  # no copy, no re-encoding
    assert encoded.sse([]) == b""


def test_websocket_text_is_the_json_each_subscriber_used_to_build():
    publisher, encoded = published(3), EncodedEvents()
    for event in publisher.after(0):
        text = encoded.ws(event)
        assert text == ws_text(event) and encoded.ws(event) is text
        assert json.loads(text) == {"id": event.id, "data": event.payload}
