"""Hop command lines and chain wiring (pure; no processes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gauntlet.errors import ScenarioError
from gauntlet.hops import HopSpec, check_chain, mitmdump_args


def test_reverse_hop_listens_on_loopback_port_zero_with_its_own_confdir():
    args = mitmdump_args(HopSpec(("transparent",)), "http://127.0.0.1:1234", Path("/c"), 7)
    joined = " ".join(args)
    assert "--mode reverse:http://127.0.0.1:1234" in joined
    assert "--listen-host 127.0.0.1" in joined and "--listen-port 0" in joined
    assert "confdir=/c" in joined and "gauntlet_ready_fd=7" in joined
    assert args[args.index("-s") + 1].endswith("_ready.py")
    assert any(a.endswith("proxies/transparent.py") for a in args)


def test_forward_hop_runs_in_regular_mode():
    args = mitmdump_args(HopSpec(("transparent",), mode="regular"), None, Path("/c"), 3)
    assert args[args.index("--mode") + 1] == "regular"


def test_options_are_passed_with_set():
    spec = HopSpec(("store_and_forward",), options=(("store_and_forward_hold_headers", "true"),))
    args = mitmdump_args(spec, "http://127.0.0.1:1", Path("/c"), 3)
    assert "store_and_forward_hold_headers=true" in args


def test_unknown_behaviour_and_mode_are_scenario_errors():
    with pytest.raises(ScenarioError, match="unknown proxy behaviour 'nope'"):
        HopSpec(("nope",))
    with pytest.raises(ScenarioError, match="unknown hop mode 'sideways'"):
        HopSpec(("transparent",), mode="sideways")


def test_forward_hop_only_first():
    check_chain([HopSpec(("transparent",), mode="regular"), HopSpec(("transparent",))])
    with pytest.raises(ScenarioError, match="hop 2"):
        check_chain([HopSpec(("transparent",)), HopSpec(("transparent",), mode="regular")])


@pytest.mark.parametrize(("url", "message"), [
    ("squid:3128", "expected http://HOST:PORT"),
    ("http://10.0.0.5:3128", "this machine only"),
    ("http://proxy.example.com:3128", "this machine only"),
])  # fmt: skip
def test_external_hops_must_be_loopback_urls(url, message):
    with pytest.raises(ScenarioError, match=message):
        HopSpec((), mode="regular", external=url)


def test_external_hop_takes_no_behaviours():
    with pytest.raises(ScenarioError, match="no behaviours"):
        HopSpec(("transparent",), external="http://127.0.0.1:3128")
    assert HopSpec((), external="http://127.0.0.1:3128").label == "external http://127.0.0.1:3128"


def test_toml_booleans_reach_mitmdump_as_it_spells_them():
    """`--set opt=True` is refused by mitmdump ("bad value for option"); true/false is read."""
    from gauntlet.hops import option_text

    assert (option_text(True), option_text(False)) == ("true", "false")
    assert (option_text(4096), option_text("/sse,/ws")) == ("4096", "/sse,/ws")
