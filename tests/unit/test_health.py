"""Pure parts of harness/health.py: how a hop and its exit are named in an ERROR reason."""

from __future__ import annotations

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
