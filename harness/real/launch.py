"""Start a real device (harness/real/__init__.py) as a hop, wait for its readiness, always kill it.

Like a mitmdump hop (harness/hops.py): the device runs in the foreground as a child in its
own process group (harness/spawn.py: SIGKILL to the group on every exit path, and from the
kernel if the harness dies), with its config, pid and temp files in the hop's work dir, and
listens on 127.0.0.1 only with a port from the OS. Readiness is a line on its stderr, read
with a bound; if it does not come, or stderr ends first, the hop's error is the tail of what
the device said. Its output (stderr and stdout merged) keeps flowing into `hop<N>.log` for as
long as the hop lives.

Two ways to get a port from the OS:
- "fd" devices (nginx, haproxy, trafficserver) adopt a socket Gauntlet binds to 127.0.0.1:0
  and listens on before the start (nginx's `NGINX="fd;"` inheritance, the variable its binary
  upgrade uses; haproxy's `bind fd@N`; trafficserver's `server_ports PORT:fd=N`, the form its
  traffic_manager passes): no race, and connections queue until the device accepts.
- "port" devices (squid) cannot inherit a socket: Gauntlet binds 127.0.0.1:0, reads the port,
  closes the socket and starts the device on that port. Another process may take the port in
  between (a race no code can close), so on "Address already in use" the start is retried
  with a fresh port from the OS, at most PORT_ATTEMPTS times, then reported.
"""

from __future__ import annotations

import io
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO

import trio

from gauntlet import real
from gauntlet.errors import HopStartError
from gauntlet.real import trafficserver
from gauntlet.spawn import Child, kill_group, spawn

START_TIMEOUT_S = 15.0
EXIT_TIMEOUT_S = 5.0
PORT_ATTEMPTS = 3
IN_USE = "Address already in use"


def loopback_listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def os_port() -> int:
    """A port the OS just handed out on 127.0.0.1 (the device binds it itself, a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def command(
    name: str,
    binary: str,
    conf: Path,
    workdir: Path,
    service: str,
    listen: str = "",
    idle_s: float | None = None,
) -> list[str]:
    """The device's foreground command line (pure)."""
    device = real.device_of(name).name
    if device == "varnish":  # -F foreground; -j none: as root, its workers stay able to read
        idle = (
            idle_s if idle_s is not None else real.device_of(name).timeouts_real_s["timeout_idle"]
        )  # the work dir (already scaled: harness/spec.py)
        jail = ["-j", "none"] if os.geteuid() == 0 else []
        return [
            binary,
            "-F",
            *jail,
            "-f",
            str(conf),
            "-a",
            listen,
            "-n",
            str(workdir / "varnish"),
            "-s",
            "malloc,32m",
            "-p",
            f"timeout_idle={idle:g}",
        ]
    if device == "nginx":
        return [binary, "-p", f"{workdir}/", "-c", str(conf), "-e", "stderr"]
    if device == "haproxy":  # -W master-worker (prints "Loading success."), -db foreground
        return [binary, "-W", "-db", "-f", str(conf)]
    if device == "tinyproxy":  # -d: stay in front, log to the terminal
        return [binary, "-d", "-c", str(conf)]
    if device == "privoxy":
        return [binary, "--no-daemon", str(conf)]
    if device == "apache2":  # -DFOREGROUND: the parent stays in front, children serve
        return [binary, "-DFOREGROUND", "-f", str(conf)]
    if device == "trafficserver":
        return trafficserver.command(binary, conf)
    # squid: -N foreground, -d 1 level-1 lines to stderr, -n a unique service name so the
    # shared-memory segments of squids running side by side never collide
    return [binary, "-n", service, "-N", "-d", "1", "-f", str(conf)]


async def _read_until(stream: trio.abc.ReceiveStream, marker: bytes, out: IO[bytes]) -> bool:
    """Copy `stream` to `out` until `marker` has passed (even split across reads); False on EOF."""
    seen = b""
    while marker not in seen:
        chunk = await stream.receive_some(4096)
        if not chunk:
            return False
        out.write(chunk)
        seen = seen[-len(marker) :] + chunk
    out.flush()
    return True


async def _drain(stream: trio.abc.ReceiveStream, out: IO[bytes]) -> None:
    """Keep the device's stderr flowing into its log file until the device is gone."""
    with out:
        try:
            async for chunk in stream:
                out.write(chunk)
                out.flush()
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass


def tail(path: Path, lines: int = 4) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


async def _start(
    args: list[str],
    workdir: Path,
    log_path: Path,
    ready: bytes,
    label: str,
    *,
    env: dict[str, str] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> tuple[Child, IO[bytes]]:
    """Start `args`; return once its stderr says `ready` (the child, and its open log)."""
    try:
        process = await spawn(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, **(env or {})},
            pass_fds=pass_fds,
        )
    except OSError as exc:
        raise HopStartError(f"{label}: cannot run {args[0]}: {exc}") from None
    assert process.stdout is not None  # stderr and stdout, merged (tinyproxy logs to stdout)
    log = log_path.open("wb")
    started = False
    try:
        with trio.move_on_after(START_TIMEOUT_S) as timeout:
            started = await _read_until(process.stdout, ready, log)
    finally:
        if not started:  # no readiness, EOF, or cancelled: never leave it running
            log.close()
            await kill_group(process, EXIT_TIMEOUT_S)
    if not started:
        why = (
            f"no {ready.decode()!r} within {START_TIMEOUT_S:g} s"
            if timeout.cancelled_caught
            else f"exit status {process.returncode}"
        )
        raise HopStartError(f"{label} failed to start ({why}): {tail(log_path)}")
    return process, log


