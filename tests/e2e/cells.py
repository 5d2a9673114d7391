"""The one-cell spec the e2e tests hand to `run_cell`, built in one place.

Those tests differ only in the chain, the transport, the protocol and how much is sent; the
rest is the same everywhere: matrix "test", 64-byte payloads, a 250 ms p95 budget and no
expectation (each test asserts its own). By default five events at 20/s, to be delivered
within 60 real-world seconds at time scale 60, i.e. 1 s (harness/spec.py `Timing`).
"""

from __future__ import annotations

from gauntlet.scenario import CellSpec, Intermediary, Timing, Workload
from gauntlet.spec import HopSpec
from gauntlet.verdict import Budget

ONE_SECOND = Timing(60, 60)
TWO_SECONDS = Timing(30, 60)
"""60 real-world seconds at time scale 30: short polling (every 5 s / 30) has room."""


def cell(
    hops: tuple[HopSpec, ...],
    name: str | None = None,
    *,
    transport: str = "sse",
    protocol: str = "h1",
    events: int = 5,
    rate_per_s: float = 20,
    timing: Timing = ONE_SECOND,
) -> CellSpec:
    """A cell of `transport` over `protocol` through `hops` (client first; none: direct).

    `name` names the intermediary (the cell id is `transport-name`); by default the hops'
    labels joined by `+`, or `direct` when there is none."""
    name = name or "+".join(h.label for h in hops) or "direct"
    return CellSpec(
        "test",
        transport,
        Intermediary(name, "a chain of the test", hops),
        Workload(events, rate_per_s, 64),
        Budget(250),
        timing,
        None,
        None,
        protocol,
    )
