"""MCP pieces without sockets: the event store's replay after Last-Event-ID, and how the
client logs a resumption."""

from __future__ import annotations

import httpx
import mcp.types as types

from gauntlet.clients.mcp_streamable import request_kind
from gauntlet.server.mcp_app import MemoryEventStore


def note(n: int) -> types.JSONRPCMessage:
    return types.JSONRPCMessage(
        types.JSONRPCNotification(
            jsonrpc="2.0",
            method="notifications/progress",
            params={"progressToken": 1, "progress": n},
        )
    )


async def test_replay_sends_the_cut_streams_later_events_only():
    store = MemoryEventStore()
    priming = await store.store_event("post-1", None)
    ids = [
        await store.store_event(s, note(n))
        for n, s in [(1, "post-1"), (2, "get"), (3, "post-1"), (4, "post-1")]
    ]
    assert priming == "1" and ids == ["2", "3", "4", "5"]  # unique across streams
    sent = []

    async def collect(event) -> None:
        sent.append((event.event_id, event.message.root.params["progress"]))

    assert await store.replay_events_after("2", collect) == "post-1"
    assert sent == [("4", 3), ("5", 4)]  # not the GET stream's event, not the priming one


async def test_replay_from_a_priming_event_sends_everything_after_it():
    store = MemoryEventStore()
    priming = await store.store_event("s", None)
    await store.store_event("s", note(1))
    sent = []

    async def collect(event) -> None:
        sent.append(event.event_id)

    assert await store.replay_events_after(priming, collect) == "s" and sent == ["2"]


async def test_an_unknown_last_event_id_replays_nothing():
    sent = []

    async def collect(event) -> None:
        sent.append(event)

    assert await MemoryEventStore().replay_events_after("9", collect) is None and sent == []


def test_a_resumption_is_logged_with_the_id_it_resumes_after():
    assert request_kind("POST", httpx.Headers({})) == "POST /mcp"
    assert request_kind("GET", httpx.Headers({"Last-Event-ID": "12"})) == (
        "GET /mcp Last-Event-ID: 12"
    )
