"""One cell, end to end: server, proxy hops, client, workload -> event log -> metrics -> verdict.

The cell's order of events, each step waiting on a signal, never on a sleep:
1. the push server starts (hypercorn reports its bound port) and
2. hops start from the server outwards (each writes its port to a readiness pipe): both are
   the cell's topology (harness/topology_open.py), which also watches the hop processes;
3. one health GET crosses the chain to the server (harness/health.py): a hop that refuses,
   answers an error itself or does not speak HTTP makes the cell ERROR before the workload;
   from here until teardown, a hop process that exits does too;
4. the client starts; the workload begins when the client's first request reaches the
   server (the publisher's `first_request` event), so no client is raced, and a client that
   chooses its transport at start-up (sse_canary) has chosen it (`Settled`);
5. the publisher sends `events` on the workload's schedule (steady, bursts, a quiet period;
   this pacing is the workload, not a wait);
6. the cell waits until every event is delivered or the scaled delivery budget runs out;
   meanwhile a client connection that ends other than cleanly, and the workload's end, each
   ask the chain to relay a health GET again (harness/chain_watch.py): a chain that no longer
   does makes the cell ERROR naming the broken hop, what and when, never a finding;
7. the topology is torn down, client, hops, server (the hops are killed even on Ctrl-C),
   then metrics and verdict.
"""

from __future__ import annotations

import socket
from functools import partial
from pathlib import Path
from typing import Any

import trio

from gauntlet import metrics as metrics_mod
from gauntlet import metrics_stream, real
from gauntlet.chain_watch import ChainWatch
from gauntlet.clients import TRANSPORTS, Target
from gauntlet.clients.browser import BrowserUnavailable
from gauntlet.errors import HopFault, HopStartError, unwrap
from gauntlet.eventlog import (
    Connected,
    Disconnected,
    EndOfAnswer,
    EventLog,
    NewRecords,
    Note,
    Published,
    Received,
    Request,
    ServerRequest,
    Settled,
    now_ns,
)
from gauntlet.health import check_health
from gauntlet.hops import RunningHop
from gauntlet.instrument.lag import lag_note, publish_lag_ms
from gauntlet.phases import MEASURE, SETUP, CellPhase, PhaseGate
from gauntlet.progress import HopListening, Progress, Publishing, ServerListening, ignore
from gauntlet.reconnection import reconnection_summary
from gauntlet.scenario import CellSpec
from gauntlet.server import ServerOptions
from gauntlet.spec import ClientTimings
from gauntlet.target import PushTarget, TargetChoice, bind_server_socket
from gauntlet.topology_open import open_topology
from gauntlet.verdict import Judgement, error, judge, skipped

FIRST_REQUEST_TIMEOUT_S = 3.0
CLIENT_START_TIMEOUT_S = 20.0
"""How long a client may take to send its first request: a reference client sends it at once,
a browser client only once Chromium has started, loaded its page and measured its clock
(1-3 s on a loaded 2-core machine). FIRST_REQUEST_TIMEOUT_S counts from that request."""
SKIPPED_PREFIX = "skipped: "


class _Delivered:
    """A `wait_until` condition: every published id received at least once (and, for a token
    stream, its end marker read: a client cut before it has a truncated answer). It reads
    only the records appended since its last call (eventlog.NewRecords)."""

    def __init__(self, expected: int, needs_end: bool = False) -> None:
        self.expected = expected
        self.seen: set[int] = set()
        self.needs_end = needs_end
        self._new = NewRecords()

    def __call__(self, log: EventLog) -> bool:
        for record in self._new(log):
            if isinstance(record, EndOfAnswer):
                self.needs_end = False
            elif isinstance(record, Received):
                self.seen.add(record.id)
        return len(self.seen) >= self.expected and not self.needs_end


