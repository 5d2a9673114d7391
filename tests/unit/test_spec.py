"""The pure spec layer (harness/spec.py): hop specs, chain checks, and the one scaling point."""

from __future__ import annotations

import pytest

from gauntlet.errors import ScenarioError
from gauntlet.spec import HopSpec, check_chain, option_text


def test_unknown_behaviour_and_mode_are_scenario_errors():
    with pytest.raises(ScenarioError, match="unknown proxy behaviour 'nope'"):
        HopSpec(("nope",))
    with pytest.raises(ScenarioError, match="unknown hop mode 'sideways'"):
        HopSpec(("transparent",), mode="sideways")


def test_forward_hop_only_first():
    check_chain([HopSpec(("transparent",), mode="regular"), HopSpec(("transparent",))])
    with pytest.raises(ScenarioError, match="hop 2"):
        check_chain([HopSpec(("transparent",)), HopSpec(("transparent",), mode="regular")])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("squid:3128", "expected http://HOST:PORT"),
        ("http://10.0.0.5:3128", "this machine only"),
        ("http://proxy.example.com:3128", "this machine only"),
    ],
)
def test_external_hops_must_be_loopback_urls(url, message):
    with pytest.raises(ScenarioError, match=message):
        HopSpec((), mode="regular", external=url)


def test_external_hop_takes_no_behaviours():
    with pytest.raises(ScenarioError, match="no behaviours"):
        HopSpec(("transparent",), external="http://127.0.0.1:3128")
    assert HopSpec((), external="http://127.0.0.1:3128").label == "external http://127.0.0.1:3128"


def test_toml_booleans_reach_mitmdump_as_it_spells_them():
    """`--set opt=True` is refused by mitmdump ("bad value for option"); true/false is read."""
    assert (option_text(True), option_text(False)) == ("true", "false")
    assert (option_text(4096), option_text("/sse,/ws")) == ("4096", "/sse,/ws")
