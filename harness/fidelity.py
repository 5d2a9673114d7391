"""The fidelity matrix: each emulation against the real device its `Imitates:` line names.

An emulation that disagrees with its device gives a confident wrong answer ("SSE dies behind
nginx with gzip"), worse than none. So each pair of scenarios/fidelity/pairs.toml (a real
device:preset from harness/real/, an emulating hop from proxies/) is measured side by side
on the same transports and workloads, with a direct cell per (transport, workload) as the
latency baseline, and `compare` says, per (device, preset, transport, workload), whether they
agree and what differs:
- the verdict;
- delivered/sent;
- whether the client got the response headers at all (a proxy that holds headers with the
  body, like nginx's defaults on a small stream, leaves the client unconnected);
- the HTTP status codes the client saw (in how its connections ended: 403, 404, ...);
- whether it reconnected;
- added p50 latency, the device's against direct and the emulation's against a bare
  mitmdump relay of its mode (with the emulation's connection work where the pair's
  `relay_options` give it: nginx_defaults opens a connection per request, as nginx does),
  within max(5 ms, 25 %) unless the two sides' 95 % intervals come that close (noise:
  harness/fidelity_compare.py), except on the workloads the plan's `latency_not_claimed`
  names (there a row differing only in latency is "not claimed").

Loading the plan and building cells read scenarios/ and the device registry; the comparison
is pure, in harness/fidelity_compare.py (re-exported here). `gauntlet fidelity` (harness/cli.py)
runs the cells with harness/runner.py and stores the rows in results.json under `fidelity`,
which the table and the report read (they read only results JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gauntlet import proxies, real
from gauntlet import scenario_models as models
from gauntlet.errors import ScenarioError
from gauntlet.fidelity_compare import (  # noqa: F401  the comparison, pure; re-exported here
    AGREE,
    DIFFER,
    LATENCY_MIN_MS,
    LATENCY_PCT,
    NOT_CLAIMED,
    SKIPPED,
    compare,
    observed,
    render,
    rows,
    summary,
)
from gauntlet.scenario import (
    SCENARIOS_DIR,
    CellSpec,
    Intermediary,
    Timing,
    Workload,
    read_toml,
)
from gauntlet.spec import HopSpec, option_text
from gauntlet.verdict import Budget

PAIRS_FILE = SCENARIOS_DIR / "fidelity" / "pairs.toml"


@dataclass(frozen=True)
class Pair:
    real: str
    emulation: HopSpec | None
    claims: str
    not_claimed: tuple[tuple[str, str], ...] = ()  # (transport or workload, why)
    relay_options: tuple[tuple[str, str], ...] = ()
    """Options of the bare relay this emulation's latency is measured against: the same
    connection work as the emulation (nginx_defaults: a new connection per request)."""

    @property
    def relay(self) -> str | None:
        if self.emulation is None:
            return None
        return relay_name(self.emulation.mode, self.relay_options)

    @property
    def emulation_name(self) -> str | None:
        """The emulation's intermediary name in results: unique per pair."""
        if self.emulation is None:
            return None
        return f"{self.emulation.label}~{self.real}"


@dataclass(frozen=True)
class Plan:
    time_scale: float
    transports: tuple[str, ...]
    workloads: dict[str, Workload]
    budget: Budget
    deliver_within_real_s: float
    pairs: tuple[Pair, ...]
    # (workload, why): added latency no emulation claims there (the mitmdump hop's own cost)
    latency_not_claimed: tuple[tuple[str, str], ...] = ()


