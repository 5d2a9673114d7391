"""Proxy hops: each a real `mitmdump` subprocess running behaviour addons from proxies/.

A hop listens on 127.0.0.1 with a port the OS picks, and forwards either as a reverse proxy
to the next hop or the server (`mode="reverse"`), or as a forward proxy that clients are
configured to use (`mode="regular"`, absolute-URI requests and CONNECT). Hops are separate
processes because mitmproxy's master and options are process globals, and so that the
proxy's CPU stays out of the measuring process (docs/mitmproxy.md, ARCHITECTURE.md).

Readiness is a pipe: the `_ready` addon writes the bound address from mitmproxy's
`running()` hook; EOF first means the hop died, and its stderr says why. Teardown kills the
hop's process group whatever ends the cell (normal end, exception, Ctrl-C), and the child
also gets SIGKILL from the kernel if the harness itself dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from gauntlet import proxies
from gauntlet.errors import HopStartError, ScenarioError
from gauntlet.spawn import Child, kill_group, minimal_env, spawn
from gauntlet.tls import RunCA

HOP_START_TIMEOUT_S = 15.0
HOP_EXIT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class HopSpec:
    """One hop: behaviours stacked in one mitmdump, its mode and extra mitmproxy options."""

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
        raise ScenarioError(f"external hop {shown!r}: no user or password in the URL "
                            "(Gauntlet keeps no secrets; configure the proxy without them)")
    if port is None:
        raise ScenarioError(f"external hop {shown!r}: a port is required (http://HOST:PORT)")
    if not _is_loopback(parts.hostname):
        raise ScenarioError(f"external hop {shown!r}: Gauntlet sends traffic to this machine only "
                            "(an IP in 127.0.0.0/8, ::1, or localhost)")  # fmt: skip
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
    from gauntlet import real

    device = real.device_of(spec.real or "")
    if spec.behaviours or spec.options or spec.external is not None:
        raise ScenarioError(f"real hop {spec.real!r}: takes no behaviours, options or external")
    if spec.mode != device.mode:
        raise ScenarioError(f"real hop {spec.real!r}: {device.name} runs as a "
                            f"{device.mode} proxy, not {spec.mode}")  # fmt: skip


@dataclass
class RunningHop:
    spec: HopSpec
    index: int
    url: str
    pid: int | None
    log_path: Path | None
    process: Child | None = field(repr=False)


def mitmdump_path() -> str:
    """The mitmdump beside this interpreter (the venv's), unless GAUNTLET_MITMDUMP says else."""
    return os.environ.get("GAUNTLET_MITMDUMP") or str(Path(sys.executable).parent / "mitmdump")


def option_text(value: object) -> str:
    """A TOML option value as mitmdump's `--set` reads it: booleans are `true`/`false` (Python's
    `True` is refused: "bad value for option"), everything else as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def effective_options(spec: HopSpec, time_scale: float = 1.0) -> dict[str, str]:
    """The options a hop runs with: explicit values, and every duration divided by the scale.

    Real-world durations (a module's `SCALED_OPTIONS`, see proxies/__init__.py) are written at
    their real-world values, defaults included, so each is passed explicitly, scaled. Other options
    are passed only when the scenario sets them. Pure.
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


def mitmdump_args(
    spec: HopSpec, upstream: str | None, confdir: Path, ready_fd: int, time_scale: float = 1.0,
    tls: RunCA | None = None,
) -> list[str]:  # fmt: skip
    """The full command line of one hop (pure, so it is unit-tested)."""
    if spec.mode == "reverse":
        if upstream is None:
            raise ValueError("a reverse hop needs an upstream URL")
        mode = f"reverse:{upstream}"
        if spec.tcp_layer:  # relay raw bytes (TLS included) to the upstream's host:port
            mode = "reverse:tcp://" + upstream.split("://", 1)[1]
    else:
        mode = "regular"
    args = [
        mitmdump_path(),
        "--mode", mode,
        "--listen-host", "127.0.0.1",
        "--listen-port", "0",
        "--set", f"confdir={confdir}",
        "--set", "flow_detail=0",
        "--set", "termlog_verbosity=warn",
        "--set", "connection_strategy=lazy",
        "-s", str(proxies.READY_ADDON),
    ]  # fmt: skip
    if tls is not None:  # trust the run's CA upstream; the hop signs with it (confdir)
        args += ["--set", f"ssl_verify_upstream_trusted_ca={tls.ca_cert}"]
    for name in spec.behaviours:
        args += ["-s", str(proxies.BEHAVIOURS[name].path)]
    args += ["-s", str(proxies.BASELINE_ADDON)]
    for key, value in effective_options(spec, time_scale).items():
        args += ["--set", f"{key}={value}"]
    args += ["--set", f"gauntlet_ready_fd={ready_fd}"]
    return args


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


async def _read_ready_line(read_fd: int) -> str:
    stream = trio.lowlevel.FdStream(read_fd)
    data = b""
    async with stream:
        while not data.endswith(b"\n"):
            chunk = await stream.receive_some(256)
            if not chunk:
                break
            data += chunk
    return data.decode().strip()


@asynccontextmanager
async def running_hop(
    spec: HopSpec, index: int, upstream: str | None, workdir: Path, time_scale: float = 1.0,
    tls: RunCA | None = None,
) -> AsyncIterator[RunningHop]:  # fmt: skip
    """Start one hop, wait for its readiness signal, yield it, and always kill it."""
    if spec.external is not None:  # not ours: nothing to start, wait for or stop
        yield RunningHop(spec, index, spec.external.rstrip("/"), None, None, None)
        return
    if spec.real is not None:  # a real device: harness/real/launch.py starts and kills it
        from gauntlet.real.launch import running_real_hop

        async with running_real_hop(spec.real, index, upstream, workdir, time_scale) as started:
            url, child, real_log = started
            yield RunningHop(spec, index, url, child.pid, real_log, child)
        return
    confdir = workdir / f"hop{index}-confdir"
    confdir.mkdir(parents=True, exist_ok=True)
    if tls is not None:  # the hop intercepts TLS with the run's CA, not one of its own
        shutil.copy(tls.mitmproxy_ca, confdir / "mitmproxy-ca.pem")
    log_path = workdir / f"hop{index}.log"
    read_fd, write_fd = os.pipe()
    name = f"hop {index} ({spec.label})"
    try:
        with open(log_path, "wb") as log_file:
            try:
                # gauntlet.spawn: own process group, SIGKILL if the harness dies (PDEATHSIG
                # from a thread that outlives the hop; trio's would retire after 10 s idle)
                process = await spawn(
                    mitmdump_args(spec, upstream, confdir, write_fd, time_scale, tls),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    pass_fds=(write_fd,),
                    env=minimal_env(PYTHONUNBUFFERED="1"),  # no secrets, no proxies
                )
            except OSError as exc:
                raise HopStartError(f"{name}: cannot run mitmdump: {exc}") from None
    finally:
        os.close(write_fd)
    try:
        with trio.move_on_after(HOP_START_TIMEOUT_S) as timeout:
            line = await _read_ready_line(read_fd)
        if timeout.cancelled_caught:
            raise HopStartError(f"{name} did not report ready within {HOP_START_TIMEOUT_S:g} s")
        if not line:
            with trio.move_on_after(HOP_EXIT_TIMEOUT_S):
                await process.wait()
            why = _tail(log_path) or f"exit status {process.returncode}"
            raise HopStartError(f"{name} failed to start: {why}")
        if line.startswith("error "):
            raise HopStartError(f"{name} failed to start: {line.removeprefix('error ')}")
        _, host, port = line.split()
        scheme = "https" if tls is not None and spec.mode == "reverse" else "http"
        url = f"{scheme}://{host}:{port}"
        yield RunningHop(spec, index, url, process.pid, log_path, process)
    finally:
        with trio.CancelScope(shield=True):
            await _kill(process)


async def _kill(process: Child) -> None:
    """SIGKILL the hop's process group and reap it (bounded). A hop has nothing to flush."""
    await kill_group(process, HOP_EXIT_TIMEOUT_S)


@asynccontextmanager
async def running_chain(
    specs: Sequence[HopSpec], server_url: str, workdir: Path, time_scale: float = 1.0,
    tls: RunCA | None = None,
) -> AsyncIterator[list[RunningHop]]:  # fmt: skip
    """Start hops from the server outwards (each reverse hop needs its upstream's address).

    Returns the hops client-first: hops[0] is what the client talks to. Hops start one
    after another, since each needs the next one's port; they are all killed on exit.
    """
    check_chain(specs)
    async with AsyncExitStack() as stack:
        started: list[RunningHop] = []
        upstream = server_url
        for index in reversed(range(len(specs))):
            hop = await stack.enter_async_context(
                running_hop(specs[index], index + 1, upstream, workdir, time_scale, tls)
            )
            started.insert(0, hop)
            if hop.spec.mode == "reverse":
                upstream = hop.url
        yield started


def check_chain(specs: Sequence[HopSpec]) -> None:
    """A forward (regular) hop must be the client's first hop: clients are configured with it."""
    for position, spec in enumerate(specs):
        if spec.mode == "regular" and position != 0:
            raise ScenarioError(
                f"hop {position + 1} ({spec.label}) is a forward proxy; only the first hop can be"
            )


def client_entry(hops: Sequence[RunningHop], server_url: str) -> tuple[str, str | None]:
    """(base URL the client asks for, forward proxy URL or None) for a started chain."""
    reverse = [h for h in hops if h.spec.mode == "reverse"]
    base_url = reverse[0].url if reverse else server_url
    forward = hops[0].url if hops and hops[0].spec.mode == "regular" else None
    return base_url, forward
