"""Property: any scenario document loads into a valid spec or raises the one-line ScenarioError,
within a second, and never starts a process.

Documents are generated as parsed TOML would be (tables, arrays, strings, ints, floats with
inf and nan, booleans), starting from a good matrix and intermediaries file and replacing or
adding fields with hostile values: wrong types, unknown names, huge and non-finite numbers,
long and unprintable strings, deep tables, long chains of hops."""

from __future__ import annotations

import copy
import math
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gauntlet import limits, proxies, scenario
from gauntlet.errors import ScenarioError
from gauntlet.scenario import Matrix, load_matrix

MATRIX: dict[str, Any] = {
    "name": "mini",
    "description": "two cells",
    "time_scale": 10,
    "transports": ["sse", "long_poll"],
    "intermediaries": ["direct", "chain"],
    "workload": {"events": 3, "rate_per_s": 10, "payload_bytes": 32},
    "budget": {"latency_p95_ms": 100, "deliver_within_real_s": 20},
    "expect": [
        {"transport": t, "intermediary": i, "verdict": "PASS", "reason": "r"}
        for t in ("sse", "long_poll")
        for i in ("direct", "chain")
    ],
}
INTERMEDIARIES: dict[str, Any] = {
    "chain": {
        "description": "two hops",
        "hops": [
            {"behaviours": ["size_buffer"], "options": {"size_buffer_bytes": 4096}},
            {"behaviours": ["transparent"]},
        ],
    },
}

FIELDS = [
    "name",
    "description",
    "time_scale",
    "transports",
    "intermediaries",
    "protocols",
    "workload",
    "budget",
    "expect",
    "events",
    "rate_per_s",
    "payload_bytes",
    "burst",
    "quiet_after",
    "quiet_real_s",
    "latency_p95_ms",
    "deliver_within_real_s",
    "max_lost",
    "hops",
    "behaviours",
    "options",
    "mode",
    "external",
    "size_buffer_bytes",
]
NAMES = [
    "sse",
    "long_poll",
    "websocket",
    "direct",
    "chain",
    "transparent",
    "size_buffer",
    "../evil",
    "a/b",
    "",
    "..",
    "-rf",
    "h1",
    "h2",
    "https",
    "PASS",
    "FAIL",
    "regular",
    "reverse",
    "http://127.0.0.1:3128",
    "http://u:p@127.0.0.1:1",
    "http://10.0.0.1:80",
]

scalars = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e9, 1e-9, 0, -1, 2**63]),
    st.booleans(),
    st.sampled_from(NAMES),
    st.text(max_size=20),
    st.just("../a/\n\x00" * 1000),
)
hostile_numbers = st.sampled_from(
    [
        math.inf,
        -math.inf,
        math.nan,
        1e9,
        1e-9,
        0,
        -1,
        2**63,
        0.5,
        1e308,
        10**30,
        True,
        "1",
        [1],
        {"a": 1},
    ]
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner, max_size=6
        ),
    ),
    max_leaves=30,
)
hop = st.fixed_dictionaries(
    {"behaviours": st.lists(st.sampled_from(sorted(proxies.BEHAVIOURS)), min_size=1, max_size=3)}
)


def _mutate(doc: dict[str, Any], edits: list[tuple[list[Any], Any]]) -> dict[str, Any]:
    """Set each path (keys into nested tables, indexes into arrays) to a value; a path
    through anything else replaces what is there."""
    doc = copy.deepcopy(doc)
    for path, value in edits:
        node: Any = doc
        for key, next_key in zip(path, [*path[1:], None], strict=True):
            if next_key is None:
                _set(node, key, value)
                break
            child = _get(node, key)
            if not isinstance(child, dict | list) or isinstance(next_key, int) != isinstance(
                child, list
            ):
                child = [{}] * (next_key + 1) if isinstance(next_key, int) else {}
                _set(node, key, child)
            node = child
    return doc


