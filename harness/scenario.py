"""Scenario data -> frozen, validated specs, one `CellSpec` per transport x intermediary.

A matrix file (`scenarios/<name>.toml`) names transports, intermediaries, a workload, a budget,
a time scale, and the expected verdict of every cell with its reason. Named intermediaries
(chains of hops) live in `scenarios/intermediaries.toml`; any proxy behaviour's name is also an
intermediary on its own (one reverse hop), and `direct` means no hop at all.

Real-world durations are written at their real values (names end in `_real_s`); the cells
built here carry them divided by the matrix's `time_scale` (harness/spec.py, the one place
that divides), so the launcher and the clients take seconds and the report can show both.
What each file may hold is a pydantic model (harness/scenario_models.py: strict types, the
bounds and safe names of harness/limits.py, no unknown key); what spans tables or needs the
registries (an [[expect]] naming a cell of its matrix, known names, the options a behaviour
declares, a chain's hop order, a cell's length) is checked here once the models have parsed.
Every error is one line naming the file, the place in it and the field. `select_cells` is how
both the CLI and the pytest plugin choose what to run.
"""

from __future__ import annotations

import importlib.resources
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gauntlet import limits, proxies, real
from gauntlet import scenario_models as models
from gauntlet.clients import TRANSPORTS
from gauntlet.errors import GauntletError, ScenarioError
from gauntlet.loopback import parse_server_address
from gauntlet.server.optout import OPT_OUTS
from gauntlet.spec import (  # the specs themselves, pure (re-exported: the data layer's names)
    ANY_PROTOCOL,
    DIRECT,
    PROTOCOLS,
    CellSpec,
    HopSpec,
    Intermediary,
    Selection,
    Timing,
    Workload,
    check_chain,
    option_text,
    repeated,
    sharded,
)
from gauntlet.verdict import Budget, Verdict


def _builtin_scenarios() -> Path:
    """The built-in scenario folder: the repository's scenarios/, shipped in the wheel as the
    package `<this package>.scenarios` (pyproject.toml, [tool.setuptools.package-dir]) and found
    through importlib.resources, so an install outside the checkout finds it too."""
    found = importlib.resources.files(f"{__package__}.scenarios")
    if not isinstance(found, Path):  # a zipped install: TOML files read as a folder need a disk
        raise GauntletError(f"built-in scenarios at {found} are not a folder on disk")
    return found


SCENARIOS_DIR = _builtin_scenarios()
"""Built-in matrices, chains and profiles. A team's own folder (`--scenarios DIR`) adds to them:
its files are looked up first, and its chains and profiles join (or replace) the built-in ones."""
INTERMEDIARIES_FILE = "intermediaries.toml"
PROFILES_FILE = "profiles.toml"


@dataclass(frozen=True)
class Matrix:
    name: str
    description: str
    path: Path
    time_scale: float
    cells: tuple[CellSpec, ...]


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: not UTF-8 text (byte {exc.start}): a binary file?") from None
    except IsADirectoryError:
        raise ScenarioError(f"{path}: is a folder, not a scenario file") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_intermediaries(scenarios_dir: Path = SCENARIOS_DIR) -> dict[str, Intermediary]:
    """Every intermediary name: `direct`, each behaviour alone, and the named chains."""
    found = {DIRECT: Intermediary(DIRECT, "no intermediary: the client talks to the server", ())}
    for name, behaviour in proxies.BEHAVIOURS.items():
        found[name] = Intermediary(name, behaviour.summary, (HopSpec((name,), behaviour.mode),))
    for name, preset in real.PRESETS.items():  # `nginx:defaults`: one real device, started
        mode = real.DEVICES[preset.device].mode
        found[name] = Intermediary(name, preset.summary, (HopSpec((), mode, real=name),))
    if scenarios_dir != SCENARIOS_DIR:  # a team's folder adds to the built-in chains
        found.update(load_intermediaries(SCENARIOS_DIR))
    path = scenarios_dir / INTERMEDIARIES_FILE
    if path.exists():
        data = read_toml(path)
        for name in data:
            if why := limits.bad_name(name):
                raise ScenarioError(f"{path}: [{name[:40]}]: intermediary {why}")
        for name, chain in models.parse(models.CHAINS, data, path).items():
            found[name] = _chain(path, name, chain)
    return found


