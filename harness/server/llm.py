"""An OpenAI-compatible streamed chat completion: one published event = one token.

`POST /v1/chat/completions` with `"stream": true` answers `text/event-stream`, as OpenAI's
API does (and every gateway that copies it): one `data: {chat.completion.chunk}` event per
token, a last chunk with `finish_reason: "stop"`, then `data: [DONE]`, then the response
ends. A first chunk carries `delta.role = "assistant"`, as the real API's does. The tokens
are the publisher's events, so ids and publish stamps are the same as every other
transport's and the metrics work unchanged: each chunk carries its event id in an extra
field, `gauntlet_event_id` (the official `openai` client keeps unknown fields), and its
text is 2-20 bytes derived from the id. The answer ends after `answer_events` tokens.

There is no resumption: a streamed completion is one request; a cut stream is a truncated
answer (docs/field.md, "Today's push": clients read it with a streaming reader, not EventSource).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import trio

from gauntlet.server.optout import sse_headers
from gauntlet.server.publisher import Publisher, PushEvent

if TYPE_CHECKING:
    from gauntlet.server.app import ServerOptions

CHAT_COMPLETIONS_PATH = "/v1/chat/completions"
MODEL = "gauntlet-reference"
COMPLETION_ID = "chatcmpl-gauntlet"
_WORDS = (
    "the",
    " proxy",
    " held",
    " every",
    " byte",
    " until",
    " stream",
    " ended",
    ",",
    " so",
    " users",
    " waited",
    " twenty",
    " minutes",
    " to",
    " log",
    " in",
    ".",
)


def token_text(event_id: int) -> str:
    """A 2-20 byte token for event `event_id` (pure, deterministic): a word plus padding."""
    word = _WORDS[event_id % len(_WORDS)]
    size = 2 + (event_id * 7) % 19  # 2..20 bytes
    return (word + "~" * size)[:size] if len(word) < size else word[:size].ljust(2, "~")


def chunk(delta: dict, *, event_id: int | None = None, finish: str | None = None) -> bytes:
    """One `data:` event holding a chat.completion.chunk (OpenAI's streaming schema)."""
    body: dict = {
        "id": COMPLETION_ID,
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if event_id is not None:
        body["gauntlet_event_id"] = event_id
    return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"


def token_chunk(event: PushEvent) -> bytes:
    return chunk({"content": token_text(event.id)}, event_id=event.id)


END = chunk({}, finish="stop") + b"data: [DONE]\n\n"


async def chat_completions(
    publisher: Publisher, options: ServerOptions, scope, receive, send
) -> None:
    body = b""
    while True:  # the request body: the model, messages and `stream`
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        streamed = json.loads(body or b"{}").get("stream") is True
    except (ValueError, AttributeError):
        streamed = False
    if not streamed:
        error = b'{"error":{"message":"only stream=true is served here"}}'
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(error)).encode()),
        ]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": error, "more_body": False})
        return
    headers = sse_headers(options.sse_opt_out)
    first = chunk({"role": "assistant", "content": ""})
    if scope.get("http_version") == "1.0" and options.answer_events:
        # hypercorn 0.18 never ends a close-delimited HTTP/1.0 response (nginx's default
        # upstream protocol), so a hop waiting for the end would wait forever; the answer's
        # bytes are known in advance (token i is a function of i), so they are announced.
        length = (
            len(first)
            + len(END)
            + sum(
                len(token_chunk(PushEvent(i, 0, ""))) for i in range(1, options.answer_events + 1)
            )
        )
        headers = [*headers, (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": first, "more_body": True})
    cursor, last = 0, options.answer_events
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_cancel_on_disconnect, receive, nursery.cancel_scope)
        while not last or cursor < last:
            events = [e for e in await publisher.wait_after(cursor) if not last or e.id <= last]
            cursor = events[-1].id
            body = b"".join(token_chunk(e) for e in events)
            await send({"type": "http.response.body", "body": body, "more_body": True})
        await send({"type": "http.response.body", "body": END, "more_body": False})
        nursery.cancel_scope.cancel()


async def _cancel_on_disconnect(receive, scope: trio.CancelScope) -> None:
    while True:
        if (await receive())["type"] == "http.disconnect":
            scope.cancel()
            return
