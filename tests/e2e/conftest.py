"""Shared helpers for end-to-end tests: run the real `gauntlet` CLI as a subprocess.

Determinism contract: every process binds 127.0.0.1 on a port the OS picks; every wait has a
hard bound (`fail_after`); nothing sleeps to wait for readiness, tests read the CLI's own
progress lines instead.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import trio

REPO = Path(__file__).resolve().parents[2]


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


@pytest.fixture
def run_env(tmp_path):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return env