def _get(node: Any, key: Any) -> Any:
    if isinstance(node, list):
        return node[key] if isinstance(key, int) and key < len(node) else None
    return node.get(key)


def _set(node: Any, key: Any, value: Any) -> None:
    if isinstance(node, list):
        if isinstance(key, int) and key < len(node):
            node[key] = copy.deepcopy(value) if isinstance(value, dict | list) else value
    else:
        node[key] = value


LEAVES = [
    ["name"],
    ["time_scale"],
    ["transports"],
    ["intermediaries"],
    ["protocols"],
    ["expect"],
    ["workload", "events"],
    ["workload", "rate_per_s"],
    ["workload", "payload_bytes"],
    ["workload", "burst"],
    ["workload", "quiet_after"],
    ["workload", "quiet_real_s"],
    ["budget", "latency_p95_ms"],
    ["budget", "max_lost"],
    ["budget", "deliver_within_real_s"],
]
CHAIN_LEAVES = [
    ["hops"],
    ["description"],
    ["hops", 0],
    ["hops", 0, "options"],
    ["hops", 0, "options", "size_buffer_bytes"],
    ["hops", 0, "behaviours"],
    ["hops", 0, "mode"],
    ["hops", 0, "external"],
    ["hops", 1, "options", "x"],
]
edit_paths = st.one_of(
    st.sampled_from(LEAVES), st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3)
)
edits = st.lists(st.tuples(edit_paths, st.one_of(hostile_numbers, values)), max_size=3)
chain_edits_st = st.lists(
    st.tuples(st.sampled_from(CHAIN_LEAVES), st.one_of(hostile_numbers, values)), max_size=3
)


@pytest.fixture
def no_processes(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("loading a scenario started a process")

    monkeypatch.setattr(subprocess, "Popen", refuse)


@settings(
    deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(
    matrix_edits=edits,
    chain_edits=chain_edits_st,
    long_chain=st.lists(hop, max_size=limits.MAX_HOPS + 40),
)
def test_any_document_loads_or_raises_one_line(
    monkeypatch, no_processes, matrix_edits, chain_edits, long_chain
):
    matrix = _mutate(MATRIX, matrix_edits)
    chains = _mutate(INTERMEDIARIES, [(["chain", *p], v) for p, v in chain_edits])
    if long_chain:
        chains["long"] = {"description": "long", "hops": long_chain}
    docs = {"mini.toml": matrix, scenario.INTERMEDIARIES_FILE: chains}

    def read(path: Path) -> dict[str, Any]:
        return docs[path.name]

    monkeypatch.setattr(scenario, "read_toml", read)
    monkeypatch.setattr(Path, "exists", lambda self: self.name in docs)
    started = time.monotonic()
    try:
        loaded = load_matrix("/scenarios/mini.toml", Path("/scenarios"))
    except ScenarioError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) <= ScenarioError.MAX_CHARS
    else:
        assert isinstance(loaded, Matrix)
        _assert_valid(loaded)
    assert time.monotonic() - started < 1.0


def _assert_valid(matrix: Matrix) -> None:
    """What a loaded spec promises the runner: bounded, finite, safe names, unique cells."""
    assert limits.bad_name(matrix.name) is None
    ids = [c.id for c in matrix.cells]
    assert len(ids) == len(set(ids))
    for cell in matrix.cells:
        assert limits.bad_name(cell.intermediary.name) is None
        assert len(cell.intermediary.hops) <= limits.MAX_HOPS
        w, b, t = cell.workload, cell.budget, cell.timing
        for value, bounds in (
            (t.time_scale, limits.TIME_SCALE),
            (w.events, limits.EVENTS),
            (w.rate_per_s, limits.RATE_PER_S),
            (w.payload_bytes, limits.PAYLOAD_BYTES),
        ):
            assert limits.out_of_bounds(value, bounds) is None
        assert math.isfinite(b.latency_p95_ms) and 0 <= b.max_lost <= w.events
        assert w.schedule_s(t.time_scale)[-1] + t.deliver_within_s <= limits.CELL_MAX_S
