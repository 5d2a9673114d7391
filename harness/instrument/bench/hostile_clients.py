"""Hostile clients against the reference server, run as a separate process by
gauntlet/instrument/bench/hostile.py (so their CPU is not the server's interpreter's).

`python -m gauntlet.instrument.bench.hostile_clients PORT SECONDS [KIND,...]`: on
127.0.0.1:PORT only, for at most SECONDS, keep up slowloris requests, SSE clients that never
read, malformed and enormous Last-Event-ID headers and cursors (MALFORMED_PER_S),
connect/disconnect churn (at most CHURN_PER_S), and WebSocket handshakes followed by invalid
frames (BAD_WEBSOCKET_PER_S). Prints `started` once every kind is running, and a count per
kind when it ends."""

from __future__ import annotations

import sys
from collections import Counter

import trio

HOST = "127.0.0.1"
SLOWLORIS, NEVER_READERS, CHURN_PER_S = 20, 20, 1000
MALFORMED_PER_S = BAD_WEBSOCKET_PER_S = 100
"""Stated rates, not "as fast as the server answers": a closed loop against a server that
answers in ~1 ms measures a saturated server (3000+ requests in 5 s, 96 % of a core, where any
server's queue grows), not what hostile input costs the subscribers beside it."""
BAD_HEADERS = [
    b"Last-Event-ID: " + b"9" * 6000,
    b"Last-Event-ID: \xff\xfe\x00\x01",
    b"Last-Event-ID: -99999999999999999999999999",
    b"Last-Event-ID: 1e400",
    b"Last-Event-ID: " + b"x" * 60000,
]
BAD_PATHS = [
    b"/sse?after=" + b"9" * 5000,
    b"/poll?after=-1&wait_ms=0",
    b"/sse?after=%ff%00",
    b"/poll?after=1&wait_ms=99999999999999999999",
    b"/sse?heartbeat_ms=1&pad=999999999",
]
counts: Counter[str] = Counter()


async def _pace(per_s: float) -> None:
    """Sleep until this task's next slot at `per_s` (the attack's pacing, not a wait)."""
    task = trio.lowlevel.current_task()
    slot = max(_slots.get(task, 0.0) + 1 / per_s, trio.current_time())
    _slots[task] = slot
    await trio.sleep_until(slot)


_slots: dict[object, float] = {}


async def _open() -> trio.SocketStream | None:
    try:
        return await trio.open_tcp_stream(HOST, PORT)
    except OSError:
        counts["connect failed"] += 1
        return None


async def slowloris() -> None:
    stream = await _open()
    if stream is None:
        return
    async with stream:
        try:
            await stream.send_all(b"GET /sse HTTP/1.1\r\nHost: x\r\n")
            while True:
                await stream.send_all(b"X-a: b\r\n")
                counts["slowloris header"] += 1
                await trio.sleep(0.2)  # the attack's pacing, not a wait
        except trio.BrokenResourceError:
            counts["slowloris cut off"] += 1


async def never_reader() -> None:
    stream = await _open()
    if stream is None:
        return
    async with stream:
        await stream.send_all(b"GET /sse?pad=65536 HTTP/1.1\r\nHost: x\r\n\r\n")
        counts["never reader"] += 1
        await trio.sleep_forever()


async def malformed() -> None:
    requests = [b"GET /sse HTTP/1.1\r\nHost: x\r\n" + h + b"\r\n\r\n" for h in BAD_HEADERS]
    requests += [b"GET " + p + b" HTTP/1.1\r\nHost: x\r\n\r\n" for p in BAD_PATHS]
    requests += [b"\x16\x03\x01garbage\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n"]
    while True:
        for request in requests:
            await _pace(MALFORMED_PER_S)
            stream = await _open()
            if stream is None:
                continue
            async with stream:
                try:
                    await stream.send_all(request)
                    with trio.move_on_after(0.2):
                        await stream.receive_some(1024)
                except (trio.BrokenResourceError, OSError):
                    pass
            counts["malformed"] += 1


async def churn() -> None:
    while True:
        start = trio.current_time()
        stream = await _open()
        if stream is not None:
            await stream.aclose()
            counts["churn"] += 1
        await trio.sleep_until(start + 1 / CHURN_PER_S)


async def bad_websocket() -> None:
    handshake = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    frames = [b"\xff" * 64, b"\x81\x7f" + b"\xff" * 8, b"\x89\x05hello", b"\x00" * 32]
    while True:
        for frame in frames:
            await _pace(BAD_WEBSOCKET_PER_S)
            stream = await _open()
            if stream is None:
                continue
            async with stream:
                try:
                    await stream.send_all(handshake)
                    with trio.move_on_after(0.2):
                        await stream.receive_some(1024)
                    await stream.send_all(frame)
                    with trio.move_on_after(0.2):
                        await stream.receive_some(1024)
                except (trio.BrokenResourceError, OSError):
                    pass
            counts["bad websocket"] += 1


KINDS = ("slowloris", "never_reader", "malformed", "churn", "bad_websocket")


async def main(seconds: float, kinds: tuple[str, ...] = KINDS) -> None:
    with trio.move_on_after(seconds):
        async with trio.open_nursery() as nursery:
            for _ in range(SLOWLORIS if "slowloris" in kinds else 0):
                nursery.start_soon(slowloris)
            for _ in range(NEVER_READERS if "never_reader" in kinds else 0):
                nursery.start_soon(never_reader)
            for task in (malformed, churn, bad_websocket):
                if task.__name__ in kinds:
                    nursery.start_soon(task)
            print("started", flush=True)
    print(dict(counts), flush=True)


if __name__ == "__main__":
    PORT = int(sys.argv[1])
    trio.run(main, float(sys.argv[2]), tuple(sys.argv[3].split(",")) if sys.argv[3:] else KINDS)