def load_plan(path: Path = PAIRS_FILE) -> Plan:
    """scenarios/fidelity/pairs.toml -> Plan; every error is one line naming the file, the
    place and the field (the models of harness/scenario_models.py, as for the matrices)."""
    plan = models.parse(models.PAIRS, read_toml(path), path)
    workloads = {
        name: Workload(
            w.events, w.rate_per_s, w.payload_bytes, w.burst, w.quiet_after, w.quiet_real_s
        )
        for name, w in plan.workloads.items()
    }
    for name, workload in workloads.items():
        quiet = workload.quiet_after
        if not 0 <= quiet < workload.events or bool(workload.quiet_real_s) != bool(quiet):
            raise models.error_at(
                path,
                ("workloads", name, "quiet_after"),
                "a quiet period needs quiet_after below events and quiet_real_s > 0",
            )
    known = {o.name for o in proxies.BEHAVIOURS["transparent"].options}
    pairs = []
    for i, p in enumerate(plan.pair):
        try:
            real.preset(p.real)
            emulation = None
            if p.emulation:  # in the device's place: forward for squid, reverse for nginx
                options = tuple((k, option_text(v)) for k, v in p.options.items())
                emulation = HopSpec(tuple(p.emulation), real.device_of(p.real).mode, options)
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: pair[{i}]: {exc}") from None
        for key in p.relay_options:
            if key not in known:
                raise models.error_at(
                    path,
                    ("pair", i, "relay_options", key),
                    f"unknown option (the relay is a transparent hop: {', '.join(known)})",
                )
        relay_options = tuple((k, option_text(v)) for k, v in p.relay_options.items())
        pairs.append(Pair(p.real, emulation, p.claims, tuple(p.not_claimed.items()), relay_options))
    for unclaimed in plan.latency_not_claimed:
        if unclaimed not in workloads:
            raise models.error_at(
                path,
                ("latency_not_claimed", unclaimed),
                f"unknown workload (known: {', '.join(workloads)})",
            )
    return Plan(
        plan.time_scale,
        tuple(plan.transports),
        workloads,
        Budget(plan.budget.latency_p95_ms),
        plan.budget.deliver_within_real_s,
        tuple(pairs),
        tuple(plan.latency_not_claimed.items()),
    )


def cells(
    plan: Plan,
    *,
    workloads: tuple[str, ...] | None = None,
    transports: tuple[str, ...] | None = None,
    devices: tuple[str, ...] | None = None,
) -> list[tuple[str, CellSpec]]:
    """(id, cell) for every workload x transport: direct, then each real device and each
    emulation once (a device shared by two pairs is measured once). Ids: `workload:cell-id`."""
    timing = Timing(plan.time_scale, plan.deliver_within_real_s)
    for name in devices or ():
        if name not in real.DEVICES and name not in real.PRESETS:
            raise ScenarioError(
                f"fidelity: unknown device {name!r} (known: "
                f"{', '.join(real.DEVICES)}, or a device:preset)"
            )
    chosen = [
        p
        for p in plan.pairs
        if devices is None or real.preset(p.real).device in devices or p.real in devices
    ]
    if not chosen:
        return []
    inters: dict[str, Intermediary] = {"direct": Intermediary("direct", "no hop", ())}
    for mode, options in sorted(
        {(p.emulation.mode, p.relay_options) for p in chosen if p.emulation is not None}
    ):
        name = relay_name(mode, options)
        inters[name] = Intermediary(
            name,
            f"a bare mitmdump hop ({mode}): the relay cost of an emulation",
            (HopSpec(("transparent",), mode, options),),
        )
    for p in chosen:
        inters.setdefault(
            p.real,
            Intermediary(
                p.real,
                real.preset(p.real).summary,
                (HopSpec((), real.device_of(p.real).mode, real=p.real),),
            ),
        )
        if p.emulation is not None and p.emulation_name is not None:
            inters.setdefault(
                p.emulation_name, Intermediary(p.emulation_name, p.claims, (p.emulation,))
            )
    out = []
    for wname, workload in plan.workloads.items():
        if workloads is not None and wname not in workloads:
            continue
        for t in plan.transports:
            if transports is not None and t not in transports:
                continue
            for inter in inters.values():
                cell = CellSpec(
                    f"fidelity-{wname}", t, inter, workload, plan.budget, timing, None, None
                )
                out.append((f"{wname}:{cell.id}", cell))
    return out


def relay_name(mode: str, options: tuple[tuple[str, str], ...] = ()) -> str:
    """The bare mitmdump hop an emulation's added latency is measured against: its mode, and
    `~per-request` when it opens a connection per request as the emulation does."""
    per_request = dict(options).get("transparent_connection_per_request") == "true"
    return f"relay~{mode}" + ("~per-request" if per_request else "")


def pairs_json(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "real": p.real,
            "emulation": p.emulation_name,
            "claims": p.claims,
            "relay": p.relay,
            "not_claimed": dict(p.not_claimed),
            "latency_not_claimed": dict(plan.latency_not_claimed),
        }
        for p in plan.pairs
    ]
