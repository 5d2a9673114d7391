"""The documented bounds of every number and name a scenario or the CLI gives Gauntlet.

Each bound is where a value stops describing a measurement and starts breaking the instrument
(measured while hardening it, issue "When the harness fails, it says so"):
`time_scale = 1e9` turns a 60 s budget into 60 ns, `1e-9` or `rate_per_s = 1e-9` never ends,
`events = 1e9` allocates tens of GB before the first event, a 50-hop chain starts 48
mitmdumps (3.5 GB), `--jobs 1000` distorts latencies 70x on 2 cores. The scenario loader
(its models, harness/scenario_models.py, and harness/scenario.py) checks all of them once, at
load, with one line naming file, place and field; README.md lists them. Pure data and pure
checks: nothing here starts a process.
"""

from __future__ import annotations

import math
import os
import re

TIME_SCALE = (1.0, 1000.0)
"""Real-world durations are divided by it: at 1000 the shortest real timeout in scenarios/
(a 300 ms WebSocket kill) would be under a millisecond, below what a cell can resolve."""
EVENTS = (1, 100_000)
"""Every event is kept with its samples in results.json (about 60 bytes each)."""
RATE_PER_S = (0.1, 10_000.0)
"""Below 0.1/s a cell is a wait, above 10 000/s the publisher, not the hop, is measured
(harness/instrument/bench: the loopback floor)."""
PAYLOAD_BYTES = (1, 4 * 1024 * 1024)
BURST = (1, EVENTS[1])
QUIET_REAL_S = (0.0, 86_400.0)
LATENCY_P95_MS = (0.0, 3_600_000.0)  # exclusive low end: a budget of 0 ms cannot be met
DELIVER_WITHIN_REAL_S = (0.0, 7 * 86_400.0)  # exclusive low end
CELL_MAX_S = 3600.0
"""A cell's publishing plus its delivery budget, after scaling: one hour at most."""
MAX_HOPS = 8
"""Hops per chain: the longest real path in scenarios/ has 2; each hop is a mitmdump of
about 70 MB."""
OPTION_INT = (0, 2**31 - 1)  # mitmproxy int options: milliseconds, bytes, kbit/s, counts
OPTION_STR_CHARS = 256
PROFILE_REPEATS = (1, 100)
PROFILE_JOBS = (1, 16)
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}")
"""Names of matrices, intermediaries and profiles become file and folder names (run ids, the
per-cell work folder): letters, digits, `_` and `-`, never `/`, `..` or a leading `-`."""


def max_jobs() -> int:
    """Cells side by side: at most one per core (at least 2). More and the cells' hops compete
    for the CPU, so what is measured is the machine, not the intermediary."""
    return max(2, os.cpu_count() or 1)


def out_of_bounds(value: float, bounds: tuple[float, float], *, above: bool = False) -> str | None:
    """Why `value` is not a finite number within `bounds` (inclusive; `above`: the low end is
    exclusive), or None when it is."""
    low, high = bounds
    if not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    if (value <= low if above else value < low) or value > high:
        low_side = f"> {low:g}" if above else f">= {low:g}"
        return f"must be {low_side} and <= {high:g}, got {value!r}"
    return None


def bad_name(name: str) -> str | None:
    """Why `name` cannot be a file name here, or None."""
    if NAME_PATTERN.fullmatch(name):
        return None
    shown = name if len(name) <= 40 else name[:37] + "..."
    return (
        f"name {shown!r} must be 1-64 letters, digits, '_' or '-', starting with a "
        "letter, digit or '_' (it becomes a file name)"
    )
