"""The browser client's pure parts: clock offset, command line, CA pin, and the bridge from
page reports to EventLog records (no browser: the bridge is fed what the page would send)."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
import trio
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gauntlet.clients.browser import (
    PageMode,
    _Bridge,
    chromium_argv,
    clock_offset,
    spki_sha256,
)
from gauntlet.eventlog import Connected, Disconnected, EventLog, Note, Received, Request
from gauntlet.tls import create_run_ca


def test_clock_offset_takes_the_round_trip_with_the_smallest_rtt():
    # harness ns before, page ms, harness ns after: the page clock runs 1000 ms ahead
    samples = [
        (0, 1_000.0 + 5.0, 20_000_000),  # rtt 20 ms, page read late
        (30_000_000, 1_031.0, 32_000_000),  # rtt 2 ms: the winner
        (40_000_000, 1_049.0, 50_000_000),
    ]
    c = clock_offset(samples)
    assert c.min_rtt_ms == 2.0 and c.error_bound_ms == 1.0 and c.round_trips == 3
    assert c.offset_ms == pytest.approx(1_000.0)
    assert c.to_harness_ns(1_100.0) == 100_000_000
    with pytest.raises(ValueError):
        clock_offset([])


def test_chromium_argv_keeps_the_browser_on_loopback_and_uses_the_proxy_for_loopback(tmp_path):
    argv = chromium_argv("/bin/chromium", tmp_path, forward_proxy="http://127.0.0.1:9", spki="abc=")
    assert "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1" in argv
    assert "--proxy-server=http://127.0.0.1:9" in argv
    assert "--proxy-bypass-list=*;<-loopback>" in argv
    assert f"--user-data-dir={tmp_path}" in argv and "--remote-debugging-port=0" in argv
    assert "--ignore-certificate-errors-spki-list=abc=" in argv
    assert {"--headless", "--disable-quic", "--disable-background-networking"} <= set(argv)
    direct = chromium_argv("/bin/chromium", tmp_path)
    assert not [a for a in direct if a.startswith(("--proxy", "--ignore-cert"))]


def test_spki_pin_is_the_sha256_of_the_run_cas_public_key(tmp_path):
    ca = create_run_ca(tmp_path)
    cert = x509.load_pem_x509_certificate(ca.ca_cert.read_bytes())
    der = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert spki_sha256(ca.ca_cert) == base64.b64encode(hashlib.sha256(der).digest()).decode()


async def _bridge(mode: str, items: list[tuple]) -> tuple[EventLog, dict]:
    log, info = EventLog(), {"page_events": {"open": 0, "message": 0, "error": 0, "close": 0}}
    send, receive = trio.open_memory_channel[tuple](100)
    async with send:
        send.send_nowait(("clock", [(0, 5_000.0, 2_000_000)]))  # page = harness + 4999 ms
        for item in items:
            send.send_nowait(item)
    await _Bridge(log, PageMode(mode, "/sse"), info).consume(receive)
    return log, info


def page(kind: str, t_ms: float, **data) -> tuple:
    return ("page", json.dumps({"kind": kind, "t": 4_999.0 + t_ms, **data}))


async def test_bridge_turns_event_source_reports_into_the_reference_clients_records():
    log, info = await _bridge(
        "sse",
        [
            ("request", 1_000_000, "GET", "/sse", ""),
            page("open", 2.0, conn=0),
            page("message", 3.0, conn=0, id="1", bytes=5),
            page("error", 4.0, conn=0, closed=False),
            ("request", 60_000_000, "GET", "/sse", "1"),
            page("open", 61.0, conn=1),
            page("message", 62.0, conn=1, id="2", bytes=5),
        ],
    )
    assert [r.kind for r in log.of(Request)] == ["GET /sse", "GET /sse"]
    assert [c.conn for c in log.of(Connected)] == [r.conn for r in log.of(Request)]
    assert [(r.id, r.t_ns) for r in log.of(Received)] == [(1, 3_000_000), (2, 62_000_000)]
    assert log.of(Disconnected)[0].reason == "EventSource error, reconnecting"
    assert info["last_event_ids_sent"] == ["1"] and info["browser_clock"]["error_bound_ms"] == 1
    assert info["page_events"] == {"open": 2, "message": 2, "error": 1, "close": 0}


async def test_bridge_marks_an_event_source_closed_for_good():
    log, _ = await _bridge(
        "sse", [("request", 0, "GET", "/sse", ""), page("error", 1.0, conn=0, closed=True)]
    )
    assert log.of(Connected) == []
    assert log.of(Disconnected)[0].reason == "EventSource error, closed for good"


async def test_bridge_records_the_fallback_pages_polls_sockets_and_upgrade_notes():
    """websocket_fallback's page runs polls and probes side by side, each its own connection:
    a failed poll closes its poll connection, a socket's close closes the socket's, and the
    page's upgrade decisions become the same Notes the reference client writes."""
    log, info = await _bridge(
        "websocket_fallback",
        [
            page("request", 1.0, conn=0, method="GET", path="/poll"),
            page("request", 1.5, conn=1, method="WS", path="/ws"),
            page("open", 2.0, conn=0),
            page("message", 3.0, conn=0, id="1", bytes=5),
            page("error", 4.0, conn=1, closed=False),
            page("close", 4.5, conn=1, code=1006, reason=""),
            page("error", 5.0, conn=0, closed=False, poll=True, why="TypeError: Failed to fetch"),
            page("note", 6.0, text="websocket upgrade given up after 3 failed probes"),
        ],
    )
    assert [r.kind for r in log.of(Request)] == ["GET /poll", "WS /ws"]
    poll, socket = (r.conn for r in log.of(Request))
    assert [(d.conn, d.reason) for d in log.of(Disconnected)] == [
        (socket, "WebSocket close 1006"),
        (poll, "poll failed: TypeError: Failed to fetch"),
    ]
    assert [n.text for n in log.of(Note)] == ["websocket upgrade given up after 3 failed probes"]
    assert [(r.id, r.conn) for r in log.of(Received)] == [(1, poll)]
    assert info["page_events"]["note"] == 1
