"""Token-stream clients: a streamed chat completion read the way LLM applications read it.

An answer is one POST whose response is an event stream ending in `data: [DONE]`; it is
read with a streaming HTTP reader, not EventSource: no automatic reconnect, no
`Last-Event-ID`, so a cut stream is a truncated answer (docs/field.md, "Today's push").

- `run_llm_stream`: Gauntlet's own reader (httpx, the WHATWG parser of harness/sse.py), for
  exact per-read timing: every token of one read is stamped with that read's time and
  number (`Received.read`), so a hop that batches shows as many tokens in one read.
- `run_llm_stream_openai`: the official `openai` client, `AsyncOpenAI(base_url=...)` with a
  dummy key and its own HTTP client pointed at the chain (loopback only, never the
  environment's proxy), streaming `chat.completions.create(stream=True)`: the client users
  run. It sees parsed chunks, not reads, so its `read` is 0 and tokens are stamped as the
  iterator yields them.
"""

from __future__ import annotations

import json

import httpx
import trio

from gauntlet.clients.base import DEFAULT_CONNECT_TIMEOUT_S, Target, http_client
from gauntlet.eventlog import (
    BytesReceived,
    Connected,
    Disconnected,
    EndOfAnswer,
    EventLog,
    Received,
    Request,
    now_ns,
)
from gauntlet.sse import SSEParser

PATH = "/v1/chat/completions"
DONE = "[DONE]"
MODEL = "gauntlet-reference"
QUESTION = "Why did the users wait twenty minutes?"
SAMPLE_CHUNK = (
    '{"id":"x","object":"chat.completion.chunk","created":0,"model":"m",'
    '"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}'
)
REQUEST = {"model": MODEL, "messages": [{"role": "user", "content": QUESTION}], "stream": True}


def event_id_of(data: str) -> int | None:
    """The publisher's event id carried by one chunk (`gauntlet_event_id`), if any (pure)."""
    try:
        value = json.loads(data).get("gauntlet_event_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


async def run_llm_stream(target: Target, log: EventLog) -> None:
    """One streamed answer, read as bytes arrive; returns when it ends, however it ends."""
    conn = log.new_conn()
    log.append(Request(now_ns(), conn, "POST " + PATH))
    parser = SSEParser()
    reason = "end of stream before [DONE]: truncated answer"
    async with http_client(target) as client:
        try:
            async with client.stream("POST", target.base_url + PATH, json=REQUEST) as resp:
                log.append(Connected(now_ns(), conn, resp.http_version))
                if resp.status_code != 200:
                    reason = f"status {resp.status_code}: no answer"
                else:
                    reads = 0
                    async for data in resp.aiter_bytes():
                        t = now_ns()
                        reads += 1
                        log.append(BytesReceived(t, conn, len(data)))
                        for event in parser.feed(data):
                            if event.data == DONE:
                                log.append(EndOfAnswer(t, conn))
                                reason = "answer complete ([DONE])"
                            elif (event_id := event_id_of(event.data)) is not None:
                                log.append(Received(event_id, t, conn, reads))
        except httpx.HTTPError as exc:
            reason = f"network error: {type(exc).__name__}: truncated answer"
    log.append(Disconnected(now_ns(), conn, reason))


async def run_llm_stream_openai(target: Target, log: EventLog) -> None:
    """The same answer through the official `openai` client's streaming iterator."""
    import httpx2  # openai's own HTTP stack (a dependency of openai>=3)
    import openai
    from openai.types.chat import ChatCompletionChunk

    # The SDK builds its chunk model lazily on first use (~100 ms here): do it before the
    # request, so a one-time cost of the client is not measured as the network's.
    ChatCompletionChunk.model_validate(json.loads(SAMPLE_CHUNK))
    conn = log.new_conn()
    http = httpx2.AsyncClient(
        proxy=target.forward_proxy,
        http2=target.http2,
        verify=target.ssl_context() or True,
        trust_env=False,
        timeout=httpx2.Timeout(DEFAULT_CONNECT_TIMEOUT_S, read=None),
    )
    client = openai.AsyncOpenAI(
        base_url=target.base_url + "/v1", api_key="gauntlet-no-key", http_client=http, max_retries=0
    )
    reason = "end of stream before [DONE]: truncated answer"
    try:
        log.append(Request(now_ns(), conn, "POST " + PATH + " (openai)"))
        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": QUESTION}], stream=True
        )
        log.append(Connected(now_ns(), conn, stream.response.http_version))
        finished = False
        async for chunk in stream:
            t = now_ns()
            extra = chunk.model_extra or {}
            if isinstance(extra.get("gauntlet_event_id"), int):
                log.append(Received(extra["gauntlet_event_id"], t, conn))
            if chunk.choices and chunk.choices[0].finish_reason:
                finished = True
        if finished:  # the iterator ends at [DONE]; the finish chunk precedes it
            log.append(EndOfAnswer(now_ns(), conn))
            reason = "answer complete ([DONE])"
    except (openai.APIError, httpx2.HTTPError) as exc:
        reason = f"{type(exc).__name__}: truncated answer"
    finally:
        with trio.CancelScope(shield=True):
            await client.close()
    log.append(Disconnected(now_ns(), conn, reason))