async def run_cell(
    cell: CellSpec,
    workdir: Path,
    progress: Progress = ignore,
    *,
    server_socket: socket.socket | None = None,
    target: TargetChoice | None = None,
    gate: PhaseGate | None = None,
) -> dict:
    """Measure one cell and return its results entry (see harness/results.py).

    A hop that fails to start aborts the run (HopStartError): that is the environment, not a
    finding. A hop that breaks during the cell (harness/health.py: exits, refuses, fails the
    health check before the workload) makes an ERROR cell naming the hop, what and when. Any
    other failure becomes an ERROR cell with the exception as its reason.
    `server_socket` (listening, loopback) is where the server listens instead of a fresh
    port: an external reverse hop, configured before the cell, forwards to it; without it,
    a chain's `server = "127.0.0.1:PORT"` is bound for this cell. `target` says what is
    measured (harness/target.py): the reference server by default, or a team's app or URL.
    `gate` (harness/phases.py) keeps this cell's set-up out of a neighbour's workload.
    """
    started = trio.current_time()
    log = EventLog()
    hops: list[RunningHop] = []
    cannot = real.skip_reason(cell.intermediary.hops, cell.protocol)
    if cannot is not None:  # a real hop's package is missing here: SKIPPED, not a finding
        entry = _entry(cell, log, hops, None, error(cannot), 0.0)
        entry.update(verdict=real.SKIPPED, error=None)
        return entry
    client_error: list[str] = []
    options = ServerOptions(sse_opt_out=cell.headers, answer_events=cell.workload.events)
    pushed = (target or TargetChoice()).build(log, cell.workload.payload_bytes, options)
    own_socket = None
    if server_socket is None and cell.intermediary.server is not None:
        own_socket = server_socket = bind_server_socket(
            *cell.intermediary.server, what=f"{cell.intermediary.name}: server"
        )
    phase = CellPhase(gate)
    try:
        t0_ns, deadline_ns = await _measure(
            cell,
            workdir,
            log,
            hops,
            client_error,
            progress,
            server_socket,
            pushed,
            clock=lambda: trio.current_time() - started,
            phase=phase,
        )
    except BaseException as exc:
        inner = _cause(exc)
        if isinstance(inner, HopStartError):
            raise inner from None
        if isinstance(inner, HopFault):  # a harness fault, never a finding
            log.append(Note(now_ns(), str(inner)))
            return _entry(cell, log, hops, None, error(str(inner)), trio.current_time() - started)
        if isinstance(inner, Exception):
            return _entry(
                cell,
                log,
                hops,
                None,
                error(f"{type(inner).__name__}: {inner}"),
                trio.current_time() - started,
            )
        raise
    finally:
        phase.leave()
        if own_socket is not None:
            own_socket.close()
    m = metrics_mod.compute(
        log, t0_ns=t0_ns, deadline_ns=deadline_ns, latency=pushed.latency_measured
    )
    stream = None
    if TRANSPORTS[cell.transport].token_stream:
        stream = metrics_stream.compute(log, deadline_ns=deadline_ns)
    if client_error and client_error[0].startswith(SKIPPED_PREFIX):
        judgement = skipped(client_error[0].removeprefix(SKIPPED_PREFIX))
    elif client_error:
        judgement = error(client_error[0])
    else:
        judgement = judge(m, cell.budget, within_s=cell.timing.deliver_within_s, stream=stream)
    entry = _entry(cell, log, hops, m, judgement, trio.current_time() - started)
    entry["target"] = pushed.label
    if not pushed.latency_measured:
        entry["latency"] = "not measured (endpoint sends no send time)"
    if stream is not None:
        entry["stream_metrics"] = stream.to_json()
    entry["samples"] = [
        {"id": s.id, "sent_ms": s.sent_ms, "received_ms": list(s.received_ms)}
        for s in metrics_mod.samples(log, t0_ns=t0_ns)
    ]
    return entry


