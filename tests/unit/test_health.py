"""Pure parts of harness/health.py: how a hop and its exit are named in an ERROR reason."""

from __future__ import annotations

import httpx

from gauntlet.health import _refused, exit_description, hop_name
from gauntlet.hops import RunningHop
from gauntlet.spec import HopSpec


def test_exit_description_names_the_signal_or_the_status():
    assert exit_description(-9) == "exited with signal 9 (SIGKILL)"
    assert exit_description(-15) == "exited with signal 15 (SIGTERM)"
    assert exit_description(1) == "exited with status 1"
    assert exit_description(-200) == "exited with signal 200"


def test_hop_name_has_behaviours_and_pid_or_the_external_url():
    ours = RunningHop(HopSpec(("transparent",)), 1, "http://127.0.0.1:1", 1234, None, None)
    theirs = RunningHop(
        HopSpec((), external="http://127.0.0.1:3128"), 2, "http://127.0.0.1:3128", None, None, None
    )
    assert hop_name(ours) == "hop 1 (transparent, pid 1234)"
    assert hop_name(theirs) == "hop 2 (external http://127.0.0.1:3128)"


def test_refused_is_found_behind_wrappers_and_groups():
    try:
        try:
            raise ExceptionGroup("attempts", [ConnectionRefusedError(111, "refused")])
        except ExceptionGroup as group:
            raise OSError("all attempts to connect failed") from group
    except OSError as exc:
        assert _refused(exc)
    assert not _refused(OSError("unreachable"))


def test_a_hop_environment_keeps_only_what_it_needs(monkeypatch):
    from gauntlet.spawn import minimal_env

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t")
    monkeypatch.setenv("http_proxy", "http://10.0.0.1:3128")
    monkeypatch.setenv("PATH", "/usr/bin")
    env = minimal_env(PYTHONUNBUFFERED="1")
    assert env["PATH"] == "/usr/bin" and env["PYTHONUNBUFFERED"] == "1"
    assert "AWS_SECRET_ACCESS_KEY" not in env and "http_proxy" not in env


async def test_each_health_probe_asks_a_url_no_cache_can_answer_from_an_earlier_probe():
    """A caching hop (varnish's builtin VCL caches a 200 GET) answered a repeated health GET
    from its cache, which read as "the hop answered 200 itself": each probe is a new URL."""
    import httpx

    from gauntlet.clients.base import Target
    from gauntlet.health import probe

    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok\n")

    count = iter(range(100))
    target = Target("http://127.0.0.1:1", transport=httpx.MockTransport(server))
    assert await probe(target, lambda: next(count)) is None
    assert await probe(target, lambda: next(count)) is None
    assert [r.url.path for r in seen] == ["/_gauntlet/health"] * 2
    assert seen[0].url != seen[1].url
    assert all(r.headers["cache-control"] == "no-cache" for r in seen)


def _hop(index: int) -> RunningHop:
    return RunningHop(
        HopSpec(("transparent",)), index, f"http://127.0.0.1:{index}", 100 + index, None, None
    )


async def _check_with_answers(monkeypatch, answers: list):
    """check_health over two hops with each probe's answer scripted, in the order asked."""
    from gauntlet import health
    from gauntlet.clients.base import Target

    asked: list[Target] = []
    script = iter(answers)

    async def scripted(target: Target, health_count) -> health.Problem | None:
        asked.append(target)
        return next(script)

    monkeypatch.setattr(health, "probe", scripted)
    stall = await health.check_health(
        [_hop(1), _hop(2)], "http://127.0.0.1:9", Target, lambda: 0, lambda: 2.0
    )
    return stall, [t.base_url for t in asked]


async def test_a_chain_that_relays_every_probe_of_the_diagnosis_is_not_broken(monkeypatch):
    """Under load a first probe met a stall while a client reconnected through the same hop;
    the diagnosis then asked hop 2 alone and the whole chain, and both relayed. That chain
    works: the cell goes on (its symptom is a finding); the stall is noted, not raised (it
    was ERROR naming hop 1 with the first probe's problem, though no hop was broken)."""
    from gauntlet.health import Problem

    slow = Problem("did not answer a health check within 10 s")
    stall, asked = await _check_with_answers(monkeypatch, [slow, None, None])
    assert asked == ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:1"]
    assert stall == (
        "hop 1 (transparent, pid 101) did not answer a health check within 10 s at first, "
        "then the chain relayed each probe of the diagnosis"
    )


async def test_a_chain_that_fails_its_diagnosis_is_a_fault_naming_the_first_broken_hop(
    monkeypatch,
):
    import pytest

    from gauntlet.errors import HopFault
    from gauntlet.health import Problem

    refused = Problem("refused the connection")
    with pytest.raises(HopFault) as raised:
        await _check_with_answers(monkeypatch, [Problem("answered 502 itself", 502), refused])
    assert str(raised.value) == (
        "hop 2 (transparent, pid 102) refused the connection, at 2.0 s, before the workload; "
        "through the whole chain, hop 1 (transparent, pid 101) answered 502 itself"
    )
    with pytest.raises(HopFault) as raised:
        await _check_with_answers(monkeypatch, [refused, None, refused])
    assert str(raised.value) == (
        "hop 1 (transparent, pid 101) refused the connection, at 2.0 s, before the workload"
    )


class _LoadedChain(httpx.AsyncBaseTransport):
    """A chain on a loaded machine, as an httpx transport: its handshakes (CONNECT, TLS
    through an intercepting hop) take `handshake_s` of virtual time; like httpcore, it gives
    up on them after the request's connect timeout, when the request has one."""

    def __init__(self, handshake_s: float) -> None:
        self.handshake_s = handshake_s
        self.served = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import trio

        connect = request.extensions["timeout"]["connect"]
        if connect is not None and connect < self.handshake_s:
            await trio.sleep(connect)
            raise httpx.ConnectTimeout("handshake", request=request)
        await trio.sleep(self.handshake_s)
        self.served += 1
        return httpx.Response(200, text="ok\n")


async def test_a_probe_waits_its_stated_bound_not_the_clients_connect_timeout(autojump_clock):
    """A probe through tls_intercept took up to 3.2 s on a loaded machine; the clients' 5 s
    connect bound applied to its handshakes, below the stated HEALTH_TIMEOUT_S, and a
    slower one would have been "failed the health check (ConnectTimeout)": ERROR for a
    hop that was alive."""
    from gauntlet.clients.base import Target
    from gauntlet.health import HEALTH_TIMEOUT_S, probe

    assert HEALTH_TIMEOUT_S == 10.0
    alive = _LoadedChain(handshake_s=6.0)
    assert await probe(Target("http://127.0.0.1:1", transport=alive), lambda: alive.served) is None
    hung = _LoadedChain(handshake_s=11.0)
    problem = await probe(Target("http://127.0.0.1:1", transport=hung), lambda: hung.served)
    assert problem is not None
    assert problem.text == "did not answer a health check within 10 s"
