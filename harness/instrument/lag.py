"""How late the harness itself was: each publication against the workload's own schedule.

The publisher runs in the harness process, on the same trio loop as the reference server and
the reference clients, paced by `trio.sleep_until(start + at)` (harness/topology.py). When
that process cannot run (a loaded machine: other runs, a busy loop on every core, a browser
starting beside it), each publication is late by as long as the loop waited, and every
latency measured in that stretch carries the same stall: the instrument's, not the
intermediary's. A cell records the largest such delay, so a latency verdict that flips
between runs can be told apart from a hop that held events. Measured in default-profile runs
on the 2-core machine: at most 0.11 s outside the browsers matrix at load 13, up to 2.2 s at
load 21 (a busy loop per core on top of other runs). Pure.
"""

from __future__ import annotations

from gauntlet.metrics import NS_PER_MS

STALLED_MS = 50.0
"""A lag above this is noted in the cell: a fifth of the usual 250 ms p95 budget."""


def publish_lag_ms(planned_s: list[float], published_ns: list[int]) -> float | None:
    """The largest delay of a publication behind its plan, in ms; None with under two.

    The first publication is the origin: the pacing loop starts it at once, so its own
    delay is the loop's start, not a stall. Publications pair with the plan in order."""
    n = min(len(planned_s), len(published_ns))
    if n < 2:
        return None
    t0_ns, p0_s = published_ns[0], planned_s[0]
    lag = max(
        (published_ns[i] - t0_ns) / NS_PER_MS - (planned_s[i] - p0_s) * 1000 for i in range(n)
    )
    return round(max(0.0, lag), 3)


def lag_note(lag_ms: float | None) -> str | None:
    """A line for the cell's notes when the harness was stalled past STALLED_MS."""
    if lag_ms is None or lag_ms <= STALLED_MS:
        return None
    return (
        f"the harness itself was stalled: a publication left {lag_ms:.0f} ms behind its "
        "schedule (a loaded machine); latencies in that stretch include the stall"
    )