async def _measure(
    cell,
    workdir,
    log,
    hops,
    client_error,
    progress,
    server_socket,
    pushed: PushTarget,
    *,
    clock=lambda: 0.0,
    phase: CellPhase | None = None,
) -> tuple[int, int]:
    phase = phase or CellPhase(None)
    delivered = _Delivered(cell.workload.events, TRANSPORTS[cell.transport].token_stream)
    # Hops are watched while the cell runs (`watch`), and the watch ends before they are
    # killed: a hop that exits mid-cell is a HopFault, its teardown is not.
    await phase.enter(SETUP)
    async with open_topology(
        cell.hops,
        workdir / cell.id,
        log,
        server=pushed,
        tls=cell.protocol != "h1",
        http2=cell.protocol == "h2",
        server_socket=server_socket,
        watch=clock,
    ) as t:
        hops.extend(t.hops)
        progress(
            ServerListening(
                "server" if pushed.label == "reference server" else pushed.label, t.server_url
            )
        )
        for hop in t.hops:
            progress(HopListening(hop.index, hop.spec.label, hop.pid, hop.url))
        if pushed.health_count is not None:
            stall = await check_health(
                t.hops, t.server_url, t.client_target, pushed.health_count, clock
            )
            if stall is not None:  # a first probe met a stall; the chain relayed the next ones
                log.append(Note(now_ns(), f"health check before the workload: {stall}"))
            chain_watch: ChainWatch | None = ChainWatch(
                t.hops, t.server_url, t.client_target, pushed.health_count, clock, log
            )
        else:
            chain_watch = None
            log.append(
                Note(
                    now_ns(),
                    f"no health check through the chain: {pushed.label} has no health route",
                )
            )
        await phase.enter(MEASURE)
        async with trio.open_nursery() as during:
            if chain_watch is not None:  # mid-cell faults (harness/chain_watch.py)
                during.start_soon(chain_watch.watch)
            # The topology stops the client before the hops and the server go away: a
            # teardown must not show up as a disconnect in the log.
            t.start_client(partial(_client, cell.transport, cell.client, client_error))
            with trio.move_on_after(CLIENT_START_TIMEOUT_S):  # a browser needs seconds
                await log.wait_until(lambda log: client_error or _client_sent_a_request(log))
            t0_ns, deadline_ns = await _workload(cell, pushed, log, delivered, progress)
            during.cancel_scope.cancel()  # the mid-cell watch ends with the workload
        if chain_watch is not None:  # a finding only about a chain that works
            await chain_watch.check("after the workload")
        phase.leave()
    return t0_ns, deadline_ns


def _cause(exc: BaseException) -> BaseException:
    """What ended the cell: the one exception inside trio's groups, or, when the hop watch and
    the chain watch both saw a hop go (two members), the hop fault among them. A group that
    holds a cancellation (Ctrl-C) is left alone: it must propagate."""
    inner = unwrap(exc)
    if isinstance(inner, ExceptionGroup):
        for kind in (HopStartError, HopFault):
            found, _ = inner.split(kind)
            leaf: Exception | None = found
            while isinstance(leaf, ExceptionGroup):
                leaf = leaf.exceptions[0]
            if leaf is not None:
                return leaf
    return inner


def _client_sent_a_request(log: EventLog) -> bool:
    return any(isinstance(r, Request) for r in log.records)


async def _workload(
    cell: CellSpec, pushed: PushTarget, log: EventLog, delivered: _Delivered, progress: Progress
) -> tuple[int, int]:
    """Wait for the client's first request, publish at the workload's rate, await delivery.

    A hop may stop every request (a refused WebSocket upgrade): after a bounded wait the
    workload runs anyway, so that cell is measured (nothing delivered), not an ERROR. A
    running endpoint's requests are not visible here: the client's first request sent is
    the signal then (the contract's resume by id hands over what was published before).
    """
    with trio.move_on_after(FIRST_REQUEST_TIMEOUT_S):
        if pushed.first_request is not None:
            await pushed.first_request.wait()
        else:
            await log.wait_until(lambda lg: lg.of(Request))
    if pushed.first_request is not None and not pushed.first_request.is_set():
        log.append(
            Note(
                now_ns(),
                f"no client request reached the server within "
                f"{FIRST_REQUEST_TIMEOUT_S:g} s; publishing anyway",
            )
        )
    await _until_settled(cell, log, server_visible=pushed.first_request is not None)
    progress(Publishing())
    t0_ns = now_ns()
    start = trio.current_time()
    for at_s in cell.schedule_s:
        await trio.sleep_until(start + at_s)  # the workload's pacing, not a wait
        await pushed.publish()
    within_s = cell.timing.deliver_within_s
    deadline_ns = now_ns() + int(within_s * 1e9)
    with trio.move_on_after(within_s):
        await log.wait_until(delivered)
    return t0_ns, deadline_ns


