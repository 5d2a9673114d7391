"""Scenario data -> frozen, validated specs, one `CellSpec` per transport x intermediary.

A matrix file (`scenarios/<name>.toml`) names transports, intermediaries, a workload, a budget,
a time scale, and the expected verdict of every cell with its reason. Named intermediaries
(chains of hops) live in `scenarios/intermediaries.toml`; any proxy behaviour's name is also an
intermediary on its own (one reverse hop), and `direct` means no hop at all.

Real-world durations are written at their real values (names end in `_real_s`) and divided by
the matrix's `time_scale` here, in one place, so a scenario takes seconds and the report can
show both. Every error names the file, the place in it and the field.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import proxies
from harness.clients import TRANSPORTS
from harness.errors import ScenarioError
from harness.hops import HopSpec, check_chain, effective_options
from harness.verdict import Budget, Verdict

SCENARIOS_DIR = Path(__file__).resolve().parent.parent / "scenarios"
INTERMEDIARIES_FILE = "intermediaries.toml"
PROFILES_FILE = "profiles.toml"
DIRECT = "direct"


@dataclass(frozen=True)
class Workload:
    """What the publisher sends: `events` events of `payload_bytes`, `rate_per_s` on average.

    Shapes from the field, each a reason a transport fails differently:
    - steady (the default): one event every 1/rate_per_s seconds;
    - bursts: `burst` events back to back, a burst every burst/rate_per_s seconds (a chat
      room waking up, a batch job finishing), which tests batching and per-event cost;
    - a quiet period: after event `quiet_after`, nothing for `quiet_real_s` real-world seconds
      (divided by the time scale like every real-world duration), long enough to provoke
      idle timeouts (ALB 60 s, nginx 60 s; FIELD.md) unless the transport sends heartbeats;
    - large payloads: `payload_bytes` in the KiB, so size thresholds fill and flush.
    """

    events: int
    rate_per_s: float
    payload_bytes: int
    burst: int = 1
    quiet_after: int = 0
    quiet_real_s: float = 0.0

    def schedule_s(self, time_scale: float) -> list[float]:
        """When each event is published, in seconds after the workload starts (pure)."""
        out: list[float] = []
        quiet_s = self.quiet_real_s / time_scale if self.quiet_after else 0.0
        for i in range(self.events):
            at = (i // self.burst) * self.burst / self.rate_per_s
            out.append(at + (quiet_s if self.quiet_after and i >= self.quiet_after else 0.0))
        return out


@dataclass(frozen=True)
class Timing:
    """Real-world patience, scaled: `deliver_within_s` = `deliver_within_real_s / time_scale`."""

    time_scale: float
    deliver_within_real_s: float

    @property
    def deliver_within_s(self) -> float:
        return self.deliver_within_real_s / self.time_scale


@dataclass(frozen=True)
class Intermediary:
    name: str
    description: str
    hops: tuple[HopSpec, ...]


ANY_PROTOCOL = "*"
PROTOCOLS = {
    "h1": "plain HTTP/1.1",
    "https": "HTTP/1.1 over TLS (the run's own CA)",
    "h2": "TLS with ALPN offering h2 (HTTP/2 where every hop and the server agree)",
}


@dataclass(frozen=True)
class CellSpec:
    matrix: str
    transport: str
    intermediary: Intermediary
    workload: Workload
    budget: Budget
    timing: Timing
    expected_verdict: Verdict | None
    expected_reason: str | None
    protocol: str = "h1"

    @property
    def id(self) -> str:
        """`transport-intermediary`, plus `-protocol` when it is not plain HTTP/1.1."""
        suffix = "" if self.protocol == "h1" else f"-{self.protocol}"
        return f"{self.transport}-{self.intermediary.name}{suffix}"

    def to_json(self) -> dict[str, Any]:
        return {
            "matrix": self.matrix,
            "transport": self.transport,
            "protocol": self.protocol,
            "intermediary": self.intermediary.name,
            "hops": [
                {"behaviours": list(h.behaviours), "mode": h.mode, "options": dict(h.options),
                 "options_real": effective_options(h, 1.0),
                 "options_scaled": effective_options(h, self.timing.time_scale)}
                for h in self.intermediary.hops
            ],
            "workload": vars(self.workload),
            "budget": {"latency_p95_ms": self.budget.latency_p95_ms,
                       "max_lost": self.budget.max_lost,
                       "added_p50_ms": self.budget.added_p50_ms},
            "timing": {"time_scale": self.timing.time_scale,
                       "deliver_within_real_s": self.timing.deliver_within_real_s,
                       "deliver_within_s": self.timing.deliver_within_s},
        }  # fmt: skip


@dataclass(frozen=True)
class Matrix:
    name: str
    description: str
    path: Path
    time_scale: float
    cells: tuple[CellSpec, ...]


class _Table:
    """A TOML table that reports missing, mistyped and unknown keys with file and place."""

    def __init__(self, data: Any, path: Path, where: str) -> None:
        if not isinstance(data, dict):
            raise ScenarioError(f"{path}: {where}: expected a table, got {type(data).__name__}")
        self.data, self.path, self.where = data, path, where
        self.used: set[str] = set()

    def error(self, key: str, what: str) -> ScenarioError:
        return ScenarioError(f"{self.path}: {self.where}: field '{key}': {what}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is ...:
                raise self.error(key, "missing")
            return default
        value = self.data[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise self.error(key, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def positive(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        value = self.get(key, kind, default)
        if value <= 0:
            raise self.error(key, f"must be > 0, got {value!r}")
        return value

    def table(self, key: str, default: Any = ...) -> _Table:
        return _Table(self.get(key, dict, default), self.path, f"{self.where}.{key}".lstrip("."))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown field (a typo?)")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None


def load_intermediaries(scenarios_dir: Path = SCENARIOS_DIR) -> dict[str, Intermediary]:
    """Every intermediary name: `direct`, each behaviour alone, and the named chains."""
    found = {DIRECT: Intermediary(DIRECT, "no intermediary: the client talks to the server", ())}
    for name, behaviour in proxies.BEHAVIOURS.items():
        found[name] = Intermediary(name, behaviour.summary, (HopSpec((name,), behaviour.mode),))
    path = scenarios_dir / INTERMEDIARIES_FILE
    if path.exists():
        root = _Table(read_toml(path), path, "")
        for name in root.data:
            entry = root.table(name)
            hops = []
            for i, raw in enumerate(entry.get("hops", list)):
                hop = _Table(raw, path, f"{name}.hops[{i}]")
                options = hop.get("options", dict, {})
                external = hop.get("external", str, None)
                try:
                    spec = HopSpec(
                        tuple(hop.get("behaviours", list, [] if external else ...)),
                        hop.get("mode", str, "reverse"),
                        tuple((k, str(v)) for k, v in options.items()),
                        external,
                    )
                except ScenarioError as exc:
                    raise ScenarioError(f"{path}: {name}.hops[{i}]: {exc}") from None
                hop.done()
                hops.append(spec)
            try:
                check_chain(hops)
            except ScenarioError as exc:
                raise ScenarioError(f"{path}: {name}: {exc}") from None
            found[name] = Intermediary(name, entry.get("description", str), tuple(hops))
            entry.done()
    return found


def resolve_intermediary(name: str, scenarios_dir: Path = SCENARIOS_DIR) -> Intermediary:
    known = load_intermediaries(scenarios_dir)
    if name not in known:
        raise ScenarioError(f"unknown intermediary {name!r} (known: {', '.join(sorted(known))})")
    return known[name]


def check_transport(name: str) -> str:
    if name not in TRANSPORTS:
        raise ScenarioError(f"unknown transport {name!r} (known: {', '.join(TRANSPORTS)})")
    return name


def matrix_path(name_or_path: str, scenarios_dir: Path = SCENARIOS_DIR) -> Path:
    if name_or_path.endswith(".toml") or "/" in name_or_path:
        return Path(name_or_path)
    path = scenarios_dir / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(m for m, _ in list_matrices(scenarios_dir)) or "none"
        raise ScenarioError(f"unknown matrix {name_or_path!r} (known: {known})")
    return path


def list_matrices(scenarios_dir: Path = SCENARIOS_DIR) -> list[tuple[str, str]]:
    """(name, description) of every matrix file, without validating it fully."""
    out = []
    for path in sorted(scenarios_dir.glob("*.toml")):
        if path.name not in (INTERMEDIARIES_FILE, PROFILES_FILE):
            out.append((path.stem, str(read_toml(path).get("description", ""))))
    return out


def load_matrix(name_or_path: str, scenarios_dir: Path = SCENARIOS_DIR) -> Matrix:
    path = matrix_path(name_or_path, scenarios_dir)
    root = _Table(read_toml(path), path, "")
    name = root.get("name", str, path.stem)
    description = root.get("description", str)
    time_scale = root.positive("time_scale", (int, float))
    wl = root.table("workload")
    workload = Workload(
        wl.positive("events", int), wl.positive("rate_per_s", (int, float)),
        wl.positive("payload_bytes", int), wl.positive("burst", int, 1),
        wl.get("quiet_after", int, 0), wl.get("quiet_real_s", (int, float), 0.0),
    )  # fmt: skip
    if not 0 <= workload.quiet_after < workload.events:
        raise wl.error("quiet_after", f"must be 0 (no quiet period) or below events "
                       f"({workload.events}), got {workload.quiet_after}")  # fmt: skip
    if workload.quiet_real_s < 0 or bool(workload.quiet_real_s) != bool(workload.quiet_after):
        raise wl.error("quiet_real_s", "a quiet period needs both quiet_after > 0 and "
                       "quiet_real_s > 0")  # fmt: skip
    wl.done()
    bt = root.table("budget")
    budget = Budget(bt.positive("latency_p95_ms", (int, float)), bt.get("max_lost", int, 0),
                    bt.positive("added_p50_ms", (int, float), None) if "added_p50_ms" in bt.data
                    else None)  # fmt: skip
    timing = Timing(time_scale, bt.positive("deliver_within_real_s", (int, float)))
    bt.done()
    known = load_intermediaries(scenarios_dir)
    transports = root.get("transports", list)
    for i, t in enumerate(transports):
        if t not in TRANSPORTS:
            raise root.error(f"transports[{i}]", f"unknown transport {t!r} "
                             f"(known: {', '.join(TRANSPORTS)})")  # fmt: skip
    intermediaries = root.get("intermediaries", list)
    for i, m in enumerate(intermediaries):
        if m not in known:
            raise root.error(f"intermediaries[{i}]", f"unknown intermediary {m!r} "
                             f"(known: {', '.join(sorted(known))})")  # fmt: skip
    protocols = root.get("protocols", list, ["h1"])
    for i, p in enumerate(protocols):
        if p not in PROTOCOLS:
            raise root.error(f"protocols[{i}]", f"unknown protocol {p!r} "
                             f"(known: {', '.join(PROTOCOLS)})")  # fmt: skip
    expectations: dict[tuple[str, str, str], tuple[Verdict, str]] = {}
    for i, raw in enumerate(root.get("expect", list)):
        e = _Table(raw, path, f"expect[{i}]")
        transport, intermediary = e.get("transport", str), e.get("intermediary", str)
        protocol = e.get("protocol", str, ANY_PROTOCOL)  # absent: every protocol of the matrix
        if protocol != ANY_PROTOCOL and protocol not in protocols:
            raise e.error("protocol", f"{protocol!r} is not in the matrix's protocols")
        verdict_name = e.get("verdict", str)
        if verdict_name not in Verdict.__members__:
            raise e.error("verdict", f"{verdict_name!r} is not one of {', '.join(Verdict)}")
        reason = e.get("reason", str)
        if not reason.strip():
            raise e.error("reason", "must say why (a reader checks it against FIELD.md)")
        e.done()
        if transport not in transports or intermediary not in intermediaries:
            raise e.error("transport", f"cell {transport}-{intermediary} is not in the matrix")
        if (transport, intermediary, protocol) in expectations:
            raise e.error("transport", f"cell {transport}-{intermediary} is expected twice")
        expectations[(transport, intermediary, protocol)] = (Verdict(verdict_name), reason)
    root.done()
    cells = []
    for t in transports:
        for m in intermediaries:
            for p in protocols:
                found = expectations.get((t, m, p)) or expectations.get((t, m, ANY_PROTOCOL))
                if found is None:
                    raise ScenarioError(f"{path}: cell {t}-{m} ({p}) has no [[expect]] entry "
                                        "(every cell needs an expected verdict and a reason)")
                verdict, reason = found
                cells.append(CellSpec(name, t, known[m], workload, budget, timing, verdict,
                                      reason, p))  # fmt: skip
    return Matrix(name, description, path, time_scale, tuple(cells))


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    matrices: tuple[str, ...]
    repeats: int
    jobs: int = 1
    """Cells measured side by side (harness/runner.py); 1 means one after another."""


def load_profiles(scenarios_dir: Path = SCENARIOS_DIR) -> dict[str, Profile]:
    path = scenarios_dir / PROFILES_FILE
    if not path.exists():
        return {}
    root = _Table(read_toml(path), path, "")
    known = {m for m, _ in list_matrices(scenarios_dir)}
    profiles = {}
    for name in root.data:
        t = root.table(name)
        matrices = t.get("matrices", list)
        for i, m in enumerate(matrices):
            if m not in known:
                raise t.error(f"matrices[{i}]", f"unknown matrix {m!r} (known: "
                              f"{', '.join(sorted(known))})")  # fmt: skip
        profiles[name] = Profile(name, t.get("description", str), tuple(matrices),
                                 t.positive("repeats", int, 1),
                                 t.positive("jobs", int, 1))  # fmt: skip
        t.done()
    return profiles


def profile_cells(name: str, scenarios_dir: Path = SCENARIOS_DIR
                  ) -> tuple[Profile, list[tuple[str, CellSpec]]]:  # fmt: skip
    """(profile, [(unique id, cell)]): ids are `matrix:cell-id`, `#k` per repeat."""
    profiles = load_profiles(scenarios_dir)
    if name not in profiles:
        raise ScenarioError(f"unknown profile {name!r} (known: {', '.join(profiles) or 'none'})")
    profile = profiles[name]
    out = []
    for k in range(1, profile.repeats + 1):
        for matrix in profile.matrices:
            for cell in load_matrix(matrix, scenarios_dir).cells:
                suffix = f"#{k}" if profile.repeats > 1 else ""
                out.append((f"{matrix}:{cell.id}{suffix}", cell))
    return profile, out


def adhoc_cell(transport: str, intermediary: str, scenarios_dir: Path = SCENARIOS_DIR,
               base: str = "smoke", protocol: str = "h1") -> CellSpec:  # fmt: skip
    """One cell outside any matrix: the base matrix's workload, and its expectation if any."""
    check_transport(transport)
    if protocol not in PROTOCOLS:
        raise ScenarioError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    inter = resolve_intermediary(intermediary, scenarios_dir)
    matrix = load_matrix(base, scenarios_dir)
    for cell in matrix.cells:
        if (cell.transport, cell.intermediary.name, cell.protocol) == (
            transport, intermediary, protocol):  # fmt: skip
            return cell
    first = matrix.cells[0]
    return CellSpec("adhoc", transport, inter, first.workload, first.budget, first.timing,
                    None, None, protocol)  # fmt: skip