WATCHDOG = """
import ctypes, os, signal, sys
group, parent = int(sys.argv[1]), int(sys.argv[2])
def die(*_):
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os._exit(0)
signal.signal(signal.SIGTERM, die)
ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: SIGTERM when the harness dies
if os.getppid() != parent:
    die()
print("armed", flush=True)
while True:
    signal.pause()
"""


async def _watchdog(group: int) -> Child:
    """A process that SIGKILLs the device's group when the harness dies.

    PR_SET_PDEATHSIG is cleared when a process changes its credentials (prctl(2)), and squid
    (cache_effective_user) and apache2 do: measured, both outlived a SIGKILLed harness. The
    watchdog keeps its own credentials, so its death signal holds; it is killed with the hop.
    """
    watchdog = await spawn(
        [sys.executable, "-c", WATCHDOG, str(group), str(os.getpid())],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
    )
    assert watchdog.stdout is not None
    armed = False
    try:
        with trio.move_on_after(START_TIMEOUT_S):  # until then the device's own PDEATHSIG
            armed = await _read_until(watchdog.stdout, b"armed\n", io.BytesIO())
    finally:
        if not armed:
            await kill_group(watchdog, EXIT_TIMEOUT_S)
    if not armed:
        raise HopStartError(f"the watchdog of process group {group} did not start")
    return watchdog


def _remove_shm(service: str) -> None:
    """squid creates /dev/shm/<service>-*.shm even with -N; a SIGKILL leaves them behind."""
    for segment in Path("/dev/shm").glob(f"{service}-*"):
        segment.unlink(missing_ok=True)


@asynccontextmanager
async def running_real_hop(
    name: str,
    index: int,
    upstream: str | None,
    workdir: Path,
    timeouts_s: Mapping[str, float],
) -> AsyncIterator[tuple[str, Child, Path]]:
    """Start the real hop `name` (device:preset) in front of `upstream` (a URL, reverse
    devices) with its timeouts already scaled (`timeouts_s`, harness/spec.py); yield (its URL,
    the child, its log path); kill its group on exit."""
    device = real.device_of(name)
    binary = real.binary_path(device)
    label = f"hop {index} ({name})"
    if binary is None:
        raise HopStartError(f"{label}: {real.missing(name)}")
    hopdir = workdir / f"hop{index}-{device.name}"
    hopdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"hop{index}.log"
    conf = hopdir / real.preset(name).template
    next_hop = upstream.split("://", 1)[1].rstrip("/") if upstream else None
    service = f"gauntlet{secrets.token_hex(6)}"
    as_root = os.geteuid() == 0

    def write_conf(listen: str) -> None:
        conf.parent.mkdir(exist_ok=True)  # trafficserver/: a device that reads several files
        conf.write_text(
            real.render(
                name,
                workdir=hopdir,
                listen=listen,
                upstream=next_hop,
                timeouts_s=timeouts_s,
                as_root=as_root,
            )
        )

    if device.socket == "fd":
        listener = loopback_listener()
        port = listener.getsockname()[1]
        fd = listener.fileno()
        try:
            write_conf(
                f"127.0.0.1:{port}"
                if device.name == "nginx"
                else f"{port}:fd={fd}"
                if device.name == "trafficserver"
                else f"fd@{fd}"
            )
            if device.name == "trafficserver":
                trafficserver.write_sandbox(
                    name,
                    conf,
                    hopdir=hopdir,
                    upstream=next_hop,
                    listen_host=f"127.0.0.1:{port}",
                    timeouts_s=timeouts_s,
                    as_root=as_root,
                )
            env = {"NGINX": f"{fd};"} if device.name == "nginx" else None
            process, log = await _start(
                command(name, binary, conf, hopdir, service),
                hopdir,
                log_path,
                device.ready,
                label,
                env=env,
                pass_fds=(fd,),
            )
        finally:
            listener.close()  # the device holds its own copy now (or never will)
    else:
        for attempt in range(PORT_ATTEMPTS):
            port = os_port()
            write_conf(str(port) if device.name == "tinyproxy" else f"127.0.0.1:{port}")
            try:
                args = command(
                    name,
                    binary,
                    conf,
                    hopdir,
                    service,
                    f"127.0.0.1:{port}",
                    timeouts_s.get("timeout_idle"),
                )
                process, log = await _start(args, hopdir, log_path, device.ready, label)
                break
            except HopStartError:
                _remove_shm(service)
                if (
                    IN_USE not in log_path.read_text(errors="replace")
                    or attempt == PORT_ATTEMPTS - 1
                ):
                    raise
    try:
        watchdog = await _watchdog(process.pid)  # the device leads its own process group
    except BaseException:
        await kill_group(process, EXIT_TIMEOUT_S)
        raise
    try:
        async with trio.open_nursery() as nursery:
            assert process.stdout is not None
            nursery.start_soon(_drain, process.stdout, log)
            try:
                yield f"http://127.0.0.1:{port}", process, log_path
            finally:
                await kill_group(process, EXIT_TIMEOUT_S)  # ends the drain: stderr closes
    finally:
        await kill_group(watchdog, EXIT_TIMEOUT_S)
        _remove_shm(service)
