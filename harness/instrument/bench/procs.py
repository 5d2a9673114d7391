"""CPU time, peak and current memory of a process, read from /proc (Linux); the open-files limit.

Every figure is cumulative (CPU since the process started; VmHWM, the peak resident set),
so a measurement takes one reading before and one after and reports the difference. The
peak can be reset for a window by writing `5` to /proc/<pid>/clear_refs (Linux >= 4.0);
where that is not allowed, the peak is the process's lifetime peak and says so.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class ProcReading:
    """One reading: cumulative user+system CPU seconds and the peak RSS so far (MB)."""

    cpu_s: float
    peak_rss_mb: float | None


def read(pid: int | None = None) -> ProcReading | None:
    """A reading of `pid` (None: this process); None if the process is gone."""
    where = f"/proc/{pid if pid is not None else 'self'}"
    try:
        with open(f"{where}/stat") as f:
            stat = f.read()
        with open(f"{where}/status") as f:
            status = f.read()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    peak = None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    return ProcReading((utime + stime) / CLOCK_TICKS, peak)


def rss_mb() -> float:
    """This process's resident memory now (VmRSS, MB), where `read` gives its peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def tree_cpu_s(pid: int) -> float | None:
    """CPU seconds of `pid` and its children, from /proc/<pid>/schedstat (ns resolution).

    A real proxy does its work in children (nginx's and haproxy's workers under a master),
    so its cost is the tree's; schedstat's run time (proc(5), sched-stats.rst: time spent on
    the CPU, in ns) is exact where utime/stime count 10 ms ticks, too coarse for the few ms
    a fast proxy spends relaying a few hundred events. None if the process is gone."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")  # every thread of the process
        except OSError:
            if current == pid:
                return None
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0]) / 1e9
                with open(f"/proc/{current}/task/{task}/children") as f:
                    pending += [int(c) for c in f.read().split()]
            except (OSError, ValueError, IndexError):
                continue  # a thread that ended meanwhile
    return total


def reset_peak(pid: int | None = None) -> bool:
    """Reset the peak RSS of `pid` (None: this process); False where the kernel refuses."""
    try:
        with open(f"/proc/{pid if pid is not None else 'self'}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


def read_system() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat; None if unreadable.

    The machine may be shared: the difference over a window says how many cores were busy
    with anything, the bench's processes or others.
    """
    try:
        with open("/proc/stat") as f:
            first = f.readline().split()
    except OSError:
        return None
    ticks = [int(x) for x in first[1:9]]  # user nice system idle iowait irq softirq steal
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return sum(ticks) - idle, sum(ticks)
