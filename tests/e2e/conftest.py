"""Shared helpers for end-to-end tests: run the real `gauntlet` CLI as a subprocess.

Determinism contract: every process binds 127.0.0.1 on a port the OS picks; every wait has a
hard bound (`fail_after`); nothing sleeps to wait for readiness, tests read the CLI's own
progress lines instead.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio

REPO = Path(__file__).resolve().parents[2]


def gauntlet_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "gauntlet", *args]


@dataclass
class Topology:
    """Pids and ports a run printed with -v, to check that none outlives the run."""

    pids: set[int] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)

    def read(self, line: str) -> None:
        if m := re.search(r"pid (\d+)", line):
            self.pids.add(int(m.group(1)))
        for port in re.findall(r"127\.0\.0\.1:(\d+)", line):
            self.ports.add(int(port))


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
