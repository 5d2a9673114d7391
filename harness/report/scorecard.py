"""The scorecard: per transport, which of the run's paths it survives, at what cost; then advice.

A team runs Gauntlet to decide which push transport to ship. The verdict grid answers "what
happened in each cell"; this answers "which transport, and why", computed from the run's own
cells only (pure: a results document in, figures and sentences out), so a different run gives
a different recommendation and nothing here is written in advance.

Definitions (per transport):
- a *path* is an intermediary of the run other than `direct`: a single proxy behaviour, or a
  named chain (an intermediary whose hops are not exactly that one behaviour). A path is
  counted once however many protocols and workloads (matrices) crossed it;
- a path *defeats* a transport when any of the transport's cells through it is FAIL (events
  lost or held past the delivery budget). DEGRADED (slow or out of order) is survived, and
  counted; ERROR cells are not evidence either way and are counted apart;
- worst p95: the highest p95 latency among its cells that measured latency;
- added latency: the median, over its non-direct cells, of p50 minus the p50 of the direct
  cell of the same transport, protocol and matrix (absent when the run had no direct cell);
- requests / bytes per delivered event: sums over its cells that delivered something.

The recommendation ranks transports by paths defeated, then paths survived (more evidence
first), then DEGRADED cells, then requests per delivered event, then worst p95, and states
the figures it used.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from gauntlet.report.templating import render
from gauntlet.verdict import MEASURED, Verdict

DIRECT = "direct"
LISTED_DEFEATS = 5  # paths named in a sentence before "..."


@dataclass(frozen=True)
class TransportScore:
    transport: str
    paths: int  # distinct non-direct intermediaries the transport crossed
    chains: int  # of which named chains
    defeated_by: tuple[str, ...]  # path labels, in order of first appearance
    chains_defeated: int
    counts: dict[Verdict, int]  # PASS / DEGRADED / FAIL / ERROR cells
    worst_p95_ms: float | None
    worst_p95_cell: str | None
    added_p50_ms: float | None
    requests_per_event: float | None
    bytes_per_event: float | None
    latency_measured: bool  # False when cells delivered but none measured latency (no send time)

    @property
    def survived(self) -> int:
        return self.paths - len(self.defeated_by)

    @property
    def behaviours(self) -> int:
        return self.paths - self.chains


@dataclass(frozen=True)
class Scorecard:
    scores: tuple[TransportScore, ...]  # ranked, best first
    recommendation: tuple[str, ...] = field(default=())


def _is_chain(cell: dict[str, Any]) -> bool:
    """A named chain unless its hops are exactly one hop of the behaviour it is named after."""
    hops = (cell.get("spec") or {}).get("hops")
    if hops is None:
        return False  # no spec: count it as a single behaviour
    return not (len(hops) == 1 and hops[0].get("behaviours") == [cell["intermediary"]])


def _variant(cell: dict[str, Any]) -> str:
    """What distinguishes cells of one path: the matrix (workload) and the protocol."""
    matrix = (cell.get("spec") or {}).get("matrix", "")
    protocol = cell.get("protocol", "h1")
    return " ".join(p for p in (matrix, "" if protocol == "h1" else protocol) if p)


def _metric(cell: dict[str, Any], *keys: str) -> Any:
    value: Any = cell.get("metrics") or {}
    for key in keys:
        value = (value or {}).get(key)
    return value


def _path_label(path: str, cells: list[dict[str, Any]]) -> str:
    """The path's name; when only some of its cells failed, which ones (matrix, protocol)."""
    failed = [c for c in cells if c["verdict"] == Verdict.FAIL]
    if len(failed) == len(cells):
        return path
    variants = sorted({_variant(c) for c in failed} - {""})
    return f"{path} ({', '.join(variants)})" if variants else path


