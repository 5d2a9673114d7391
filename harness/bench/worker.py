"""A load-generator process: N subscribers of one transport against one base URL.

    python -m gauntlet.bench.worker --transport sse --base-url http://127.0.0.1:PORT \
        --subscribers 500 --events 10 [--connect-rate 400] [--max-seconds 300]

Each subscriber is the transport's reference client (harness/clients) with its own
connection. Subscribers start at `--connect-rate` per second (a connection storm of 2000
would overflow listen backlogs and measure SYN retries instead of push). Receipts are stamped
with `time.monotonic_ns()`, system-wide on Linux, so the parent compares them with its own
publish stamps.

The protocol with the parent is one line per message on stdout:
    `started N`    every subscriber has been started
    `connected`    every subscriber has a connection (response headers or WebSocket
                   handshake; a long poll counts only once its first answer came)
    `complete`     every subscriber has received `--events` distinct events
    `result JSON`  after `stop` (or EOF) on stdin, or `--max-seconds`: first receipt per
                   (subscriber, event), duplicates, errors, this process's CPU and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import trio

from gauntlet.bench.procs import raise_open_files_limit
from gauntlet.clients import TRANSPORTS, Target
from gauntlet.eventlog import Connected, EventLog, Received, Record

MAX_SUBSCRIBERS_PER_WORKER = 5000
DEFAULT_CONNECT_RATE = 400.0  # subscribers started per second, per worker
DEFAULT_MAX_SECONDS = 300.0
MAX_ERRORS_KEPT = 5


class WorkerArgsError(ValueError):
    """The worker's command line is wrong; the message says which argument and why."""


@dataclass(frozen=True)
class WorkerArgs:
    transport: str
    base_url: str
    subscribers: int
    events: int
    connect_rate: float = DEFAULT_CONNECT_RATE
    max_seconds: float = DEFAULT_MAX_SECONDS

    def argv(self) -> list[str]:
        """The command line that parses back to these arguments (the parent builds it)."""
        return ["--transport", self.transport, "--base-url", self.base_url,
                "--subscribers", str(self.subscribers), "--events", str(self.events),
                "--connect-rate", f"{self.connect_rate:g}",
                "--max-seconds", f"{self.max_seconds:g}"]  # fmt: skip


def parse_args(argv: list[str]) -> WorkerArgs:
    """Parse and check a worker command line (pure); WorkerArgsError names the problem."""
    p = argparse.ArgumentParser(prog="python -m gauntlet.bench.worker", exit_on_error=False)
    p.add_argument("--transport", required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--subscribers", type=int, required=True)
    p.add_argument("--events", type=int, required=True)
    p.add_argument("--connect-rate", type=float, default=DEFAULT_CONNECT_RATE)
    p.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS)
    try:
        ns, rest = p.parse_known_args(argv)
    except (argparse.ArgumentError, SystemExit) as exc:
        raise WorkerArgsError(f"bad worker arguments: {exc}") from None
    if rest:
        raise WorkerArgsError(f"unknown worker arguments: {' '.join(rest)}")
    args = WorkerArgs(ns.transport, ns.base_url, ns.subscribers, ns.events, ns.connect_rate,
                      ns.max_seconds)  # fmt: skip
    if args.transport not in TRANSPORTS:
        raise WorkerArgsError(f"--transport {args.transport!r}: unknown (known: "
                              f"{', '.join(TRANSPORTS)})")  # fmt: skip
    if not args.base_url.startswith(("http://127.", "https://127.")):
        raise WorkerArgsError(f"--base-url {args.base_url!r}: loopback only (http://127.x.x.x)")
    if not 1 <= args.subscribers <= MAX_SUBSCRIBERS_PER_WORKER:
        raise WorkerArgsError(f"--subscribers {args.subscribers}: expected 1.."
                              f"{MAX_SUBSCRIBERS_PER_WORKER}")  # fmt: skip
    if args.events < 0:
        raise WorkerArgsError(f"--events {args.events}: expected >= 0")
    if args.connect_rate <= 0 or args.max_seconds <= 0:
        raise WorkerArgsError("--connect-rate and --max-seconds must be positive")
    return args


