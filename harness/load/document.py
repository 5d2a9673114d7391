"""The load document (PURE except `write_load`): one versioned JSON per `gauntlet load` run,
with the shared header of harness/documents.py (schema_version, kind, tool, machine,
dependencies, git, clock), at `<results>/load/<id>.json`, `<results>/load/latest.json` linked
to the newest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from gauntlet import documents
from gauntlet.documents import Document

LOAD_SCHEMA_VERSION = 1
KIND = "gauntlet-load"
LOAD_DIR = "load"


def clock_entry(clock: str, sync_error_ms: float | None, resolution_ns: int) -> dict[str, Any]:
    """Which clock the latencies use and how far it can be trusted (pure).

    One machine: CLOCK_MONOTONIC, system-wide on Linux (clock_gettime(2)), shared by the
    publisher and every worker: no synchronisation error. Several machines: the wall clock,
    whose error between machines is the user's to state (`chronyc tracking`'s offset, say);
    unstated, it is recorded as unknown and the latencies say so."""
    if clock == "monotonic":
        return {
            "name": "CLOCK_MONOTONIC (system-wide)",
            "resolution_ns": resolution_ns,
            "sync_error_ms": 0.0,
            "note": "publisher and workers read one clock",
        }
    return {
        "name": "CLOCK_REALTIME (wall)",
        "resolution_ns": resolution_ns,
        "sync_error_ms": sync_error_ms,
        "note": "latencies across machines are off by up to the machines' clock offset"
        + (
            ""
            if sync_error_ms is not None
            else "; the offset was not stated "
            "(--clock-sync-error-ms): treat latencies as unknown to that extent"
        ),
    }


def cpu_per_event(point: dict[str, Any]) -> dict[str, float | None]:
    """CPU microseconds per delivered event, per role (pure): the fan-out's cost."""
    delivered = point.get("delivered") or 0
    out: dict[str, float | None] = {}
    for row in point.get("processes", []):
        if row["cpu_s"] is None or not delivered:
            continue
        out[row["role"]] = round((out.get(row["role"]) or 0) + row["cpu_s"] * 1e6 / delivered, 2)
    return out


def summary_lines(doc: dict[str, Any]) -> list[str]:
    """A short human summary (pure)."""
    out = []
    for p in doc["points"]:
        head = f"{p['transport']} x {p['users']} users through {p['path']} ({p['workers']} workers)"
        if p.get("error"):
            out.append(f"{head}: ERROR {p['error']}")
        lat, lim = p.get("latency_ms") or {}, p.get("limiting") or {}
        if p.get("expected_deliveries") is not None:
            out.append(
                f"{head}: delivered {p['delivered']}/{p['expected_deliveries']} "
                f"({p['delivered_fraction']}), lost {p['lost']}, duplicates "
                f"{p['duplicates']}; p50 {lat.get('p50')} ms, p99 {lat.get('p99')} ms"
            )
            if p.get("never_subscribed"):
                out.append(
                    f"  never subscribed (not loss through the path): {p['never_subscribed']} "
                    f"users, {p.get('lost_never_subscribed')} deliveries; "
                    f"{p.get('never_subscribed_causes')}"
                )
            out.append(
                f"  reconnects {p.get('reconnects')}, client errors "
                f"{p.get('client_error_kinds') or {}}; stop: {p.get('stop_reason')}"
            )
        if lim:
            out.append(
                f"  limiting process: {lim['role']} (pid {lim['pid']}) at "
                f"{lim['cpu_share']:.0%} of a core"
                + (" (saturated)" if lim["saturated"] else "")
                + (
                    f"; the machine was saturated ({p.get('machine_busy_cores')} cores "
                    "busy, other tenants included)"
                    if lim.get("machine_saturated")
                    else ""
                )
            )
        peak = p.get("limiting_at_peak") or {}
        if peak:
            out.append(
                f"  busiest second: {peak['role']} (pid {peak['pid']}) at "
                f"{peak['cpu_share']:.0%} of a core; the machine at its busiest "
                f"{p.get('peak_machine_busy_cores')} cores"
            )
        per = cpu_per_event(p)
        if per:
            out.append(
                "  CPU per delivered event: "
                + ", ".join(f"{role} {us:g} us" for role, us in per.items())
            )
        out.append(
            f"  load average before/after: {p.get('load_average_before')} / "
            f"{p.get('load_average_after')}"
        )
    return out


class LoadDocument(Document):
    """One `gauntlet load` run: its points (harness/load/run.py: measure) and their knees."""

    KIND: ClassVar[str] = KIND
    SCHEMA_VERSION: ClassVar[int] = LOAD_SCHEMA_VERSION
    ID_FIELD: ClassVar[str] = "load_id"

    load_id: str
    command: list[str]
    target: str | None
    points: list[dict[str, Any]]
    knees: list[dict[str, Any]]
    wall_s: float


def write_load(doc: LoadDocument, results_dir: Path) -> Path:
    """`<results>/load/<id>.json`, then `latest.json` linked to it (harness/documents)."""
    return documents.write(doc, results_dir / LOAD_DIR)
