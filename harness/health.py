"""Harness faults, told apart from findings: a hop that dies, refuses, or is not a proxy at all.

A cell's verdict is about what an intermediary did to traffic it relayed. A hop process that
exits mid-cell, an external proxy on a closed port or on a port that does not speak HTTP, a
hop answering 502 itself: none of those is a property of the intermediary under test, so the
cell becomes ERROR with a reason naming the hop, what happened and when (HopFault), never
FAIL ("nothing delivered").

Two checks, both waiting on signals, both bounded:
- `check_health`: before the workload, one GET of the reference server's health route through
  the chain's client entry (absolute-URI or CONNECT through a forward hop, as the clients do)
  must come back 200 from the server. A plain short GET passes every behaviour in proxies/
  (ws_refuse refuses only upgrades; a short response ends, so store_and_forward releases
  it), so no expected verdict depends on it. On failure, the hops are probed from the server
  outwards to name the first broken one.
- `watch_hops`: each managed hop's process is awaited (a pidfd, harness/spawn.py); an exit
  while the cell runs raises HopFault. Teardown cancels the watch before killing the hops.
"""

from __future__ import annotations

import itertools
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx
import trio

from gauntlet.clients import Target
from gauntlet.clients.base import http_client
from gauntlet.errors import HopFault
from gauntlet.hops import RunningHop, client_entry
from gauntlet.server.app import HEALTH_PATH

HEALTH_TIMEOUT_S = 10.0
"""The whole of one probe: TCP connect, the CONNECT through a forward hop, both TLS handshakes
of an intercepting one, the GET and its answer. It is the probe's only bound (httpx's own
are off for it), so "did not answer within 10 s" is what was waited.

Patience with this machine, not a real-world timeout, so not scaled by a scenario's time
scale, and not the clients' connect bound either (DEFAULT_CONNECT_TIMEOUT_S, 5 s: it was the
probe's bound on its handshakes until now, by way of the clients' http_client). A probe
is CPU on a 2-core machine shared by the harness (client, server, publisher and probe in one
thread) and every hop. Through tls_intercept, from a client's symptom to the "chain relayed"
note, a mid-cell check took at most 0.2 s in 30 corporate_ws websocket cells (idle, and with
busy loops on both cores at load 4), 0.2-0.3 s in a default-profile run (two cells side by
side) and up to 3.2 s in one with busy loops on both cores (load about 13), while the client
reconnected through the same mitmdump: within 2x of that 5 s. The slowest hop in scenarios/
(the mobile link) adds 0.6 s. A check costs more than one probe only when the first fails
(one per tail of the chain)."""

Clock = Callable[[], float]  # seconds since the cell started


def hop_name(hop: RunningHop) -> str:
    """`hop 1 (transparent, pid 1234)` or `hop 1 (external http://127.0.0.1:3128)`."""
    owner = f", pid {hop.pid}" if hop.pid is not None else ""
    return f"hop {hop.index} ({hop.spec.label}{owner})"


def exit_description(returncode: int) -> str:
    """`exited with signal 9 (SIGKILL)` / `exited with status 1` (Popen: -N is signal N)."""
    if returncode < 0:
        try:
            name = f" ({signal.Signals(-returncode).name})"
        except ValueError:
            name = ""
        return f"exited with signal {-returncode}{name}"
    return f"exited with status {returncode}"


async def watch_hops(hops: Sequence[RunningHop], clock: Clock, nursery: trio.Nursery) -> None:
    """Start one watcher per managed hop in `nursery`; each raises HopFault if its hop exits."""
    for hop in hops:
        if hop.process is not None:
            nursery.start_soon(_watch_one, hop, clock)


async def _watch_one(hop: RunningHop, clock: Clock) -> None:
    assert hop.process is not None
    code = await hop.process.wait()
    raise HopFault(f"{hop_name(hop)} {exit_description(code)} at {clock():.1f} s")


@dataclass(frozen=True)
class Problem:
    """What a health check found: in words, and the status a hop answered itself, if any."""

    text: str
    status: int | None = None


_PROBE_IDS = itertools.count(1)


