"""Child processes (hops, Locust processes) that die with the harness, however it ends.

`PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process
(prctl(2)). `trio.lowlevel.open_process` forks from a trio worker thread, and trio retires a
worker thread after 10 s idle (trio/_core/_thread_cache.py, `IDLE_TIMEOUT`), so a child started
that way with PDEATHSIG got SIGKILL about 10 s later while the harness was alive and well.
Children are forked here from one dedicated thread that lives as long as the interpreter, and
awaited through a pidfd, as trio does on Linux.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import IO, Any

import trio

_PR_SET_PDEATHSIG = 1
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gauntlet-spawn")


ENV_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")
"""What a hop inherits from the harness's environment: enough to find programs, write its
log in the right encoding and tell the time. Nothing else: no credentials or tokens the
harness happens to run with, and no `http_proxy` that could send a hop's traffic elsewhere."""


def minimal_env(**extra: str) -> dict[str, str]:
    """The harness's environment cut down to ENV_KEPT, plus `extra`."""
    return {**{k: os.environ[k] for k in ENV_KEPT if k in os.environ}, **extra}


def die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Child:
    """A started child: `pid`, `returncode`, `await wait()`, and trio streams for pipes."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stdin = _stream(popen.stdin)
        self.stdout = _stream(popen.stdout)
        self.stderr = _stream(popen.stderr)

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    async def wait(self) -> int:
        if self._popen.poll() is None:
            fd = os.pidfd_open(self.pid)
            try:
                await trio.lowlevel.wait_readable(fd)
            finally:
                os.close(fd)
        return self._popen.wait()

    async def aclose(self) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            if stream is not None:
                await stream.aclose()


def _stream(pipe: IO[bytes] | None) -> trio.lowlevel.FdStream | None:
    """A pipe to the child (subprocess.PIPE) as a trio stream; the Popen file is closed."""
    if pipe is None:
        return None
    stream = trio.lowlevel.FdStream(os.dup(pipe.fileno()))
    pipe.close()
    return stream


async def spawn(argv: Sequence[str], **popen_options: Any) -> Child:
    """Start `argv` in its own process group (killable as a whole), with SIGKILL on our death."""
    start = partial(
        subprocess.Popen,
        list(argv),
        start_new_session=True,
        preexec_fn=die_with_parent,
        **popen_options,
    )
    future = _SPAWNER.submit(start)
    return Child(await trio.to_thread.run_sync(future.result))


async def kill_group(child: Child, timeout_s: float = 5.0) -> None:
    """SIGKILL the child's process group and reap it (bounded), shielded from cancellation."""
    with trio.CancelScope(shield=True):
        if child.returncode is None:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with trio.move_on_after(timeout_s):
            await child.wait()
        await child.aclose()