def _chain(path: Path, name: str, chain: models.ChainTable) -> Intermediary:
    """A named chain whose tables parsed: its hops built (HopSpec checks each behaviour, mode,
    external URL and real device), their options and their order checked."""
    hops = []
    for i, hop in enumerate(chain.hops):
        if hop.behaviours is None and not (hop.external or hop.real):
            raise models.error_at(path, (name, "hops", i, "behaviours"), "missing")
        behaviours = hop.behaviours or []
        try:
            default_mode = real.device_of(hop.real).mode if hop.real else "reverse"
            spec = HopSpec(
                tuple(behaviours),
                default_mode if hop.mode is None else hop.mode,
                tuple((k, option_text(v)) for k, v in hop.options.items()),
                hop.external,
                hop.real,
            )
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: {name}.hops[{i}]: {exc}") from None
        _check_options(path, (name, "hops", i, "options"), hop.options, behaviours)
        hops.append(spec)
    try:
        check_chain(hops)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {name}: {exc}") from None
    try:
        address = parse_server_address(chain.server, "server") if chain.server else None
    except GauntletError as exc:
        raise models.error_at(path, (name, "server"), str(exc)) from None
    return Intermediary(name, chain.description, tuple(hops), address)


def _check_options(
    path: Path, at: tuple[str | int, ...], options: dict[str, Any], behaviours: list[str]
) -> None:
    """Each option a behaviour declares (proxies/, `load()`) has its declared type and a value
    within limits.OPTION_INT / OPTION_STR_CHARS; other names go to mitmproxy as they are
    (its own options), as strings, numbers or booleans only."""
    declared = {o.name: o for b in behaviours for o in proxies.BEHAVIOURS[b].options}
    for key, value in options.items():
        option = declared.get(key)
        kind = models.OPTION_KINDS.get(option.type if option else "", models.OTHER_OPTION)
        models.parse(kind, value, path, (*at, key))
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            if why := limits.out_of_bounds(value, limits.OPTION_INT):
                raise models.error_at(path, (*at, key), why)
        elif len(value) > limits.OPTION_STR_CHARS or not value.isprintable():
            raise models.error_at(
                path, (*at, key), f"at most {limits.OPTION_STR_CHARS} printable characters"
            )


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
    if not path.exists() and scenarios_dir != SCENARIOS_DIR:  # a team's folder, then built-ins
        path = SCENARIOS_DIR / f"{name_or_path}.toml"
    if not path.exists():
        known = ", ".join(m for m, _ in list_matrices(scenarios_dir)) or "none"
        raise ScenarioError(f"unknown matrix {name_or_path!r} (known: {known})")
    return path


def list_matrices(scenarios_dir: Path = SCENARIOS_DIR) -> list[tuple[str, str]]:
    """(name, description) of every matrix file, without validating it fully; a team's folder
    adds to the built-in ones (its file wins a name both have)."""
    out = []
    files = {p.name: p for d in (SCENARIOS_DIR, scenarios_dir) for p in d.glob("*.toml")}
    for path in (files[name] for name in sorted(files)):
        if path.name not in (INTERMEDIARIES_FILE, PROFILES_FILE):
            out.append((path.stem, str(read_toml(path).get("description", ""))))
    return out


def _all_known(path: Path, key: str, names: list[str], what: str, known: list[str]) -> None:
    """Each of the names a matrix lists (`transports`, ...) is one gauntlet knows."""
    for i, name in enumerate(names):
        if name not in known:
            raise models.error_at(
                path, (key, i), f"unknown {what} {name!r} (known: {', '.join(known)})"
            )


