"""Client and server decisions without I/O: SSE plans, cursors, the upgrade policy, and a
Hypothesis state machine showing resume-by-id never loses or double-delivers an event."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gauntlet.clients.policy import Cursor, EventSourcePolicy, UpgradePolicy
from gauntlet.eventlog import EventLog
from gauntlet.server.app import SSEPlan, sse_frame
from gauntlet.server.publisher import Publisher
from gauntlet.sse import SSEParser


@pytest.mark.parametrize(
    ("query", "version", "sent", "closes"),
    [
        ({}, "1.1", 10**6, False),
        ({"close": "each"}, "2", 1, True),
        ({"close": "adaptive"}, "1.1", 1, True),
        ({"close": "adaptive"}, "2", 1, False),
        ({"close": "bytes", "close_after_bytes": "100"}, "1.1", 99, False),
        ({"close": "bytes", "close_after_bytes": "100"}, "1.1", 100, True),
        ({"close": "sideways"}, "1.1", 1, False),
    ],
)
def test_sse_plan_decides_when_to_end_a_response(query, version, sent, closes):
    assert SSEPlan.from_query(query).closes_after_write(version, sent) is closes


def test_sse_plan_prelude_pads_and_sends_the_canary():
    plain = SSEPlan.from_query({}).prelude(50)
    assert plain == b"retry: 50\n\n"
    padded = SSEPlan.from_query({"pad": "2048", "canary": "1"}).prelude(50)
    assert len(padded) == len(plain) + 2048 + len(b"event: canary\ndata: hello\n\n")
    assert padded.endswith(b"event: canary\ndata: hello\n\n")


def test_cursor_resumes_after_the_highest_id_and_flags_duplicates():
    cursor = Cursor()
    assert [cursor.accept(i) for i in (1, 2, 2, 3, 1)] == [True, True, False, True, False]
    assert cursor.resume_after == 3


def test_upgrade_policy_upgrades_on_a_surviving_probe_and_gives_up_after_failures():
    policy = UpgradePolicy(probe_ms=300, max_failures=3, retry_s=0.5)
    assert policy.should_try()
    policy.socket_ended(None)  # handshake refused
    policy.socket_ended(120.0)  # killed before the probe time: a Zscaler-class proxy
    assert policy.failures == 2 and policy.retry_delay_s() == 1.0
    policy.socket_survived_probe()
    assert policy.upgraded and not policy.should_try()
    policy.socket_ended(5_000.0)  # a long-lived socket that died is not a failed probe
    assert policy.failures == 2 and policy.should_try()
    policy.socket_ended(10.0)
    assert policy.gave_up and not policy.should_try()


def test_upgrade_retry_delay_doubles_from_retry_s_after_each_failed_probe():
    policy = UpgradePolicy(max_failures=10, retry_s=0.5)
    delays = []
    for _ in range(5):
        delays.append(policy.retry_delay_s())
        policy.socket_ended(None)
    assert delays == [0.5, 0.5, 1.0, 2.0, 4.0]  # 0 and 1 failures: retry_s; then 2 ** (n - 1)


def test_a_socket_living_exactly_the_probe_time_is_a_good_probe():
    policy = UpgradePolicy(probe_ms=300)
    policy.socket_ended(300.0)
    assert policy.failures == 0
    policy.socket_ended(299.9)
    assert policy.failures == 1


def test_eventsource_requests_an_event_stream_uncached_and_resumes_by_last_event_id():
    policy = EventSourcePolicy()
    first = httpx.Headers(policy.request_headers())
    assert dict(first) == {"accept": "text/event-stream", "cache-control": "no-cache"}
    policy.connection_ended("41", None)
    assert httpx.Headers(policy.request_headers())["last-event-id"] == "41"


class ResumeByIdMachine(RuleBasedStateMachine):
    """A publisher, and a client that reconnects at random and may see resent events.

    Each resumable transport resumes its own way, decoded by the client's real code: SSE
    sends `Last-Event-ID` (the parser's last event id; a connection may be cut in the middle
    of a frame, whose partial event must be dropped and fetched again), long and short
    polling send `after=` from a JSON body, WebSocket connects with `?after=` and reads one
    JSON frame per event. A connection delivers part of the server's answer and drops; a
    flaky hop may replay a few events from before the resume point.
    """

    transport = "long_poll"

    def __init__(self) -> None:
        super().__init__()
        self.publisher = Publisher(EventLog())
        self.cursor = Cursor()
        self.last_event_id = ""  # SSE only: what EventSource would send back
        self.delivered: list[int] = []  # what the application saw, after de-duplication

    def resume_after(self) -> int:
        if self.transport.startswith("sse"):
            return int(self.last_event_id or 0)
        return self.cursor.resume_after

    def receive(self, ids: list[int]) -> None:
        for event_id in ids:
            if self.cursor.accept(event_id):
                self.delivered.append(event_id)

    def connection(self, start: int, cut: int) -> None:
        events = self.publisher.after(start)
        if self.transport.startswith("sse"):
            wire = SSEPlan().prelude(50) + b"".join(sse_frame(e) for e in events)
            parser = SSEParser(self.last_event_id)
            got = parser.feed(wire[: min(cut, len(wire))])  # cut anywhere, mid-frame included
            self.last_event_id = parser.last_event_id
            self.receive([int(e.last_event_id) for e in got])
        elif self.transport == "websocket":
            frames = [json.dumps({"id": e.id, "data": e.payload}) for e in events][:cut]
            self.receive([json.loads(f)["id"] for f in frames])
        else:  # a poll answer arrives whole or not at all
            body = json.dumps({"events": [{"id": e.id, "data": e.payload} for e in events]})
            self.receive([e["id"] for e in json.loads(body)["events"]] if cut else [])

    @rule(n=st.integers(1, 5))
    def publish(self, n: int) -> None:
        for _ in range(n):
            self.publisher.publish()

    @rule(cut=st.integers(0, 2000), replay=st.integers(0, 3))
    def connect_receive_some_then_drop(self, cut: int, replay: int) -> None:
        self.connection(max(0, self.resume_after() - replay), cut)

    @precondition(lambda self: self.publisher.last_id > 0)
    @rule()
    def connect_and_catch_up(self) -> None:
        self.connection(self.resume_after(), 10**9)
        assert self.delivered == list(range(1, self.publisher.last_id + 1))

    @invariant()
    def never_lost_or_twice(self) -> None:
        assert self.delivered == list(range(1, len(self.delivered) + 1))
        assert self.resume_after() <= len(self.delivered)


class SSEResume(ResumeByIdMachine):
    transport = "sse"


class WebSocketResume(ResumeByIdMachine):
    transport = "websocket"


TestLongPollResume = ResumeByIdMachine.TestCase
TestSSEResume = SSEResume.TestCase
TestWebSocketResume = WebSocketResume.TestCase