def _score(
    transport: str, cells: list[dict[str, Any]], direct_p50: dict[tuple[str, str, str], float]
) -> TransportScore:
    by_path: dict[str, list[dict[str, Any]]] = {}
    for c in cells:  # a path whose every cell is ERROR was not measured: not counted
        if c["intermediary"] != DIRECT and c["verdict"] != Verdict.ERROR:
            by_path.setdefault(c["intermediary"], []).append(c)
    chain_paths = {p for p, cs in by_path.items() if _is_chain(cs[0])}
    defeated = [p for p, cs in by_path.items() if any(c["verdict"] == Verdict.FAIL for c in cs)]
    counts = {v: sum(c["verdict"] == v for c in cells) for v in MEASURED}
    p95s = [(p, c["id"]) for c in cells if (p := _metric(c, "latency_ms", "p95")) is not None]
    worst = max(p95s, default=(None, None))
    added = []
    for c in cells:
        p50 = _metric(c, "latency_ms", "p50")
        key = (transport, c.get("protocol", "h1"), (c.get("spec") or {}).get("matrix", ""))
        if c["intermediary"] != DIRECT and p50 is not None and key in direct_p50:
            added.append(p50 - direct_p50[key])
    delivering = [c for c in cells if (_metric(c, "delivered") or 0) > 0]
    delivered = sum(_metric(c, "delivered") for c in delivering)
    requests = sum(_metric(c, "requests") or 0 for c in delivering)
    received = sum(_metric(c, "bytes_received") or 0 for c in delivering)
    return TransportScore(
        transport=transport,
        paths=len(by_path),
        chains=len(chain_paths),
        defeated_by=tuple(_path_label(p, by_path[p]) for p in defeated),
        chains_defeated=sum(p in chain_paths for p in defeated),
        counts=counts,
        worst_p95_ms=worst[0],
        worst_p95_cell=worst[1],
        added_p50_ms=statistics.median(added) if added else None,
        requests_per_event=requests / delivered if delivered else None,
        bytes_per_event=received / delivered if delivered else None,
        latency_measured=bool(p95s) or not delivering,
    )


def _rank_key(s: TransportScore) -> tuple:
    """Fewest defeats, then the most paths survived (evidence), then cost and speed."""
    inf = float("inf")
    return (
        len(s.defeated_by),
        -s.survived,
        s.counts[Verdict.DEGRADED],
        s.requests_per_event if s.requests_per_event is not None else inf,
        s.worst_p95_ms if s.worst_p95_ms is not None else inf,
        s.transport,
    )


def build(doc: dict[str, Any]) -> Scorecard:
    """The scorecard of a results document (pure)."""
    by_transport: dict[str, list[dict[str, Any]]] = {}
    direct_p50: dict[tuple[str, str, str], float] = {}
    for c in doc.get("cells", []):
        by_transport.setdefault(c["transport"], []).append(c)
        p50 = _metric(c, "latency_ms", "p50")
        if c["intermediary"] == DIRECT and p50 is not None:
            key = (c["transport"], c.get("protocol", "h1"), (c.get("spec") or {}).get("matrix", ""))
            direct_p50.setdefault(key, p50)
    scores = sorted((_score(t, cs, direct_p50) for t, cs in by_transport.items()), key=_rank_key)
    return Scorecard(tuple(scores), tuple(recommend(scores)))


