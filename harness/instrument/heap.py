"""Keep the harness's own garbage collector out of its latency figures.

The reference server, the reference clients and the publisher share one process and one
trio loop (harness/instrument/lag.py), so a pause of that process is added to every event in
flight. CPython's cyclic collector pauses it: a full (oldest-generation) collection walks every
tracked object, and after start-up those are mostly the imported modules (mitmproxy, pydantic,
hypercorn, matplotlib's helpers). Measured on the 2-core machine with Python 3.12: 145 000
objects after importing the CLI, the runner and the report, a full collection 118 ms; in the
hostile-clients measurement (harness/instrument/bench/hostile.py) such collections came every
3-4 s under the attack's allocations, 100-140 ms each, and put 100 ms latencies into the
p99 of an otherwise 5 ms run. Past STALLED_MS (50 ms) that is an instrument stall.

`gc.freeze()` moves every object tracked at that moment into a permanent generation that later
collections skip (https://docs.python.org/3/library/gc.html#gc.freeze, added in 3.7 for
long-lived servers). Frozen after start-up, the same full collections took 8-27 ms. The cost:
a reference cycle among the frozen start-up objects is never freed, which for imported
modules and their constants does not happen in practice.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect once, then freeze every object alive now; returns how many are frozen.

    Call it after the imports and before the first measurement; calling it again freezes
    what has been created since."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
