"""The fidelity comparison: does an emulation's cell show what its real device's cell showed?

Pure (results entries in, rows and text out), so it is mutation-tested (pyproject.toml,
[tool.mutmut]); harness/fidelity.py reads the plan and builds the cells, and re-exports these
names. Per (device, preset, transport, workload) a row compares, in the order a reader checks
them: the verdict; delivered/sent; whether the client got the response headers at all; the
HTTP status codes in how its connections ended; whether it reconnected (not how often); the
added p50 latency, the device's against the direct cell and the emulation's against a bare
mitmdump hop in its mode (the hop's own relay cost is the bench's figure, not a claim), which
agrees within max(5 ms, 25 % of the larger) (README.md, "How faithful").

A latency difference must also stand out of the cells' own noise: the p50 of 15 events moves
by 10 ms and more between identical runs on a loaded machine (squid's long-poll p50 was 8, 16
and 21 ms in three runs at load 10-12, the relay's 9, 17 and 21 ms), so a row decided on the
p50s alone flipped between agree and differ from run to run. Each side's added latency also
gets the distribution-free 95 % interval of its shift (Moses, from the Hodges-Lehmann pairwise
differences of the per-event latencies: harness/report/shift.py), and the row differs in
latency only when the p50s disagree AND the two intervals lie further apart than the
tolerance. A difference the device and the emulation really have (nginx_defaults' 20 ms
against nginx's 5, every event) separates the intervals; scheduling noise does not. Cells
without per-event samples are judged on the p50s alone.
"""

from __future__ import annotations

import re
from typing import Any

from gauntlet.report.shift import interval_rank, latencies, pairwise
from gauntlet.verdict import Verdict

LATENCY_MIN_MS = 5.0
LATENCY_PCT = 25.0
NOISE_CONFIDENCE = 0.95
AGREE, DIFFER, NOT_CLAIMED, SKIPPED = "agree", "differ", "not claimed", "skipped"

_STATUS = re.compile(r"\b([1-5]\d\d)\b")


def _p50(entry: dict[str, Any]) -> float | None:
    return ((entry.get("metrics") or {}).get("latency_ms") or {}).get("p50")


def observed(entry: dict[str, Any], direct: dict[str, Any] | None) -> dict[str, Any]:
    """What a cell showed, in the terms the comparison uses."""
    m = entry.get("metrics") or {}
    conns = entry.get("connections") or []
    statuses = sorted({int(code) for c in conns for code in _STATUS.findall(c.get("ended", ""))})
    p50, base = _p50(entry), _p50(direct) if direct else None
    return {
        "verdict": entry["verdict"],
        "delivered": f"{m.get('delivered', 0)}/{m.get('sent', 0)}",
        "headers_seen": any(c.get("http_version") for c in conns),
        "statuses": statuses,
        "reconnected": bool(m.get("reconnects")),
        "added_p50_ms": None if p50 is None or base is None else round(p50 - base, 1),
    }


def _tolerance(a: float, b: float) -> float:
    return max(LATENCY_MIN_MS, LATENCY_PCT / 100 * max(abs(a), abs(b)))


