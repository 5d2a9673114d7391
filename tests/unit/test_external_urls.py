"""External hop URLs: loopback only, by parsing (urllib.parse, ipaddress), never by prefix.

Validation alone: nothing here resolves a name or opens a socket."""

from __future__ import annotations

import socket

import pytest

from gauntlet.errors import ScenarioError
from gauntlet.spec import HopSpec, _is_loopback, _redacted


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to resolve or connect fails the test: the check is validation only."""

    def refuse(*args, **kwargs):
        raise AssertionError("the URL check touched the network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3128",
        "http://127.1.2.3:8080",
        "http://127.255.255.254:1",
        "http://localhost:3128",
        "http://[::1]:3128",
        "https://127.0.0.1:8443",
        "http://127.0.0.1:3128/",
    ],
)
def test_loopback_urls_with_a_port_are_accepted(url):
    assert HopSpec((), mode="regular", external=url).external == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1@example.com:3128", "no user or password"),  # was accepted by prefix
        ("http://127.evil.example:3128", "this machine only"),
        ("http://localhost.example.com:3128", "this machine only"),
        ("http://localhostx:3128", "this machine only"),
        ("http://128.0.0.1:3128", "this machine only"),
        ("http://0.0.0.0:3128", "this machine only"),
        ("http://10.0.0.5:3128", "this machine only"),
        ("http://[::2]:3128", "this machine only"),
        ("http://[::ffff:8.8.8.8]:3128", "this machine only"),
        ("http://2130706433:3128", "this machine only"),  # 127.0.0.1 as an integer: not a literal
        ("http://user:secret@127.0.0.1:3128", "no user or password"),
        ("http://127.0.0.1:3128@example.com:80", "no user or password"),
        ("http://127.0.0.1", "a port is required"),
        ("http://localhost", "a port is required"),
        ("http://127.0.0.1:99999", "not a URL"),
        ("http://127.0.0.1:port", "not a URL"),
        ("http://[::1:3128", "not a URL"),
        ("ftp://127.0.0.1:21", "expected http://HOST:PORT"),
        ("127.0.0.1:3128", "expected http://HOST:PORT"),
        ("http://:3128", "expected http://HOST:PORT"),
        ("http://127.0.0.1:3128/some/path", "no path"),
        ("http://127.0.0.1:3128?x=1", "no path"),
    ],
)
def test_anything_else_is_refused_with_one_line(url, message):
    with pytest.raises(ScenarioError, match=message) as info:
        HopSpec((), mode="regular", external=url)
    assert "\n" not in str(info.value)


def test_the_error_never_echoes_a_password():
    with pytest.raises(ScenarioError) as info:
        HopSpec((), mode="regular", external="http://alice:hunter2@127.0.0.1:3128")
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)
    assert "***@127.0.0.1:3128" in str(info.value)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.9.9.9", True),
        ("::1", True),
        ("localhost", True),
        ("LOCALHOST", False),
        ("127.0.0.1.nip.io", False),
        ("::", False),
        ("", False),
    ],
)
def test_is_loopback_is_pure(host, loopback):
    assert _is_loopback(host) is loopback


def test_redacted_keeps_everything_but_userinfo():
    assert _redacted("http://a:b@127.0.0.1:1/x") == "http://***@127.0.0.1:1/x"
    assert _redacted("http://127.0.0.1:1") == "http://127.0.0.1:1"
