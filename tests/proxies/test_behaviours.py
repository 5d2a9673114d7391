"""Behaviour addons, tested without sockets (mitmproxy's taddons / tflow helpers).

Determinism contract: no sockets, no clock; each test drives the addon hooks by hand and
feeds body chunks through the stream callable exactly as mitmproxy's HTTP layer would.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from mitmproxy.test import taddons, tflow

import proxies
from proxies._body import BodyPipeline, add_body_filter


def load(name: str):
    path = Path(proxies.PROXIES_DIR) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"gauntlet_addon_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.addons[0]


def stream_through(flow, chunks: list[bytes]) -> list[list[bytes]]:
    """What the client gets after each chunk and after the end marker b""."""
    stream = flow.response.stream
    return [list(stream(c)) if callable(stream) else [c] for c in chunks + [b""]]


def test_transparent_streams_every_chunk_as_it_comes():
    addon = load("transparent")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        assert flow.response.stream is True


def test_store_and_forward_holds_body_until_end():
    addon = load("store_and_forward")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        out = stream_through(flow, [b"id: 1\n\n", b"id: 2\n\n"])
        assert out == [[], [], [b"id: 1\n\nid: 2\n\n"]]


def test_store_and_forward_can_hold_headers_too():
    addon = load("store_and_forward")
    with taddons.context(addon) as tctx:
        tctx.configure(addon, store_and_forward_hold_headers=True)
        flow = tflow.tflow(resp=True)
        addon.responseheaders(flow)
        assert flow.response.stream is False  # mitmproxy reads the whole response first


def test_store_and_forward_leaves_websocket_upgrade_alone():
    addon = load("store_and_forward")
    with taddons.context(addon):
        flow = tflow.tflow(resp=True)
        flow.response.status_code = 101
        addon.responseheaders(flow)
        assert not flow.response.stream


def test_transparent_does_not_undo_a_holding_behaviour_stacked_before_it():
    saf, transparent = load("store_and_forward"), load("transparent")
    with taddons.context(saf, transparent):
        flow = tflow.tflow(resp=True)
        saf.responseheaders(flow)
        transparent.responseheaders(flow)
        assert isinstance(flow.response.stream, BodyPipeline)
        assert stream_through(flow, [b"a", b"b"]) == [[], [], [b"ab"]]


def test_pipeline_runs_filters_in_order_and_flushes_each_at_end():
    flow = tflow.tflow(resp=True)
    add_body_filter(flow, lambda c: [c.upper()] if c else [b"!"])
    add_body_filter(flow, lambda c: [c + b"."] if c else [])
    assert stream_through(flow, [b"a", b"b"]) == [[b"A."], [b"B."], [b"!."]]


@pytest.mark.parametrize("name", sorted(proxies.BEHAVIOURS))
def test_every_behaviour_is_documented_with_device_and_source(name):
    behaviour = proxies.BEHAVIOURS[name]
    assert behaviour.summary.endswith("."), f"{name}: first docstring line must be a sentence"
    assert behaviour.imitates, f"{name}: docstring needs an 'Imitates:' line"
    assert behaviour.source, f"{name}: docstring needs a 'Source:' line"


@pytest.mark.parametrize("name", sorted(proxies.BEHAVIOURS))
def test_every_behaviour_has_a_test_here(name):
    text = Path(__file__).read_text()
    assert f'load("{name}")' in text, f"{name} has no unit test in {Path(__file__).name}"
