"""Target URLs and server addresses are refused by parsing alone: no packet leaves."""

from __future__ import annotations

import pytest

from gauntlet.endpoint_check import poll_problem, sse_problem
from gauntlet.errors import GauntletError
from gauntlet.loopback import check_target_url, is_loopback_host, parse_server_address
from gauntlet.target import bind_server_socket, load_app, publish_answer


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.1.2.3:8000/", "http://127.1.2.3:8000"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_loopback_targets_are_accepted_as_base_urls(url, base):
    assert check_target_url(url) == base


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1:8000", "host '10.0.0.1' is not loopback"),
        ("http://127.evil.example:80", "host '127.evil.example' is not loopback"),
        ("http://localhost.example:80", "is not loopback"),
        ("http://[::2]:80", "host '::2' is not loopback"),
        ("http://u:p@127.0.0.1:80", "no user:password@"),
        ("http://127.0.0.1", "a port is required"),
        ("https://127.0.0.1:443", "expected http://HOST:PORT"),
        ("http://127.0.0.1:80/push", "give the base URL only"),
        ("http://127.0.0.1:99999", "not a URL"),
    ],
)
def test_bad_targets_are_refused_in_one_line(url, message):
    with pytest.raises(GauntletError) as err:
        check_target_url(url)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"--target {url!r}")


def test_loopback_is_decided_on_the_address_not_a_prefix():
    assert is_loopback_host("127.255.0.1") and is_loopback_host("::1")
    assert not is_loopback_host("127.0.0.1.nip.io") and not is_loopback_host("0.0.0.0")


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:8081", ("127.0.0.1", 8081)),
        ("8081", ("127.0.0.1", 8081)),
        ("localhost:8081", ("127.0.0.1", 8081)),
        ("[::1]:8081", ("::1", 8081)),
    ],
)
def test_server_addresses(text, address):
    assert parse_server_address(text) == address


@pytest.mark.parametrize(
    "text", ["0.0.0.0:8081", "192.168.1.2:80", "127.0.0.1", "127.0.0.1:0", "127.0.0.1:x"]
)
def test_bad_server_addresses_are_refused(text):
    with pytest.raises(GauntletError, match="server"):
        parse_server_address(text, "server")


def test_a_taken_server_port_is_one_line_naming_it():
    first = bind_server_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    try:
        with pytest.raises(GauntletError) as err:
            bind_server_socket("127.0.0.1", port)
        assert f"--server-port: 127.0.0.1:{port} is in use" in str(err.value)
    finally:
        first.close()


def test_transport_answers_are_judged_with_what_came_back():
    assert sse_problem(200, "text/event-stream; charset=utf-8") is None
    assert sse_problem(404, "text/plain") == "status 404"
    assert sse_problem(200, "text/html") == "200 with content-type 'text/html'"
    assert poll_problem(200, "application/json", b'{"events": []}') is None
    assert (
        poll_problem(200, "text/html", b"<html>") == "200 with a body that is not JSON (text/html)"
    )
    assert 'no "events" list' in poll_problem(200, "application/json", b'{"x": 1}')


def test_publish_answers():
    assert publish_answer(200, b'{"id": 3, "sent_ns": 5}', "t") == {"id": 3, "sent_ns": 5}
    with pytest.raises(GauntletError, match="POST /publish answered 404, expected 200"):
        publish_answer(404, b"", "t")
    with pytest.raises(GauntletError, match="expected JSON"):
        publish_answer(200, b"ok", "t")


def test_load_app_names_what_is_missing():
    assert callable(load_app("gauntlet.examples.push_app:app"))
    with pytest.raises(GauntletError, match="cannot import"):
        load_app("no_such_module_xyz:app")
    with pytest.raises(GauntletError, match="has no attribute nope"):
        load_app("gauntlet.examples.push_app:nope")
    with pytest.raises(GauntletError, match="expected package.module:attribute"):
        load_app("gauntlet.examples.push_app")