def _names(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _defeats(s: TransportScore) -> str:
    shown = list(s.defeated_by[:LISTED_DEFEATS])
    more = " ..." if len(s.defeated_by) > LISTED_DEFEATS else ""
    return f"{s.transport} failed {len(s.defeated_by)} of {s.paths}: {', '.join(shown)}{more}"


def _cost(s: TransportScore) -> str:
    if s.requests_per_event is None:
        return "nothing delivered"
    parts = []
    if s.requests_per_event is not None:
        parts.append(
            f"{s.requests_per_event:.2f} requests and {s.bytes_per_event:.0f} bytes "
            "per delivered event"
        )
    parts.append(
        f"worst p95 {s.worst_p95_ms:.0f} ms"
        if s.worst_p95_ms is not None
        else "latency not measured"
    )
    return ", ".join(parts)


def recommend(scores: list[TransportScore]) -> list[str]:
    """A few sentences, each with its evidence, from ranked scores (best first)."""
    measured = [s for s in scores if s.paths]
    if not measured:
        return ["No recommendation: no transport crossed an intermediary in this run."]
    out = []
    survivors = [s for s in measured if not s.defeated_by]
    if survivors and len({s.paths for s in survivors}) == 1:
        out.append(
            f"{_names([s.transport for s in survivors])} survived every path "
            f"({'all ' if len(survivors) > 1 else ''}{survivors[0].paths} "
            "measured)."
        )
    elif survivors:
        out.append(
            _names([f"{s.transport} ({s.paths})" for s in survivors])
            + " survived every path they crossed (how many in brackets)."
        )
    others = [s for s in measured if s.defeated_by]
    if others:
        out.append("; ".join(_defeats(s) for s in others) + ".")
    best = measured[0]
    if best.defeated_by and len(measured) == 1:
        out.append(
            f"Only {best.transport} was measured: run more transports (e.g. --matrix "
            "smoke) to choose between them."
        )
    elif best.defeated_by:
        out.append(
            f"No transport survived every path; {best.transport} lost the fewest "
            f"({len(best.defeated_by)} of {best.paths}): {_cost(best)}."
        )
    else:
        why = "it survived every path"
        if len(survivors) > 1:
            why += (
                f" ({best.paths}, the most of the survivors; ties go to fewer DEGRADED "
                "cells, then fewer requests per event, then a lower worst p95)"
            )
        if len(measured) == 1:
            why += " (the only transport measured)"
        out.append(f"Ship {best.transport}: {why}; {_cost(best)}.")
    errors = [s for s in measured if s.counts[Verdict.ERROR]]
    if errors:
        out.append(
            "Not measured (ERROR cells, no evidence either way): "
            + ", ".join(f"{s.transport} {s.counts[Verdict.ERROR]}" for s in errors)
            + "."
        )
    unmeasured = [s.transport for s in measured if not s.latency_measured]
    if unmeasured:
        out.append(
            f"Latency not measured for {_names(unmeasured)} (the endpoint sends no "
            "send time): ranked on delivery and cost only."
        )
    return out


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


HEADER = (
    "transport",
    "paths survived",
    "chains survived",
    "PASS",
    "DEGRADED",
    "FAIL",
    "ERROR",
    "worst p95 ms",
    "added p50 ms",
    "requests/event",
    "bytes/event",
    "defeated by",
)


def rows(card: Scorecard) -> list[tuple[str, ...]]:
    """One row per transport, best first, in HEADER's order (strings)."""
    out = []
    for s in card.scores:
        out.append(
            (
                s.transport,
                f"{s.survived}/{s.paths}",
                f"{s.chains - s.chains_defeated}/{s.chains}",
                *(str(s.counts[v]) for v in MEASURED),
                _fmt(s.worst_p95_ms) if s.latency_measured else "not measured",
                _fmt(s.added_p50_ms),
                _fmt(s.requests_per_event, 2),
                _fmt(s.bytes_per_event, 0),
                ", ".join(s.defeated_by) or "-",
            )
        )
    return out


def subject(doc: dict[str, Any]) -> str:
    """What the run measured: the reference server, or the team's app / endpoint (cells'
    `target`, harness/target.py)."""
    targets = sorted({c.get("target") or "reference server" for c in doc.get("cells", [])})
    return ", ".join(targets)  # the renderers ask only for a run with cells


def latency_note(doc: dict[str, Any]) -> str | None:
    """`latency: not measured (...)` when cells had no send time (harness/target.py)."""
    cells = doc.get("cells", [])
    why = sorted({c["latency"] for c in cells if c.get("latency")})
    if not why:
        return None
    n = sum(bool(c.get("latency")) for c in cells)
    return f"latency: {'; '.join(why)} in {n} of {len(cells)} cells"


def render_text(doc: dict[str, Any]) -> list[str]:
    """The scorecard under the terminal table: aligned columns, then the recommendation."""
    card = build(doc)
    if not card.scores:
        return []
    table = [HEADER, *rows(card)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER) - 1)]
    lines = [
        "",
        f"Scorecard of {subject(doc)} (per transport; a path is an intermediary "
        "other than direct):",
    ]
    for r in table:
        lines.append(
            "  ".join(
                [
                    r[0].ljust(widths[0]),
                    *(r[i].rjust(widths[i]) for i in range(1, len(HEADER) - 1)),
                    r[-1],
                ]
            )
        )  # r[-1] is never blank
    note = latency_note(doc)
    lines += [note] if note else []
    lines += ["", "Recommendation:", *(f"  {s}" for s in card.recommendation)]
    return lines


def render_markdown(doc: dict[str, Any]) -> list[str]:
    card = build(doc)
    if not card.scores:
        return []
    out = [
        "## Scorecard",
        "",
        f"Of {subject(doc)}.",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|---" * len(HEADER) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in rows(card)]
    note = latency_note(doc)
    out += ["", note] if note else []
    out += ["", "**Recommendation.** " + " ".join(card.recommendation), ""]
    return out


def view(doc: dict[str, Any]) -> dict[str, Any] | None:
    """The HTML scorecard's context (templates/scorecard.html.j2); None for a run without cells."""
    card = build(doc)
    if not card.scores:
        return None
    return {
        "subject": subject(doc),
        "header": HEADER,
        "rows": rows(card),
        "note": latency_note(doc),
        "recommendation": card.recommendation,
    }


def render_html(doc: dict[str, Any]) -> str:
    return render("scorecard.html.j2", scorecard=view(doc)).strip()
