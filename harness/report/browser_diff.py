"""Where the browser and the reference client differ, per transport x intermediary (pure).

A browser transport `browser_X` is paired with the reference transport `X` on the same
intermediary and protocol. For each pair: both verdicts, the median reconnect delay, the
`Last-Event-ID`s the server received, requests per delivered event and whether an error
status closed the stream for good (cells' `reconnection`, harness/reconnection.py). A pair
whose verdicts differ, or whose reconnection behaviour differs in kind, is a finding; the
report lists every pair and marks the findings, so a reader of results.json alone sees them.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from gauntlet.report.templating import render

BROWSER_PREFIX = "browser_"
DELAY_SLACK_MS = 100.0  # loopback + a page timer: delays closer than this are "the same"


def _key(cell: dict[str, Any]) -> tuple[str, str, str]:
    return (
        cell["transport"].removeprefix(BROWSER_PREFIX),
        cell["intermediary"],
        cell.get("protocol", "h1"),
    )


def _side(cell: dict[str, Any]) -> dict[str, Any]:
    r = cell.get("reconnection") or {}
    delays = r.get("delays_ms") or []
    return {
        "cell": cell["id"],
        "verdict": cell["verdict"],
        "reconnect_delay_ms": round(median(delays), 1) if delays else None,
        "reconnects": len(delays),
        "last_event_ids": r.get("last_event_ids") or [],
        "requests_per_event": r.get("requests_per_event"),
        "closed_for_good": bool(r.get("closed_for_good")),
    }


def differences(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (browser, reference) pair in the run with what differs between them."""
    reference = {_key(c): c for c in doc["cells"] if not c["transport"].startswith(BROWSER_PREFIX)}
    pairs = []
    for cell in doc["cells"]:
        if not cell["transport"].startswith(BROWSER_PREFIX) or _key(cell) not in reference:
            continue
        b, r = _side(cell), _side(reference[_key(cell)])
        differs = []
        if b["verdict"] != r["verdict"]:
            differs.append(f"verdict {b['verdict']} vs {r['verdict']}")
        if b["closed_for_good"] != r["closed_for_good"]:
            differs.append(
                "after an error status: "
                + (
                    "browser closed for good, reference kept trying"
                    if b["closed_for_good"]
                    else "reference closed for good, browser kept trying"
                )
            )
        bd, rd = b["reconnect_delay_ms"], r["reconnect_delay_ms"]
        if bd is not None and rd is not None and abs(bd - rd) > DELAY_SLACK_MS:
            differs.append(f"median reconnect delay {bd} vs {rd} ms")
        if bool(b["last_event_ids"]) != bool(r["last_event_ids"]):
            differs.append(
                "Last-Event-ID sent by "
                + ("browser only" if b["last_event_ids"] else "reference only")
            )
        transport, intermediary, protocol = _key(cell)
        pairs.append(
            {
                "transport": transport,
                "intermediary": intermediary,
                "protocol": protocol,
                "browser": b,
                "reference": r,
                "differences": differs,
            }
        )
    return pairs


def _fmt(side: dict[str, Any]) -> str:
    ids = side["last_event_ids"]
    shown = ",".join(ids[:5]) + ("..." if len(ids) > 5 else "")
    return (
        f"{side['verdict']}; {side['reconnects']} reconnects, median delay "
        f"{side['reconnect_delay_ms']} ms; Last-Event-ID [{shown}]; "
        f"{side['requests_per_event']} req/event"
        + ("; closed for good" if side["closed_for_good"] else "")
    )


def markdown_lines(doc: dict[str, Any]) -> list[str]:
    pairs = differences(doc)
    if not pairs:
        return []
    out = [
        "",
        "## Browser vs reference client",
        "",
        "| transport | intermediary | browser | reference | differs |",
        "|---|---|---|---|---|",
    ]
    for p in pairs:
        where = p["intermediary"] + ("" if p["protocol"] == "h1" else f" ({p['protocol']})")
        out.append(
            f"| {p['transport']} | {where} | {_fmt(p['browser'])} | "
            f"{_fmt(p['reference'])} | {'; '.join(p['differences']) or 'same'} |"
        )
    return out


def view(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The section's rows (templates/browser_diff.html.j2); empty: no browser pair in the run."""
    return [
        {
            "transport": p["transport"],
            "intermediary": p["intermediary"],
            "protocol": p["protocol"],
            "browser": _fmt(p["browser"]),
            "reference": _fmt(p["reference"]),
            "finding": bool(p["differences"]),
            "differs": "; ".join(p["differences"]) or "same",
        }
        for p in differences(doc)
    ]


def html_section(doc: dict[str, Any]) -> str:
    return render("browser_diff.html.j2", browser_diff=view(doc)).strip()