async def probe(target: Target, health_count: Callable[[], int]) -> Problem | None:
    """GET the health route at `target`; None when the server answered 200, else what went
    wrong ("refused the connection", "answered 502 itself", ...)."""
    before = health_count()
    try:
        with trio.fail_after(HEALTH_TIMEOUT_S):
            async with http_client(target) as client:
                # A query no probe has used: a caching hop (varnish's builtin VCL caches a
                # 200 GET) must not answer a later check from its cache, which would read as
                # "the hop answered itself" while the chain works.
                response = await client.get(
                    target.base_url + HEALTH_PATH,
                    params={"probe": next(_PROBE_IDS)},
                    headers={"cache-control": "no-cache"},
                    timeout=None,  # HEALTH_TIMEOUT_S above is the one bound
                )
                await response.aread()
    except trio.TooSlowError:
        return Problem(f"did not answer a health check within {HEALTH_TIMEOUT_S:g} s")
    except httpx.ProxyError as exc:
        return Problem(f"refused the health check as a proxy ({_short(exc)})")
    except httpx.ConnectError as exc:
        if _refused(exc):
            return Problem("refused the connection")
        return Problem(f"is unreachable ({_short(exc)})")
    except (httpx.RemoteProtocolError, httpx.LocalProtocolError, httpx.DecodingError) as exc:
        return Problem(f"does not speak HTTP ({_short(exc)})")
    except httpx.HTTPError as exc:
        return Problem(f"failed the health check ({type(exc).__name__}: {_short(exc)})")
    reached = health_count() > before
    if response.status_code == 200 and reached:
        return None
    if not reached:
        return Problem(
            f"answered {response.status_code} itself (the server saw no request)",
            response.status_code,
        )
    return Problem(f"passed the server's {response.status_code} (expected 200)")


def _refused(exc: BaseException | None, depth: int = 0) -> bool:
    """Whether a ConnectionRefusedError is behind `exc` (httpx wraps the backend's error, and
    trio's happy-eyeballs wraps each attempt's in an exception group)."""
    if exc is None or depth > 10:
        return False
    if isinstance(exc, ConnectionRefusedError):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_refused(e, depth + 1) for e in exc.exceptions)
    return _refused(exc.__cause__ or exc.__context__, depth + 1)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


MakeTarget = Callable[[str, str | None], Target]


async def check_health(
    hops: Sequence[RunningHop],
    server_url: str,
    make_target: MakeTarget,
    health_count: Callable[[], int],
    clock: Clock,
    when: str = "before the workload",
) -> str | None:
    """Raise HopFault unless a health GET crosses the whole chain and reaches the server.

    On failure each tail of the chain is probed from the server outwards (hop N alone, then
    hops N-1..N, ...); the first tail that fails names its front hop. The last tail is the
    whole chain again: when it, and so every tail, relays its GET, no hop is broken (the
    first GET met a passing stall: a probe that timed out on a loaded machine, or one
    refused while a hop was busy), and what the first GET met is returned, to be noted, not
    raised. `make_target(base_url, forward_proxy)` builds the Target the clients would use
    (TLS, HTTP/2). None: the first GET crossed the chain."""
    if not hops:
        return None
    problem = await probe(make_target(*client_entry(hops, server_url)), health_count)
    if problem is None:
        return None
    found: tuple[RunningHop, Problem] | None = None
    for i in reversed(range(len(hops))):
        tail_problem = await probe(make_target(*client_entry(hops[i:], server_url)), health_count)
        if tail_problem is not None:
            found = hops[i], tail_problem
            break
    if found is None:
        return (
            f"{hop_name(hops[0])} {problem.text} at first, "
            "then the chain relayed each probe of the diagnosis"
        )
    culprit, why = found
    when = f"at {clock():.1f} s, {when}"
    front = ""  # what the client's side of the chain saw, when another hop is the broken one
    if culprit is not hops[0]:
        front = f"; through the whole chain, {hop_name(hops[0])} {problem.text}"
    if why.status is not None:  # "502 from hop 1 (external http://127.0.0.1:8080): ..."
        raise HopFault(f"{why.status} from {hop_name(culprit)}: the hop {why.text}, {when}{front}")
    raise HopFault(f"{hop_name(culprit)} {why.text}, {when}{front}")