async def _until_settled(cell: CellSpec, log: EventLog, server_visible: bool = True) -> None:
    """For a client that chooses its transport at start-up (Transport.settle_s), wait until
    it has (`Settled`) and the chosen transport's first request has reached the server (a
    fallback opens a new connection through every hop: 30-300 ms on a loaded machine, a
    one-off the first event would carry), or was sent, where the server is not visible. At
    most the client's longest choice plus FIRST_REQUEST_TIMEOUT_S; past that it is noted and
    the workload runs anyway."""
    settle_s = TRANSPORTS[cell.transport].settle_s
    if settle_s is None:
        return
    seen = ServerRequest if server_visible else Request

    def chosen_and_asked(lg: EventLog) -> bool:
        settled = lg.of(Settled)
        return bool(settled) and any(r.t_ns >= settled[0].t_ns for r in lg.of(seen))

    bound_s = settle_s(cell.client) + FIRST_REQUEST_TIMEOUT_S
    with trio.move_on_after(bound_s):
        await log.wait_until(chosen_and_asked)
    if not chosen_and_asked(log):
        log.append(
            Note(
                now_ns(),
                f"the client had not chosen its transport and asked for it "
                f"within {bound_s:g} s; publishing anyway",
            )
        )


async def _client(
    transport: str, timings: ClientTimings, errors: list[str], target: Target, log: EventLog
) -> None:
    """Run the transport's client; a crash is recorded (an ERROR cell), not propagated."""
    try:
        await TRANSPORTS[transport].client(timings)(target, log)
    except BrowserUnavailable as exc:  # no Chromium here: SKIPPED with the reason
        errors.append(SKIPPED_PREFIX + str(exc))
        log.append(Note(now_ns(), errors[-1]))
    except Exception as exc:  # noqa: BLE001 - the cell reports it as ERROR
        exc = unwrap(exc)  # type: ignore[assignment]
        errors.append(f"client crashed: {type(exc).__name__}: {exc}")
        log.append(Note(now_ns(), errors[-1]))


def _entry(
    cell: CellSpec,
    log: EventLog,
    hops: list[RunningHop],
    m,
    judgement: Judgement,
    duration_s: float,
) -> dict[str, Any]:
    lag_ms = publish_lag_ms(list(cell.schedule_s), [p.t_ns for p in log.of(Published)])
    return {
        "id": cell.id,
        "transport": cell.transport,
        "intermediary": cell.intermediary.name,
        "protocol": cell.protocol,
        "headers": cell.headers,
        "verdict": str(judgement.verdict),
        "expected_verdict": str(cell.expected_verdict) if cell.expected_verdict else None,
        "reason": judgement.reason,
        "expected_reason": cell.expected_reason,
        "metrics": m.to_json() if m is not None else None,
        "samples": [],
        "hops": [
            {
                "index": h.index,
                "behaviours": list(h.spec.behaviours),
                "mode": h.spec.mode,
                "url": h.url,
                "external": h.spec.external is not None,
                **cell.hops[h.index - 1].record(),
            }
            for h in hops
        ],
        "server_saw": sorted({f"{r.http_version} {r.path}" for r in log.of(ServerRequest)}),
        "connections": _connections(log),
        "notes": [*[n.text for n in log.of(Note)][:50], *_lag_notes(lag_ms)],
        "instrument_lag_ms": lag_ms,
        "client": log.client_info,
        "reconnection": reconnection_summary(log),
        "spec": cell.to_json(),
        "duration_s": round(duration_s, 3),
        "error": judgement.reason if str(judgement.verdict) == "ERROR" else None,
    }


def _lag_notes(lag_ms: float | None) -> list[str]:
    note = lag_note(lag_ms)
    return [] if note is None else [note]


def _connections(log: EventLog) -> list[dict[str, Any]]:
    """Per client connection: protocol and how it ended, for the report and for debugging."""
    conns: dict[int, dict[str, Any]] = {}
    for r in log.records:
        if isinstance(r, Connected):
            conns.setdefault(r.conn, {"conn": r.conn})["http_version"] = r.http_version
        elif isinstance(r, Disconnected):
            conns.setdefault(r.conn, {"conn": r.conn})["ended"] = r.reason
    return [conns[k] for k in sorted(conns)][:50]
