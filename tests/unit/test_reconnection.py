"""Reconnection summaries and the browser-vs-reference pairing (pure)."""

from __future__ import annotations

from gauntlet.eventlog import Disconnected, EventLog, Received, Request, ServerRequest
from gauntlet.reconnection import reconnection_summary
from gauntlet.report.browser_diff import differences, markdown_lines

MS = 1_000_000


def test_reconnection_summary_measures_delay_to_the_next_request_and_resume_ids():
    log = EventLog()
    for record in [
        Request(0, 1, "GET /sse"),
        ServerRequest(0, "/sse", "HTTP/1.1"),
        Received(1, 5 * MS, 1),
        Disconnected(10 * MS, 1, "end of stream"),
        Request(60 * MS, 2, "GET /sse"),
        ServerRequest(61 * MS, "/sse", "HTTP/1.1", "1"),
        Received(2, 70 * MS, 2),
        Disconnected(80 * MS, 2, "failed for good: status 504, 'text/plain'"),
    ]:
        log.append(record)
    s = reconnection_summary(log)
    assert s["delays_ms"] == [50.0] and s["last_event_ids"] == ["1"]
    assert s["closed_for_good"] is True and s["requests_per_event"] == 1.0
    assert s["ended"] == {"end of stream": 1, "failed for good: status 504, 'text/plain'": 1}


def cell(
    transport: str, verdict: str, delays: list[float], ids: list[str], closed: bool = False
) -> dict:
    return {
        "id": f"{transport}-x",
        "transport": transport,
        "intermediary": "x",
        "protocol": "h1",
        "verdict": verdict,
        "reconnection": {
            "delays_ms": delays,
            "last_event_ids": ids,
            "closed_for_good": closed,
            "requests_per_event": 1.0,
        },
    }


def test_differences_pair_browser_and_reference_cells_and_name_what_differs():
    doc = {
        "cells": [
            cell("browser_sse", "FAIL", [3000.0], ["1"], closed=True),
            cell("sse", "PASS", [50.0], []),
        ]
    }
    [pair] = differences(doc)
    assert pair["transport"] == "sse" and pair["browser"]["verdict"] == "FAIL"
    assert "verdict FAIL vs PASS" in pair["differences"]
    assert any("closed for good" in d for d in pair["differences"])
    assert any("3000.0 vs 50.0" in d for d in pair["differences"])
    assert any("browser only" in d for d in pair["differences"])
    assert "## Browser vs reference client" in markdown_lines(doc)
    same = {
        "cells": [cell("browser_sse", "PASS", [55.0], ["1"]), cell("sse", "PASS", [52.0], ["1"])]
    }
    assert differences(same)[0]["differences"] == []
    assert differences({"cells": [cell("browser_sse", "PASS", [], [])]}) == []
