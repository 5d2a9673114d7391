"""Shared helpers for end-to-end tests: run the real `gauntlet` CLI as a subprocess.

Determinism contract: every process binds 127.0.0.1 on a port the OS picks; every wait has a
hard bound (`fail_after`); nothing sleeps to wait for readiness, tests read the CLI's own
progress lines instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

REPO = Path(__file__).resolve().parents[2]
SMOKE_RUN = ("run", "--matrix", "smoke", "--progress", "json")
"""The smoke matrix, its progress events on stderr (what `signal_mid_run` waits on)."""


def gauntlet_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gauntlet", *args]


def progress_events(stderr: str) -> list[dict[str, Any]]:
    """The progress events of `gauntlet run --progress json` (one JSON object per line) in
    what it wrote to stderr so far; other lines (`gauntlet: interrupted`) and a line still
    being written are left out."""
    return [
        json.loads(line)
        for line in stderr.splitlines(keepends=True)
        if line.startswith("{") and line.endswith("\n")
    ]


def count(events: list[dict[str, Any]], kind: str) -> int:
    return sum(e["event"] == kind for e in events)


@dataclass
class Topology:
    """Pids and ports of a run's hops and servers (its progress events), to check that none
    outlives the run."""

    pids: set[int] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)

    def read(self, event: dict[str, Any]) -> None:
        if event["event"] == "HopListening" and event["pid"] is not None:
            self.pids.add(event["pid"])
        if event["event"] in ("HopListening", "ServerListening"):
            port = urlsplit(event["url"]).port
            if port is not None:
                self.ports.add(port)

    @classmethod
    def of(cls, stderr: str) -> Topology:
        """Every hop and server a run's progress events (`--progress json`) named."""
        topology = cls()
        for event in progress_events(stderr):
            topology.read(event)
        return topology


def alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def port_refuses(port: int) -> bool:
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return True
    await stream.aclose()
    return False


@dataclass
class Signalled:
    """What a run that was sent a signal mid-way ended with."""

    returncode: int
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        return progress_events(self.stderr)


async def signal_mid_run(
    args: Sequence[str],
    ready: Callable[[list[dict[str, Any]]], bool],
    signum: int,
    ready_within_s: float = 60,
    exit_within_s: float = 30,
) -> Signalled:
    """Start `gauntlet *args` (with `--progress json` among them: its events on stderr), wait
    until `ready(the events so far)` holds, send `signum` and read stderr until it exits.

    The moment comes from the run itself, never from a sleep; both waits are bounded, and
    the run is killed if the test fails before it has exited."""
    proc = await trio.lowlevel.open_process(
        gauntlet_cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    stderr = b""
    try:
        with trio.fail_after(ready_within_s):
            while not ready(progress_events(stderr.decode(errors="replace"))):
                chunk = await proc.stderr.receive_some(4096)
                assert chunk, stderr.decode(errors="replace")
                stderr += chunk
        proc.send_signal(signum)
        with trio.fail_after(exit_within_s):
            while chunk := await proc.stderr.receive_some(4096):
                stderr += chunk
            await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
    return Signalled(proc.returncode, stderr.decode(errors="replace"))


async def outlived(topology: Topology) -> list[str]:
    """What of a run's hops and servers is still there after it: a hop's pid alive, a port
    still accepting (an empty list: nothing)."""
    pids = [f"pid {pid}" for pid in sorted(topology.pids) if alive(pid)]
    return pids + [
        f"port {port}" for port in sorted(topology.ports) if not await port_refuses(port)
    ]


@pytest.fixture
def run_env(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return env
