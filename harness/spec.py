"""What a cell is, before anything runs: hop specs, chain checks, transport timings, cells,
and the one place where real-world durations are divided by the time scale.

Scenarios write every duration at its real-world value (nginx's 60 s `proxy_read_timeout`,
SockJS's 25 s heartbeat, Phoenix's 2.5 s long-poll fallback), because that is what the field
documents (docs/field.md). A matrix runs them `time_scale` times shorter. That division
happens here and only here: `scale_hop` (a hop's mitmproxy options and a real device's
timeouts), `client_timings` (the reference clients' patience) and the `Timing` / `Workload`
of a cell. A `CellSpec` carries the results, so the launcher (harness/hops.py,
harness/real/launch.py) and the clients (harness/clients/) receive seconds and milliseconds
and never see the scale; results still record the real-world value beside the scaled one.

PURE: no processes, sockets, trio or files written. It reads the behaviour registry
(proxies/__init__.py) and the real devices' registry (harness/real/__init__.py), both pure
descriptions; harness/scenario.py (the loader) turns TOML into these specs.
"""

from __future__ import annotations

import ipaddress
import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gauntlet import proxies, real
from gauntlet.errors import GauntletError, ScenarioError

if TYPE_CHECKING:  # annotations only: verdict.py reaches the event log, which needs trio
    from gauntlet.verdict import Budget, Verdict

# --------------------------------------------------------------------------------------------
# Hops as a scenario writes them


@dataclass(frozen=True)
class HopSpec:
    """One hop: behaviours stacked in one mitmdump, its mode and extra mitmproxy options,
    at real-world values (`scale_hop` makes what the launcher runs)."""

    behaviours: tuple[str, ...]
    mode: str = "reverse"  # "reverse" | "regular" (forward proxy)
    options: tuple[tuple[str, str], ...] = ()
    external: str | None = None
    """An HTTP proxy already running (`http://127.0.0.1:3128`): Gauntlet neither starts nor
    configures it. Forward (`regular`): clients send it absolute-URI requests and CONNECT.
    Reverse: it must already forward to what follows it (its config is the team's)."""
    real: str | None = None
    """A real device Gauntlet starts and configures (`nginx:defaults`, harness/real/)."""

    def __post_init__(self) -> None:
        if self.external is not None:
            _check_external(self)
        if self.real is not None:
            _check_real(self)
        unknown = [b for b in self.behaviours if b not in proxies.BEHAVIOURS]
        if unknown:
            known = ", ".join(sorted(proxies.BEHAVIOURS))
            raise ScenarioError(f"unknown proxy behaviour {unknown[0]!r} (known: {known})")
        if self.mode not in ("reverse", "regular"):
            raise ScenarioError(f"unknown hop mode {self.mode!r} (known: reverse, regular)")
        layers = {proxies.BEHAVIOURS[b].layer for b in self.behaviours}
        if "tcp" in layers and (len(self.behaviours) > 1 or self.mode != "reverse"):
            raise ScenarioError(
                f"hop {self.label}: a connection-level behaviour runs alone in a reverse hop; "
                "chain it with HTTP behaviours in other hops"
            )

    @property
    def tcp_layer(self) -> bool:
        return any(proxies.BEHAVIOURS[b].layer == "tcp" for b in self.behaviours)

    @property
    def label(self) -> str:
        if self.external is not None:
            return f"external {self.external}"
        if self.real is not None:
            return self.real
        return "+".join(self.behaviours)