def load_matrix(name_or_path: str, scenarios_dir: Path = SCENARIOS_DIR) -> Matrix:
    path = matrix_path(name_or_path, scenarios_dir)
    doc = models.parse(models.MATRIX, read_toml(path), path)
    if doc.name is None and (why := limits.bad_name(path.stem)):
        raise ScenarioError(f"{path}: matrix file {why}")
    name = path.stem if doc.name is None else doc.name
    wl, bt = doc.workload, doc.budget
    workload = Workload(
        wl.events, wl.rate_per_s, wl.payload_bytes, wl.burst, wl.quiet_after, wl.quiet_real_s
    )
    if not 0 <= wl.quiet_after < wl.events:
        raise models.error_at(
            path,
            ("workload", "quiet_after"),
            f"must be 0 (no quiet period) or below events ({wl.events}), got {wl.quiet_after}",
        )
    if bool(wl.quiet_real_s) != bool(wl.quiet_after):
        raise models.error_at(
            path,
            ("workload", "quiet_real_s"),
            "a quiet period needs both quiet_after > 0 and quiet_real_s > 0",
        )
    if why := limits.out_of_bounds(bt.max_lost, (0, wl.events)):
        raise models.error_at(path, ("budget", "max_lost"), why)
    budget = Budget(
        bt.latency_p95_ms,
        bt.max_lost,
        bt.max_batch_tokens,
        bt.inter_token_p99_ms,
        bt.added_p50_ms,
    )
    timing = Timing(doc.time_scale, bt.deliver_within_real_s)
    cell_s = workload.schedule_s(doc.time_scale)[-1] + timing.deliver_within_s
    if cell_s > limits.CELL_MAX_S:
        raise models.error_at(
            path,
            ("budget", "deliver_within_real_s"),
            f"a cell would take {cell_s:.0f} s (publishing, then the delivery budget, "
            f"scaled); at most {limits.CELL_MAX_S:g} s",
        )
    known = load_intermediaries(scenarios_dir)
    transports, intermediaries = doc.transports, doc.intermediaries
    protocols, header_sets = doc.protocols, doc.headers
    _all_known(path, "transports", transports, "transport", list(TRANSPORTS))
    _all_known(path, "intermediaries", intermediaries, "intermediary", sorted(known))
    _all_known(path, "protocols", protocols, "protocol", list(PROTOCOLS))
    _all_known(path, "headers", header_sets, "header opt-out", list(OPT_OUTS))
    expectations: dict[tuple[str, str, str, str], tuple[Verdict, str]] = {}
    for i, e in enumerate(doc.expect):
        if e.protocol != ANY_PROTOCOL and e.protocol not in protocols:
            raise models.error_at(
                path, ("expect", i, "protocol"), f"{e.protocol!r} is not in the matrix's protocols"
            )
        if e.headers != ANY_PROTOCOL and e.headers not in header_sets:
            raise models.error_at(
                path, ("expect", i, "headers"), f"{e.headers!r} is not in the matrix's headers"
            )
        cell = f"cell {e.transport}-{e.intermediary}"
        if e.transport not in transports or e.intermediary not in intermediaries:
            raise models.error_at(path, ("expect", i, "transport"), f"{cell} is not in the matrix")
        key = (e.transport, e.intermediary, e.protocol, e.headers)
        if key in expectations:
            raise models.error_at(path, ("expect", i, "transport"), f"{cell} is expected twice")
        expectations[key] = (Verdict(e.verdict), e.reason)
    cells = []
    for t in transports:
        for m in intermediaries:
            for p in protocols:
                for h in header_sets:
                    found = next(
                        (
                            expectations[k]
                            for k in [
                                (t, m, p, h),
                                (t, m, p, ANY_PROTOCOL),
                                (t, m, ANY_PROTOCOL, h),
                                (t, m, ANY_PROTOCOL, ANY_PROTOCOL),
                            ]
                            if k in expectations
                        ),
                        None,
                    )
                    if found is None:
                        where = p if h == "none" else f"{p}, headers {h}"
                        raise ScenarioError(
                            f"{path}: cell {t}-{m} ({where}) has no [[expect]] "
                            "entry (every cell needs an expected verdict and a "
                            "reason)"
                        )
                    verdict, reason = found
                    cells.append(
                        CellSpec(name, t, known[m], workload, budget, timing, verdict, reason, p, h)
                    )
    return Matrix(name, doc.description, path, doc.time_scale, tuple(cells))


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    matrices: tuple[str, ...]
    repeats: int
    jobs: int = 1
    """Cells measured side by side (harness/runner.py); 1 means one after another."""