def _latency_agrees(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= _tolerance(a, b)


def added_interval(
    entry: dict[str, Any], base: dict[str, Any] | None
) -> tuple[float, float] | None:
    """The 95 % interval (ms) of `entry`'s per-event latencies shifted against `base`'s: the
    k-th smallest and largest pairwise difference (Moses); None without samples on a side."""
    old, new = latencies([base]) if base else [], latencies([entry])
    if not old or not new:
        return None
    diffs = pairwise(old, new)
    k = interval_rank(len(old), len(new), NOISE_CONFIDENCE)
    return round(float(diffs[k]), 1), round(float(diffs[len(diffs) - 1 - k]), 1)


def _within_noise(
    real_iv: tuple[float, float] | None, emu_iv: tuple[float, float] | None, tolerance: float
) -> bool:
    """Whether the two intervals come within `tolerance` of each other (overlap included)."""
    if real_iv is None or emu_iv is None:
        return False
    gap = max(emu_iv[0] - real_iv[1], real_iv[0] - emu_iv[1])
    return gap <= tolerance


def compare(
    real_entry: dict[str, Any],
    emu_entry: dict[str, Any],
    direct: dict[str, Any] | None,
    latency_unclaimed: str | None = None,
    relay: dict[str, Any] | None = None,
) -> tuple[str, list[str]]:
    """(agree | differ | not claimed | skipped, what differs: `field real X, emulation Y`;
    an agreeing row whose p50s differ only within the cells' noise carries that as a note).

    The device's added latency is against `direct`; the emulation's against `relay`, a bare
    mitmdump hop in the emulation's mode (a `transparent` cell of the same run), when there is
    one: a Python hop relays each read a few ms slower than nginx or haproxy (more on a busy
    machine), a cost the bench reports and no emulation claims to share with its device. What
    an emulation claims is the latency its behaviour adds. Without `relay`, against `direct`.
    With `latency_unclaimed` (why), added latency is not compared: a row whose only
    difference would be latency is "not claimed", with both figures and the reason. Pure."""
    if Verdict.SKIPPED in (real_entry["verdict"], emu_entry["verdict"]):
        why = (
            real_entry["reason"]
            if real_entry["verdict"] == Verdict.SKIPPED
            else emu_entry["reason"]
        )
        return SKIPPED, [why]
    r, e = observed(real_entry, direct), observed(emu_entry, relay or direct)
    diffs = []
    for key in ("verdict", "delivered", "headers_seen", "statuses", "reconnected"):
        if r[key] != e[key]:
            diffs.append(f"{key} real {r[key]}, emulation {e[key]}")
    ra, ea = r["added_p50_ms"], e["added_p50_ms"]
    notes = []
    if not _latency_agrees(ra, ea):
        latency = f"added p50 real {ra} ms, emulation {ea} ms"
        noise = False
        if ra is not None and ea is not None:
            real_iv = added_interval(real_entry, direct)
            emu_iv = added_interval(emu_entry, relay or direct)
            if real_iv is not None and emu_iv is not None:
                latency += f" (95 % intervals {list(real_iv)} and {list(emu_iv)} ms)"
                noise = _within_noise(real_iv, emu_iv, _tolerance(ra, ea))
        if noise:  # an agreeing row says so: the p50s differ, the samples do not show it
            notes.append(f"{latency}: within noise")
        elif latency_unclaimed is None:
            diffs.append(latency)
        elif not diffs:
            return NOT_CLAIMED, [f"{latency}: not claimed ({latency_unclaimed})"]
    return (DIFFER if diffs else AGREE), diffs + notes


def rows(cells_: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (device, preset, emulation, transport, workload) found in a run's cells."""
    by_id = {c["id"]: c for c in cells_}
    keys = sorted({(c["id"].partition(":")[0], c["transport"]) for c in cells_})
    out = []
    for pair in pairs:
        device, preset = pair["real"].split(":", 1)
        for workload, transport in keys:
            real_entry = by_id.get(f"{workload}:{transport}-{pair['real']}")
            if real_entry is None:
                continue
            direct = by_id.get(f"{workload}:{transport}-direct")
            relay = by_id.get(f"{workload}:{transport}-{pair.get('relay')}")
            row = {
                "device": device,
                "preset": preset,
                "emulation": pair["emulation"],
                "transport": transport,
                "workload": workload,
                "real": observed(real_entry, direct),
            }
            emu = by_id.get(f"{workload}:{transport}-{pair['emulation']}")
            claims_not = pair.get("not_claimed", {})  # keyed by transport or by workload
            unclaimed = claims_not.get(transport) or claims_not.get(workload)
            if pair["emulation"] is None or unclaimed or emu is None:
                row.update(status=NOT_CLAIMED, differs=[unclaimed or pair["claims"]])
            else:
                why_latency = pair.get("latency_not_claimed", {}).get(workload)
                status, differs = compare(real_entry, emu, direct, why_latency, relay)
                row.update(status=status, differs=differs, emulated=observed(emu, relay or direct))
            out.append(row)
    return out


def summary(rows_: list[dict[str, Any]]) -> dict[str, int]:
    return {s: sum(r["status"] == s for r in rows_) for s in (AGREE, DIFFER, NOT_CLAIMED, SKIPPED)}


def render(rows_: list[dict[str, Any]]) -> str:
    """The fidelity table for a terminal: one row per comparison, then the counts."""
    header = ("device:preset", "emulation", "workload", "transport", "status", "what differs")
    table = [header] + [
        (
            f"{r['device']}:{r['preset']}",
            (r["emulation"] or "-").split("~")[0],
            r["workload"],
            r["transport"],
            r["status"],
            "; ".join(r["differs"]) if r["status"] != AGREE else "",
        )
        for r in rows_
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(row[i].ljust(widths[i]) for i in range(5)), row[5]]).rstrip() for row in table
    ]
    counts = summary(rows_)
    lines.append(f"{len(rows_)} comparisons: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)
