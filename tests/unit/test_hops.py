"""Hop command lines (pure; no processes): what the launcher passes is what the spec says."""

from __future__ import annotations

from pathlib import Path

from gauntlet.hops import mitmdump_args
from gauntlet.spec import HopSpec, scale_hop


def test_reverse_hop_listens_on_loopback_port_zero_with_its_own_confdir():
    hop = scale_hop(HopSpec(("transparent",)))
    args = mitmdump_args(hop, "http://127.0.0.1:1234", Path("/c"), 7)
    joined = " ".join(args)
    assert "--mode reverse:http://127.0.0.1:1234" in joined
    assert "--listen-host 127.0.0.1" in joined and "--listen-port 0" in joined
    assert "confdir=/c" in joined and "gauntlet_ready_fd=7" in joined
    assert args[args.index("-s") + 1].endswith("_ready.py")
    assert any(a.endswith("proxies/transparent.py") for a in args)


def test_forward_hop_runs_in_regular_mode():
    args = mitmdump_args(scale_hop(HopSpec(("transparent",), mode="regular")), None, Path("/c"), 3)
    assert args[args.index("--mode") + 1] == "regular"


def test_options_are_passed_with_set():
    spec = HopSpec(("store_and_forward",), options=(("store_and_forward_hold_headers", "true"),))
    args = mitmdump_args(scale_hop(spec), "http://127.0.0.1:1", Path("/c"), 3)
    assert "store_and_forward_hold_headers=true" in args


def test_the_launcher_passes_a_scaled_hop_s_options_as_they_are():
    """Scaling happens once, in harness/spec.py: mitmdump gets the cell's scaled value."""
    hop = scale_hop(HopSpec(("idle_timeout",), options=(("idle_timeout_ms", "90000"),)), 30)
    args = mitmdump_args(hop, "http://127.0.0.1:1", Path("/c"), 3)
    assert "idle_timeout_ms=3000" in args and "idle_timeout_ms=90000" not in args