def load_profiles(scenarios_dir: Path = SCENARIOS_DIR) -> dict[str, Profile]:
    builtin = {} if scenarios_dir == SCENARIOS_DIR else load_profiles(SCENARIOS_DIR)
    path = scenarios_dir / PROFILES_FILE
    if not path.exists():
        return builtin
    data = read_toml(path)
    for name in data:
        if why := limits.bad_name(name):
            raise ScenarioError(f"{path}: [{name[:40]}]: profile {why}")
    known = sorted({m for m, _ in list_matrices(scenarios_dir)})
    profiles = dict(builtin)
    for name, t in models.parse(models.PROFILES, data, path).items():
        for i, m in enumerate(t.matrices):
            if m not in known:
                raise models.error_at(
                    path, (name, "matrices", i), f"unknown matrix {m!r} (known: {', '.join(known)})"
                )
        profiles[name] = Profile(name, t.description, tuple(t.matrices), t.repeats, t.jobs)
    return profiles


def profile_cells(
    name: str, scenarios_dir: Path = SCENARIOS_DIR, repeats: int | None = None
) -> tuple[Profile, list[tuple[str, CellSpec]]]:
    """(profile, [(unique id, cell)]): ids are `matrix:cell-id`, `#k` per repeat; `repeats`
    (`gauntlet run --repeat N`) replaces the profile's own."""
    profiles = load_profiles(scenarios_dir)
    if name not in profiles:
        raise ScenarioError(f"unknown profile {name!r} (known: {', '.join(profiles) or 'none'})")
    profile = profiles[name]
    times = profile.repeats if repeats is None else repeats
    out = []
    for k in range(1, times + 1):
        for matrix in profile.matrices:
            for cell in load_matrix(matrix, scenarios_dir).cells:
                suffix = f"#{k}" if times > 1 else ""
                out.append((f"{matrix}:{cell.id}{suffix}", cell))
    return profile, out


def adhoc_cell(
    transport: str,
    intermediary: str,
    scenarios_dir: Path = SCENARIOS_DIR,
    base: str = "smoke",
    protocol: str = "h1",
) -> CellSpec:
    """One cell outside any matrix: the base matrix's workload, and its expectation if any."""
    check_transport(transport)
    if protocol not in PROTOCOLS:
        raise ScenarioError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")
    inter = resolve_intermediary(intermediary, scenarios_dir)
    matrix = load_matrix(base, scenarios_dir)
    for cell in matrix.cells:
        if (cell.transport, cell.intermediary.name, cell.protocol) == (
            transport,
            intermediary,
            protocol,
        ):
            return cell
    first = matrix.cells[0]
    return CellSpec(
        "adhoc", transport, inter, first.workload, first.budget, first.timing, None, None, protocol
    )


def select_cells(
    *,
    matrix: str | None = None,
    profile: str | None = None,
    transport: str | None = None,
    intermediary: str | None = None,
    protocol: str = "h1",
    repeat: int | None = None,
    shard: str | None = None,
    scenarios_dir: Path = SCENARIOS_DIR,
) -> Selection:
    """The cells to measure, as `gauntlet run` and the pytest plugin choose them.

    One of: a `profile` (its matrices, `repeat` replacing its repeats); a `transport` and an
    `intermediary` (one cell, `adhoc_cell`); a `transport` alone (that transport's cells of
    `matrix`); a `matrix` (default: smoke). Then every cell `repeat` times (outside a
    profile) and the `shard` (`K/N`) of the result."""
    if profile is not None:
        found, pairs = profile_cells(profile, scenarios_dir, repeat)
        selected = Selection(
            tuple(c for _, c in pairs),
            tuple(i for i, _ in pairs),
            found.name,
            found.name,
            pairs[0][1].timing.time_scale,
            found.jobs,
        )
    elif transport is not None and intermediary is not None:
        cell = adhoc_cell(transport, intermediary, scenarios_dir, protocol=protocol)
        selected = Selection((cell,), None, cell.id, "adhoc", cell.timing.time_scale)
    elif transport is not None:
        loaded = load_matrix(matrix or "smoke", scenarios_dir)  # its paths, one transport
        check_transport(transport)
        selected = Selection(
            tuple(c for c in loaded.cells if c.transport == transport),
            None,
            f"{loaded.name}-{transport}",
            loaded.name,
            loaded.time_scale,
        )
    else:
        loaded = load_matrix(matrix or "smoke", scenarios_dir)
        selected = Selection(loaded.cells, None, loaded.name, loaded.name, loaded.time_scale)
    if repeat is not None and profile is None:
        selected = repeated(selected, repeat)
    return sharded(selected, shard) if shard else selected
