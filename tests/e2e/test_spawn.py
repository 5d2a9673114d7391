"""Child processes (hops, bench workers, test proxies) live exactly as long as the harness.

Determinism contract: real processes, no sockets; every wait is bounded with `fail_after`.
The first test waits in real time on purpose: trio retires an idle worker thread after
`IDLE_TIMEOUT` (10 s), and a child whose PR_SET_PDEATHSIG was armed from such a thread used
to get SIGKILL then, with the harness alive (every cell longer than ~10 s lost its hops).
Tolerance: one second past trio's idle timeout; the kill, when it happened, was immediate.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import trio
from trio._core._thread_cache import IDLE_TIMEOUT  # the constant behind the old bug

from gauntlet.spawn import kill_group, spawn
from tests.e2e.conftest import REPO, alive

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_a_child_outlives_trios_idle_worker_threads():
    child = await spawn(["sleep", "120"], stdin=subprocess.DEVNULL)
    try:
        await trio.to_thread.run_sync(lambda: None)  # a worker thread that will now retire
        await trio.sleep(IDLE_TIMEOUT + 1)  # real time: past the retirement of every idle thread
        assert alive(child.pid), "the child died with a retired thread (PDEATHSIG)"
    finally:
        await kill_group(child)
    assert not alive(child.pid)


async def test_children_die_with_the_harness_even_on_sigkill():
    script = textwrap.dedent("""
        import os, signal, subprocess, trio
        from gauntlet.spawn import spawn

        async def main():
            child = await spawn(["sleep", "120"], stdin=subprocess.DEVNULL)
            print(child.pid, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup code gets to run

        trio.run(main)
    """)
    harness = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert harness.returncode == -9, harness.stderr
    pid = int(harness.stdout.split()[0])
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone and reaped
    try:
        with trio.fail_after(5):
            await trio.lowlevel.wait_readable(fd)  # readable once the process has exited
    finally:
        os.close(fd)
    assert not alive(pid)
