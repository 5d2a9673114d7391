"""Client reconnect backoff: doubles from the initial delay to the cap, resets on success."""

from gauntlet.clients.base import Target
from gauntlet.clients.policy import Backoff


def test_backoff_doubles_to_cap_and_resets():
    b = Backoff(initial_s=0.05, max_s=0.3)
    assert [b.next_delay() for _ in range(5)] == [0.05, 0.1, 0.2, 0.3, 0.3]
    b.reset()
    assert b.next_delay() == 0.05


def test_ws_url_follows_the_http_scheme():
    assert Target("http://127.0.0.1:5").ws_url("/ws") == "ws://127.0.0.1:5/ws"
    assert Target("https://127.0.0.1:5").ws_url("/ws") == "wss://127.0.0.1:5/ws"