class Tally(EventLog):
    """One subscriber's event log, keeping only what the bench needs: first receipt per id.

    Thousands of subscribers x every record would be memory (and CPU) the measurement does
    not need; the clients only call `append` and `new_conn`.
    """

    def __init__(self, expected: int, on_complete: Callable[[], None],
                 on_connected: Callable[[], None] = lambda: None) -> None:  # fmt: skip
        super().__init__()
        self.expected = expected
        self.on_complete = on_complete
        self.on_connected = on_connected
        self.first: dict[int, int] = {}
        self.duplicates = 0
        self.connects = 0

    def append(self, record: Record) -> None:
        if isinstance(record, Received):
            if record.id in self.first:
                self.duplicates += 1
                return
            self.first[record.id] = record.t_ns
            if len(self.first) == self.expected:
                self.on_complete()
        elif isinstance(record, Connected):
            self.connects += 1
            if self.connects == 1:
                self.on_connected()


@cache
def _shared_ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context()


@dataclass(frozen=True)
class _BenchTarget(Target):
    """A Target whose clients share one default SSL context.

    httpx builds a fresh context from the CA bundle for every client (about 20 ms of CPU
    each): 500 subscribers would spend 10 s of the worker's CPU before connecting. The
    bench speaks plain HTTP on loopback, so the context is never used for a handshake.
    """

    def ssl_context(self) -> ssl.SSLContext | None:
        return super().ssl_context() or _shared_ssl_context()


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def _stop_on_stdin(scope: trio.CancelScope) -> None:
    """Cancel the subscribers on a `stop` line or EOF from the parent."""
    stream = trio.lowlevel.FdStream(os.dup(sys.stdin.fileno()))
    data = b""
    async with stream:
        while b"stop" not in data:
            chunk = await stream.receive_some(256)
            if not chunk:
                break
            data += chunk
    scope.cancel()


async def run_worker(args: WorkerArgs, emit: Callable[[str], None] = _emit,
                     watch_stdin: bool = True) -> dict[str, Any]:  # fmt: skip
    """Run the subscribers until stopped; return (and emit) the result document."""
    runner = TRANSPORTS[args.transport].client()  # real-world timings: a bench is real time
    target = _BenchTarget(args.base_url)
    remaining = [args.subscribers]
    unconnected = [args.subscribers]
    errors: list[str] = []
    tallies: list[Tally] = []

    def one_complete() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            emit("complete")

    def one_connected() -> None:
        unconnected[0] -= 1
        if unconnected[0] == 0:
            emit("connected")

    async def subscriber(tally: Tally) -> None:
        try:
            await runner(target, tally)
        except Exception as exc:  # noqa: BLE001 - counted and reported, the others go on
            errors.append(f"{type(exc).__name__}: {exc}")

    with trio.move_on_after(args.max_seconds):
        async with trio.open_nursery() as nursery:
            if watch_stdin:
                nursery.start_soon(_stop_on_stdin, nursery.cancel_scope)
            start = trio.current_time()
            for i in range(args.subscribers):
                await trio.sleep_until(start + i / args.connect_rate)  # connection pacing
                tally = Tally(args.events, one_complete, one_connected)
                tallies.append(tally)
                nursery.start_soon(subscriber, tally)
            emit(f"started {len(tallies)}")
    result = _result(args, tallies, errors)
    emit("result " + json.dumps(result, separators=(",", ":")))
    return result


def _result(args: WorkerArgs, tallies: list[Tally], errors: list[str]) -> dict[str, Any]:
    receipts: dict[int, list[int]] = {}
    for tally in tallies:
        for event_id, t_ns in tally.first.items():
            receipts.setdefault(event_id, []).append(t_ns)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "pid": os.getpid(),
        "transport": args.transport,
        "subscribers": args.subscribers,
        "started": len(tallies),
        "connected": sum(1 for t in tallies if t.connects),
        "reconnects": sum(max(0, t.connects - 1) for t in tallies),
        "duplicates": sum(t.duplicates for t in tallies),
        "receipts": sorted([k, v] for k, v in receipts.items()),
        "errors": errors[:MAX_ERRORS_KEPT],
        "error_count": len(errors),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "ended_ns": time.monotonic_ns(),
    }


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except WorkerArgsError as exc:
        print(f"gauntlet.bench.worker: error: {exc}", file=sys.stderr)
        return 2
    raise_open_files_limit()
    trio.run(run_worker, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
