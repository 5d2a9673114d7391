"""`gauntlet bench`: how fast and how far the instrument itself goes.

One module, one job:

- `procs.py`    CPU time, peak and current RSS of a process, from /proc;
- `sweep.py`    one measured point on the project's one load generator (harness/load/:
                Locust users on Locust's runners, exact receipts per worker, merged):
                server, optional hops, N subscribers, a bounded workload, the bench's point;
- `document.py` PURE: the versioned bench document, the knee, the targets, the schema check;
- `hostile.py`  the reference server's subscribers beside hostile clients (their p99,
                the server's memory), the clients in `hostile_clients.py`, run as a process;
- `run.py`      the whole benchmark: floor, hop overhead, load sweep, hostile clients,
                matrix wall times.

This package imports nothing itself.
"""