LOOPBACK_NAME = "localhost"
LOOPBACK_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _check_external(spec: HopSpec) -> None:
    """An external hop is a URL of a proxy on this machine, with no behaviours of ours.

    Parsed with urllib.parse and ipaddress, never by string prefix (`http://127.0.0.1@HOST`
    and `http://127.evil.example` both began with `127.`): the host must be an IP literal in
    127.0.0.0/8 or ::1, or exactly `localhost`; no userinfo; an explicit port. Nothing is
    resolved or connected to here. Errors never echo the URL's userinfo (a password)."""
    url = spec.external or ""
    shown = _redacted(url)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ScenarioError(f"external hop {shown!r}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ScenarioError(f"external hop {shown!r}: expected http://HOST:PORT")
    if "@" in parts.netloc:
        raise ScenarioError(
            f"external hop {shown!r}: no user or password in the URL "
            "(Gauntlet keeps no secrets; configure the proxy without them)"
        )
    if port is None:
        raise ScenarioError(f"external hop {shown!r}: a port is required (http://HOST:PORT)")
    if not _is_loopback(parts.hostname):
        raise ScenarioError(
            f"external hop {shown!r}: Gauntlet sends traffic to this machine only "
            "(an IP in 127.0.0.0/8, ::1, or localhost)"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ScenarioError(f"external hop {shown!r}: expected http://HOST:PORT, no path")
    if spec.behaviours or spec.options:
        raise ScenarioError(f"external hop {shown!r}: takes no behaviours or options of ours")


def _is_loopback(host: str) -> bool:
    """Exactly `localhost`, or an IP literal on loopback (pure: no name is resolved)."""
    if host == LOOPBACK_NAME:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in net for net in LOOPBACK_NETWORKS if net.version == address.version)


def _redacted(url: str) -> str:
    """`url` with any userinfo replaced by `***`, so no error line carries a password."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    return f"{scheme}{sep}{netloc}{slash}{tail}" if sep else ("***" if "@" in url else url)


def _check_real(spec: HopSpec) -> None:
    """A real hop is one known device:preset, alone in its hop, in the device's own mode."""
    device = real.device_of(spec.real or "")
    if spec.behaviours or spec.options or spec.external is not None:
        raise ScenarioError(f"real hop {spec.real!r}: takes no behaviours, options or external")
    if spec.mode != device.mode:
        raise ScenarioError(
            f"real hop {spec.real!r}: {device.name} runs as a {device.mode} proxy, not {spec.mode}"
        )


def check_chain(specs: Sequence[HopSpec]) -> None:
    """A forward (regular) hop must be the client's first hop: clients are configured with it."""
    for position, spec in enumerate(specs):
        if spec.mode == "regular" and position != 0:
            raise ScenarioError(
                f"hop {position + 1} ({spec.label}) is a forward proxy; only the first hop can be"
            )


def option_text(value: object) -> str:
    """A TOML option value as mitmdump's `--set` reads it: booleans are `true`/`false` (Python's
    `True` is refused: "bad value for option"), everything else as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --------------------------------------------------------------------------------------------
# The one scaling point


def scale_options(spec: HopSpec, time_scale: float = 1.0) -> dict[str, str]:
    """The options a hop runs with: explicit values, and every duration divided by the scale.

    Real-world durations (a module's `SCALED_OPTIONS`, see proxies/__init__.py) are written at
    their real-world values, defaults included, so each is passed explicitly, scaled. Other options
    are passed only when the scenario sets them.
    """
    explicit = dict(spec.options)
    out: dict[str, str] = {}
    for name in spec.behaviours:
        for option in proxies.BEHAVIOURS[name].options:
            if option.scaled:
                scaled = float(explicit.get(option.name, option.default)) / time_scale
                out[option.name] = str(max(1, round(scaled))) if scaled else "0"
    for key, value in explicit.items():
        out.setdefault(key, value)
    return out


def scaled_timeouts_s(name: str, time_scale: float = 1.0) -> dict[str, float]:
    """Each timeout a real device's preset writes, real-world seconds divided by the scale.

    Rounded to what the config can say: whole milliseconds (nginx, haproxy; at least 1 ms) or
    whole seconds, rounded up (squid's durations are seconds; at least 1 s)."""
    device = real.device_of(name)
    out = {}
    for key, real_s in device.timeouts_real_s.items():
        scaled = real_s / time_scale
        if device.time_unit in ("ms", "vcl"):
            out[key] = max(1, round(scaled * 1000)) / 1000
        else:
            out[key] = float(max(1, math.ceil(scaled)))
    return out


EXTERNAL_SCALE_WARNING = (
    "external hop at time scale 1/{scale:g}: Gauntlet does not configure it, so its own "
    "timeouts run at real-world length while the matrix's are divided by {scale:g}"
)


@dataclass(frozen=True)
class ScaledHop:
    """One hop as the launcher starts it: every duration already divided by the scale.

    `options`: the mitmdump `--set` options (a mitmdump hop); `timeouts_s`: what a real
    device's template gets (harness/real/); `warning`: an external hop in a scaled matrix
    (its timeouts are the team's and never reach their cut in a run that much shorter)."""

    spec: HopSpec
    options: tuple[tuple[str, str], ...] = ()
    timeouts_s: tuple[tuple[str, float], ...] = ()
    warning: str | None = None

    def record(self) -> dict[str, Any]:
        """Extra fields of this hop's results entry: a real hop's preset and its timeouts,
        real-world and as configured, or the external hop's warning."""
        if self.spec.real is not None:
            timeouts = {
                "real_s": dict(real.device_of(self.spec.real).timeouts_real_s),
                "scaled_s": dict(self.timeouts_s),
            }
            return {"real": self.spec.real, "timeouts": timeouts}
        if self.warning is not None:
            return {"warning": self.warning}
        return {}


def scale_hop(spec: HopSpec, time_scale: float = 1.0) -> ScaledHop:
    """`spec` with its real-world durations divided by `time_scale` (1: as written)."""
    if spec.real is not None:
        return ScaledHop(spec, timeouts_s=tuple(scaled_timeouts_s(spec.real, time_scale).items()))
    if spec.external is not None:
        warning = EXTERNAL_SCALE_WARNING.format(scale=time_scale) if time_scale != 1 else None
        return ScaledHop(spec, warning=warning)
    return ScaledHop(spec, tuple(scale_options(spec, time_scale).items()))


def scale_chain(specs: Sequence[HopSpec], time_scale: float = 1.0) -> tuple[ScaledHop, ...]:
    """A whole chain, checked (`check_chain`) and scaled."""
    check_chain(specs)
    return tuple(scale_hop(s, time_scale) for s in specs)


def scaled_ms(real_ms: float, time_scale: float, floor_ms: float = 1) -> int:
    return int(max(floor_ms, real_ms / time_scale))


# Transports' real-world timings (ms), with where they come from.
SOCKJS_HEARTBEAT_MS = 25_000  # SockJS server heartbeat_delay
SOCKJS_PRELUDE_BYTES = 2048  # SockJS xhr-streaming prelude
PHOENIX_FALLBACK_MS = 2_500  # Phoenix longPollFallbackMs
LONG_POLL_HOLD_MS = 30_000  # a typical long-poll hold (SignalR 90 s, Phoenix 20 s, 30 s here)
SHORT_POLL_EVERY_MS = 5_000  # a polite short-poll interval
WS_PROBE_MS = 1_000  # how long a probe socket must live before the client trusts it (unscaled)
WS_RETRY_MS = 500  # first wait before another upgrade probe, doubling (unscaled)


@dataclass(frozen=True)
class ClientTimings:
    """The reference clients' real-world patience, scaled (`client_timings`): heartbeats stay
    below a scaled idle timeout exactly as they do in production."""

    heartbeat_ms: int
    """SSE heartbeat the server is asked for (SockJS 25 s)."""
    canary_timeout_s: float
    """No canary within this -> long polling for the session: Phoenix's 2.5 s, NOT scaled (it
    is patience with this machine's first response, not a real-world duration:
    harness/clients/__init__.py)."""
    long_poll_hold_ms: int
    """How long the server holds a long poll (30 s)."""
    short_poll_every_s: float
    """A short-poll client's interval (5 s)."""


def client_timings(time_scale: float = 1.0) -> ClientTimings:
    """The transports' timings divided by `time_scale` (1: the real world's)."""
    return ClientTimings(
        heartbeat_ms=scaled_ms(SOCKJS_HEARTBEAT_MS, time_scale),
        canary_timeout_s=PHOENIX_FALLBACK_MS / 1000,
        long_poll_hold_ms=scaled_ms(LONG_POLL_HOLD_MS, time_scale),
        short_poll_every_s=scaled_ms(SHORT_POLL_EVERY_MS, time_scale) / 1000,
    )


REAL_WORLD = client_timings(1.0)

# --------------------------------------------------------------------------------------------
# Cells


DIRECT = "direct"
ANY_PROTOCOL = "*"
PROTOCOLS = {
    "h1": "plain HTTP/1.1",
    "https": "HTTP/1.1 over TLS (the run's own CA)",
    "h2": "TLS with ALPN offering h2 (HTTP/2 where every hop and the server agree)",
}


@dataclass(frozen=True)
class Workload:
    """What the publisher sends: `events` events of `payload_bytes`, `rate_per_s` on average.

    Shapes from the field, each a reason a transport fails differently:
    - steady (the default): one event every 1/rate_per_s seconds;
    - bursts: `burst` events back to back, a burst every burst/rate_per_s seconds (a chat
      room waking up, a batch job finishing), which tests batching and per-event cost;
    - a quiet period: after event `quiet_after`, nothing for `quiet_real_s` real-world seconds
      (divided by the time scale like every real-world duration), long enough to provoke
      idle timeouts (ALB 60 s, nginx 60 s; docs/field.md) unless the transport sends heartbeats;
    - large payloads: `payload_bytes` in the KiB, so size thresholds fill and flush.
    """

    events: int
    rate_per_s: float
    payload_bytes: int
    burst: int = 1
    quiet_after: int = 0
    quiet_real_s: float = 0.0

    def schedule_s(self, time_scale: float) -> list[float]:
        """When each event is published, in seconds after the workload starts."""
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
    server: tuple[str, int] | None = None
    """Where the server must listen (`server = "127.0.0.1:PORT"`): the port a team's reverse
    proxy (an external hop) already forwards to. None: a port from the OS."""


@dataclass(frozen=True)
class CellSpec:
    """One transport x intermediary x protocol x headers, with its expectation.

    The scaled values a run needs are computed once, when the cell is made (and again by
    `dataclasses.replace` with another `timing`): `hops` for the launcher, `client` for the
    transport's client, `schedule_s` for the publisher, `timing.deliver_within_s`."""

    matrix: str
    transport: str
    intermediary: Intermediary
    workload: Workload
    budget: Budget
    timing: Timing
    expected_verdict: Verdict | None
    expected_reason: str | None
    protocol: str = "h1"
    headers: str = "none"
    """Anti-buffering response headers the server sends (harness/server/optout.py)."""
    hops: tuple[ScaledHop, ...] = field(init=False, compare=False)
    """The intermediary's hops, client-first, as the launcher starts them (scaled)."""
    client: ClientTimings = field(init=False, compare=False)
    """The transport client's timings, scaled."""
    schedule_s: tuple[float, ...] = field(init=False, compare=False)
    """When each event is published, in seconds after the workload starts (scaled)."""

    def __post_init__(self) -> None:
        scale = self.timing.time_scale
        object.__setattr__(self, "hops", scale_chain(self.intermediary.hops, scale))
        object.__setattr__(self, "client", client_timings(scale))
        object.__setattr__(self, "schedule_s", tuple(self.workload.schedule_s(scale)))

    @property
    def id(self) -> str:
        """`transport-intermediary`, plus `-protocol` when it is not plain HTTP/1.1, plus
        `-headers` when the server sends anti-buffering headers."""
        suffix = "" if self.protocol == "h1" else f"-{self.protocol}"
        suffix += "" if self.headers == "none" else f"-{self.headers}"
        return f"{self.transport}-{self.intermediary.name}{suffix}"

    def to_json(self) -> dict[str, Any]:
        return {
            "matrix": self.matrix,
            "transport": self.transport,
            "protocol": self.protocol,
            "headers": self.headers,
            "intermediary": self.intermediary.name,
            "hops": [
                {
                    "behaviours": list(h.spec.behaviours),
                    "mode": h.spec.mode,
                    "options": dict(h.spec.options),
                    "options_real": scale_options(h.spec, 1.0),
                    "options_scaled": dict(h.options),
                }
                for h in self.hops
            ],
            "workload": vars(self.workload),
            "budget": {
                "latency_p95_ms": self.budget.latency_p95_ms,
                "max_lost": self.budget.max_lost,
                "max_batch_tokens": self.budget.max_batch_tokens,
                "inter_token_p99_ms": self.budget.inter_token_p99_ms,
                "added_p50_ms": self.budget.added_p50_ms,
            },
            "timing": {
                "time_scale": self.timing.time_scale,
                "deliver_within_real_s": self.timing.deliver_within_real_s,
                "deliver_within_s": self.timing.deliver_within_s,
            },
        }


# --------------------------------------------------------------------------------------------
# Cell selection (pure: the loader, harness/scenario.py `select_cells`, feeds it)


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` -> (K, N), 1 <= K <= N; a clear error otherwise."""
    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit()) or not 1 <= int(k) <= int(n):
        raise GauntletError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/4")
    return int(k), int(n)


def shard_of(items: list, k: int, n: int) -> list:
    """Every n-th item starting at the k-th (1-based): shards are disjoint and cover all."""
    return items[k - 1 :: n]


@dataclass(frozen=True)
class Selection:
    """The cells one run (or one pytest session) measures, in order, and how it is named.

    `ids`: one per cell when they are not the cells' own (`matrix:cell-id` in a profile,
    `#k` per repeat); None otherwise."""

    cells: tuple[CellSpec, ...]
    ids: tuple[str, ...] | None
    label: str
    matrix: str
    time_scale: float
    jobs: int | None = None
    """The profile's cells side by side; None: not said (the caller's default)."""

    @property
    def pairs(self) -> list[tuple[str, CellSpec]]:
        """(unique id, cell) for every cell."""
        ids = self.ids if self.ids is not None else tuple(c.id for c in self.cells)
        return list(zip(ids, self.cells, strict=True))


def repeated(selection: Selection, times: int) -> Selection:
    """Every cell `times` times over, ids suffixed `#k` (a profile's repeats are its own)."""
    if times <= 1:
        return selection
    base = selection.ids if selection.ids is not None else [c.id for c in selection.cells]
    ids = tuple(f"{i}#{k}" for k in range(1, times + 1) for i in base)
    return Selection(
        selection.cells * times,
        ids,
        selection.label,
        selection.matrix,
        selection.time_scale,
        selection.jobs,
    )


def sharded(selection: Selection, shard: str) -> Selection:
    """The K-th of N disjoint shares (`--shard K/N`); an empty share is an error, since it
    would be a run with nothing in it that still moves `results/latest`."""
    k, n = parse_shard(shard)
    if k > len(selection.cells):
        raise GauntletError(
            f"--shard {shard}: only {len(selection.cells)} cells, so shard {k} would be empty"
        )
    ids = tuple(shard_of(list(selection.ids), k, n)) if selection.ids is not None else None
    return Selection(
        tuple(shard_of(list(selection.cells), k, n)),
        ids,
        f"{selection.label}-shard{k}of{n}",
        selection.matrix,
        selection.time_scale,
        selection.jobs,
    )
