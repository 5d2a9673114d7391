"""`gauntlet load`: push subscribers at scale, as Locust users on Locust's own runners.

One module, one job:

- `gclients.py`   the subscribers' wire loops for gevent (sse, sse_close_each, long_poll,
                  websocket), reconnecting and resuming as the reference clients do, with the
                  same pure policies (harness/clients/policy.py) and parser (harness/sse.py);
- `locustfile.py` the Locust side: one user class per transport, per-user receipts, the
                  worker -> master receipts message, the stop once every user has every event.
                  Imported only inside Locust's processes (gevent monkey-patches them);
- `accounting.py` PURE: the merge of every worker's receipts into exact deliveries, losses,
                  duplicates and latency per event, and the knee;
- `run.py`        the trio side: target, hops, the Locust master and its workers as child
                  processes, the steady publisher, /proc CPU and RSS, the results document;
- `plots.py`      the report's figures of a load document.

This package's __init__ imports nothing, so a Locust worker loads only what it runs.
"""
