"""One private work folder per run (mode 0700), removed on every exit path, swept if orphaned.

Per-cell CA keys, certificates and hop logs live here (harness/tls.py, harness/hops.py). A
normal end, an exception, Ctrl-C and SIGTERM (turned into a cancellation by the runner and
calibration) all leave through the `finally` that removes it. SIGKILL and an out-of-memory
death cannot run a `finally`, so each folder holds `owner.pid` (the owner's pid and its start
time from /proc/<pid>/stat, so a reused pid is not taken for the owner) and every run first
sweeps folders whose owner is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "gauntlet-"
OWNER_FILE = "owner.pid"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (proc(5), field 22), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return None if fields[0] == "Z" else fields[19]  # fields[0] is field 3 (state)


def owner_alive(owner_text: str) -> bool:
    """Whether the process an `owner.pid` names (pid, start time) is still running."""
    try:
        pid_text, start = owner_text.split()
        pid = int(pid_text)
    except ValueError:
        return False
    return _start_ticks(pid) == start


def sweep_dead(root: Path | None = None) -> list[Path]:
    """Remove work folders under `root` (the system temp dir) whose owner is gone."""
    removed = []
    for folder in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        try:
            owner = (folder / OWNER_FILE).read_text()
        except OSError:
            continue  # not ours, or not one of these folders: leave it
        if not owner_alive(owner):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def private_workdir(label: str, root: Path | None = None) -> Iterator[Path]:
    """A fresh 0700 folder `gauntlet-<label>-XXXX` owned by this process; removed on exit."""
    sweep_dead(root)
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{label}-", dir=root))
    try:
        path.chmod(0o700)
        (path / OWNER_FILE).write_text(f"{os.getpid()} {_start_ticks(os.getpid())}\n")
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
