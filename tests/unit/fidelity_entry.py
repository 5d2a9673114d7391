"""A cell's results entry with only what a fidelity comparison reads (harness/fidelity_compare):
verdict, reason, connections and the delivery metrics. Shared by test_fidelity and
test_fidelity_compare."""

from __future__ import annotations


def entry(verdict="PASS", delivered=15, sent=15, p50=1.0, conns=None, reconnects=0, id_=""):
    """`id_` as `workload:transport-...`; a cell that delivered nothing has no p50, as in a
    real results.json."""
    conns = [{"conn": 1, "http_version": "HTTP/1.1"}] if conns is None else conns
    return {
        "id": id_,
        "transport": id_.split(":")[-1].split("-")[0] if id_ else "sse",
        "verdict": verdict,
        "reason": f"{verdict.lower()} reason",
        "connections": conns,
        "metrics": {
            "delivered": delivered,
            "sent": sent,
            "reconnects": reconnects,
            "latency_ms": {"p50": p50 if delivered else None},
        },
    }
