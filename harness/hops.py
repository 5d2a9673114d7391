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

What a hop runs with arrives scaled (`ScaledHop`, harness/spec.py): its options and a real
device's timeouts are already divided by the time scale, which the launcher never sees.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from gauntlet import proxies
from gauntlet.errors import HopStartError
from gauntlet.spawn import Child, kill_group, minimal_env, spawn
from gauntlet.spec import HopSpec, ScaledHop, check_chain
from gauntlet.tls import RunCA

HOP_START_TIMEOUT_S = 15.0
HOP_EXIT_TIMEOUT_S = 5.0


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


def mitmdump_args(
    hop: ScaledHop,
    upstream: str | None,
    confdir: Path,
    ready_fd: int,
    tls: RunCA | None = None,
) -> list[str]:
    """The full command line of one hop (pure, so it is unit-tested): the hop's options are
    passed as they are, already scaled (harness/spec.py)."""
    spec = hop.spec
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
        "--mode",
        mode,
        "--listen-host",
        "127.0.0.1",
        "--listen-port",
        "0",
        "--set",
        f"confdir={confdir}",
        "--set",
        "flow_detail=0",
        "--set",
        "termlog_verbosity=warn",
        "--set",
        "connection_strategy=lazy",
        "-s",
        str(proxies.READY_ADDON),
    ]
    if tls is not None:  # trust the run's CA upstream; the hop signs with it (confdir)
        args += ["--set", f"ssl_verify_upstream_trusted_ca={tls.ca_cert}"]
    for name in spec.behaviours:
        args += ["-s", str(proxies.BEHAVIOURS[name].path)]
    args += ["-s", str(proxies.BASELINE_ADDON)]
    for key, value in hop.options:
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
    hop: ScaledHop,
    index: int,
    upstream: str | None,
    workdir: Path,
    tls: RunCA | None = None,
) -> AsyncIterator[RunningHop]:
    """Start one hop, wait for its readiness signal, yield it, and always kill it."""
    spec = hop.spec
    if spec.external is not None:  # not ours: nothing to start, wait for or stop
        yield RunningHop(spec, index, spec.external.rstrip("/"), None, None, None)
        return
    if spec.real is not None:  # a real device: harness/real/launch.py starts and kills it
        from gauntlet.real.launch import running_real_hop

        async with running_real_hop(
            spec.real, index, upstream, workdir, dict(hop.timeouts_s)
        ) as started:
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
                    mitmdump_args(hop, upstream, confdir, write_fd, tls),
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
    hops: Sequence[ScaledHop],
    server_url: str,
    workdir: Path,
    tls: RunCA | None = None,
) -> AsyncIterator[list[RunningHop]]:
    """Start hops from the server outwards (each reverse hop needs its upstream's address).

    `hops` are scaled already (harness/spec.py `scale_chain`, a `CellSpec`'s `hops`).
    Returns the hops client-first: hops[0] is what the client talks to. Hops start one
    after another, since each needs the next one's port; they are all killed on exit.
    """
    check_chain([h.spec for h in hops])
    async with AsyncExitStack() as stack:
        started: list[RunningHop] = []
        upstream = server_url
        for index in reversed(range(len(hops))):
            hop = await stack.enter_async_context(
                running_hop(hops[index], index + 1, upstream, workdir, tls)
            )
            started.insert(0, hop)
            if hop.spec.mode == "reverse":
                upstream = hop.url
        yield started


def client_entry(hops: Sequence[RunningHop], server_url: str) -> tuple[str, str | None]:
    """(base URL the client asks for, forward proxy URL or None) for a started chain."""
    reverse = [h for h in hops if h.spec.mode == "reverse"]
    base_url = reverse[0].url if reverse else server_url
    forward = hops[0].url if hops and hops[0].spec.mode == "regular" else None
    return base_url, forward
