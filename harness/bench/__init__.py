"""`gauntlet bench`: how fast and how far the instrument itself goes.

One module, one job:

- `worker.py`   a load-generator subprocess (`python -m gauntlet.bench.worker`): N subscribers
                of one transport, the reference clients from harness/clients, receipts
                stamped with `time.monotonic_ns()` (system-wide, so comparable with the
                server's publish stamps in the parent);
- `procs.py`    CPU time and peak RSS of a process, from /proc;
- `sweep.py`    one measured point: server (this process), optional transparent hops,
                subscribers spread over workers, a bounded 1 event/s workload, teardown;
- `document.py` PURE: the versioned bench document, the knee, the targets, the schema check;
- `run.py`      the whole benchmark: floor, hop overhead, load sweep, matrix wall times.

This package imports nothing itself, so a worker process loads only what it runs.
"""
