"""Real intermediaries from Debian packages, as hops Gauntlet starts, configures and stops.

A real hop is named `device:preset` (`nginx:defaults`, `haproxy:no_delay`, `squid:defaults`):
the device is a server installed from its Debian package, the preset a config template in
harness/real/templates/ taken from the field (the package's defaults as shipped, and the
usual streaming recipe where one exists). Gauntlet renders the template into the cell's work
dir, so it knows every timeout it writes: a real-world timeout (nginx's `proxy_read_timeout
60s`) is divided by the matrix's time scale like every emulated one (60 s at scale 30 -> 2 s)
in harness/spec.py (`scaled_timeouts_s`), rendering gets the scaled seconds, and both values
are recorded in the hop's results entry.

This module is PURE (registry, parsing, rendering); harness/real/launch.py starts the
processes. A device whose binary is missing makes its cells SKIPPED with the package to
install (harness/topology.py), never ERROR or FAIL.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gauntlet.errors import ScenarioError
from gauntlet.verdict import Verdict

TEMPLATES = Path(__file__).resolve().parent / "templates"
SBIN_PATH = "/usr/sbin:/sbin"
SKIPPED = Verdict.SKIPPED
"""The verdict of a cell that could not be measured on this machine for a reason the user
fixes by installing something (a real hop's package): neither a finding nor a harness fault."""


@dataclass(frozen=True)
class Device:
    """One server from a Debian package, and how Gauntlet starts and reads it.

    `socket`: "fd" = the device adopts a listening socket Gauntlet bound (no race for the
    port); "port" = it binds a port the OS just handed out (harness/real/launch.py). `ready`:
    the line on its stderr that says it accepts connections. `timeouts_real_s`: template
    placeholder -> the real-world timeout (seconds) the preset writes scaled.
    """

    name: str
    binary: str
    package: str
    mode: str  # "reverse" | "regular" (forward proxy)
    socket: str  # "fd" | "port"
    ready: bytes
    timeouts_real_s: dict[str, float]
    time_unit: str  # a duration in the config: "ms" (12ms), "seconds" (12 seconds), "s" (12)
    source: str


@dataclass(frozen=True)
class Preset:
    device: str
    name: str
    template: str
    summary: str
    values: dict[str, str] = field(default_factory=dict)
    """Preset-specific placeholders (a directive the template leaves open)."""


DEVICES = {
    "nginx": Device(
        "nginx",
        "nginx",
        "nginx",
        "reverse",
        "fd",
        b"start worker process",
        {"proxy_read_timeout": 60, "proxy_send_timeout": 60, "send_timeout": 60},
        "ms",
        "https://nginx.org/en/docs/http/ngx_http_proxy_module.html",
    ),
    "haproxy": Device(
        "haproxy",
        "haproxy",
        "haproxy",
        "reverse",
        "fd",
        b"Loading success.",
        {"timeout_connect": 5, "timeout_client": 50, "timeout_server": 50},
        "ms",
        "https://docs.haproxy.org/2.6/configuration.html",
    ),
    "squid": Device(
        "squid",
        "squid",
        "squid",
        "regular",
        "port",
        b"Accepting HTTP Socket connections",
        {"read_timeout": 900, "request_timeout": 300, "client_lifetime": 86400},
        "seconds",
        "https://www.squid-cache.org/Doc/config/",
    ),
    "tinyproxy": Device(
        "tinyproxy",
        "tinyproxy",
        "tinyproxy",
        "regular",
        "port",
        b"Accepting connections",
        {"timeout": 600},
        "s",
        "https://tinyproxy.github.io/",
    ),
    "privoxy": Device(
        "privoxy",
        "privoxy",
        "privoxy",
        "regular",
        "port",
        b"Listening on port",
        {"keep_alive_timeout": 5, "socket_timeout": 300},
        "s",
        "https://www.privoxy.org/user-manual/config.html",
    ),
    "varnish": Device(
        "varnish",
        "varnishd",
        "varnish",
        "reverse",
        "port",
        b"said Child starts",
        {"first_byte_timeout": 60, "between_bytes_timeout": 60, "timeout_idle": 5},
        "vcl",
        "https://varnish-cache.org/docs/7.1/reference/varnishd.html",
    ),
    "apache2": Device(
        "apache2",
        "apache2",
        "apache2",
        "reverse",
        "port",
        b"resuming normal operations",
        {"timeout": 300, "keepalive_timeout": 5},
        "ms",
        "https://httpd.apache.org/docs/2.4/mod/mod_proxy.html",
    ),
    "trafficserver": Device(
        "trafficserver",
        "traffic_server",
        "trafficserver",
        "reverse",
        "fd",
        b"Traffic Server is fully initialized",
        {
            "transaction_no_activity_timeout_in": 30,
            "transaction_no_activity_timeout_out": 30,
            "transaction_active_timeout_in": 900,
            "keep_alive_no_activity_timeout_in": 120,
            "keep_alive_no_activity_timeout_out": 120,
            "accept_no_activity_timeout": 120,
            "connect_attempts_timeout": 30,
            "websocket_no_activity_timeout": 600,
            "websocket_active_timeout": 3600,
        },
        "s",
        "https://docs.trafficserver.apache.org/en/9.2.x/admin-guide/files/records.config.en.html",
    ),
}

PRESETS = {
    f"{p.device}:{p.name}": p
    for p in (
        Preset(
            "nginx",
            "defaults",
            "nginx-defaults.conf",
            "nginx as Debian ships it: HTTP/1.0 upstream, proxy_buffering on, no Upgrade",
        ),
        Preset(
            "nginx",
            "tuned",
            "nginx-tuned.conf",
            "nginx's streaming recipe: HTTP/1.1 upstream, proxy_buffering off, Upgrade map",
        ),
        Preset(
            "nginx",
            "tuned_many",
            "nginx-tuned_many.conf",
            "nginx:tuned with 24000 connections per worker (Debian's 768 caps it at 384 "
            "subscribers), a worker per core, a listen backlog of 4096, for `gauntlet load`",
        ),
        Preset(
            "nginx",
            "gzip",
            "nginx-gzip.conf",
            "nginx-tuned plus gzip on, gzip_types text/event-stream (buffering off)",
        ),
        Preset(
            "nginx",
            "gzip_buffered",
            "nginx-gzip_buffered.conf",
            "gzip on, gzip_types text/event-stream, HTTP/1.1, proxy_buffering on",
        ),
        Preset(
            "haproxy",
            "defaults",
            "haproxy-defaults.cfg",
            "haproxy with Debian's defaults: mode http, timeouts 5 s / 50 s / 50 s",
            {"extra": ""},
        ),
        Preset(
            "haproxy",
            "no_delay",
            "haproxy-defaults.cfg",
            "haproxy's defaults plus option http-no-delay (no chunk merging delay)",
            {"extra": "    option http-no-delay"},
        ),
        Preset(
            "squid",
            "defaults",
            "squid-defaults.conf",
            "squid as Debian ships it: forward proxy, CONNECT to port 443 only",
            {"connect_rule": "http_access deny CONNECT !SSL_ports"},
        ),
        Preset(
            "squid",
            "connect_any",
            "squid-defaults.conf",
            "squid's defaults, but CONNECT allowed to any Safe_port (as corporate configs do)",
            {"connect_rule": "# CONNECT allowed to every Safe_port"},
        ),
        Preset(
            "tinyproxy",
            "defaults",
            "tinyproxy-defaults.conf",
            "tinyproxy as Debian ships it: forward proxy, CONNECT to any port, Timeout 600 s",
        ),
        Preset(
            "privoxy",
            "defaults",
            "privoxy-defaults.conf",
            "Privoxy as Debian ships it: forward proxy with its default actions and filters",
        ),
        Preset(
            "varnish",
            "defaults",
            "varnish-defaults.vcl",
            "Varnish as Debian ships it: the builtin VCL (caches GETs 120 s, streams)",
        ),
        Preset(
            "apache2",
            "proxy",
            "apache2-proxy.conf",
            "Apache httpd with mod_proxy_http, Debian's Timeout 300 s (no WebSocket)",
            {"modules": "", "proxy": ""},
        ),
        Preset(
            "apache2",
            "wstunnel",
            "apache2-proxy.conf",
            "Apache httpd with mod_proxy_http and mod_proxy_wstunnel for /ws",
            {
                "modules": "LoadModule proxy_wstunnel_module "
                "/usr/lib/apache2/modules/mod_proxy_wstunnel.so",
                "proxy": "ProxyPass /ws ws://@upstream@/ws",
            },
        ),
        Preset(
            "trafficserver",
            "defaults",
            "trafficserver/records.config",
            "Apache Traffic Server as Debian ships it: reverse proxy, cache on, idle cut 30 s",
        ),
    )
}


def preset(name: str) -> Preset:
    """The preset named `device:preset`, or one line naming what is wrong."""
    if name in PRESETS:
        return PRESETS[name]
    device = name.partition(":")[0]
    if device in DEVICES:
        known = ", ".join(p for p in PRESETS if p.startswith(device + ":"))
        raise ScenarioError(f"unknown preset {name!r} for {device} (known: {known})")
    raise ScenarioError(f"unknown real device {name!r} (known: {', '.join(PRESETS)})")


def device_of(name: str) -> Device:
    return DEVICES[preset(name).device]


def binary_path(device: Device) -> str | None:
    """The device's binary (they live in /usr/sbin, often not on a user's PATH), or None."""
    return shutil.which(device.binary) or shutil.which(device.binary, path=SBIN_PATH)


def missing(name: str) -> str | None:
    """Why a real hop cannot run here (its binary and the package to install), or None."""
    device = device_of(name)
    if binary_path(device) is None:
        return (
            f"{device.binary} not installed: apt-get install {device.package} "
            "(scripts/ensure-test-deps.sh installs the packages the tests need)"
        )
    return None


def _duration(device: Device, seconds: float) -> str:
    if device.time_unit == "ms":
        return f"{round(seconds * 1000)}ms"
    if device.time_unit == "vcl":  # VCL durations: 1.5s
        return f"{seconds:g}s"
    if device.time_unit == "seconds":
        return f"{int(seconds)} seconds"
    return str(int(seconds))


_PLACEHOLDER = re.compile(r"@([a-z_]+)@")


def render(
    name: str,
    *,
    workdir: Path,
    listen: str,
    upstream: str | None,
    timeouts_s: Mapping[str, float],
    as_root: bool,
    template: str | None = None,
    extra: dict[str, str] | None = None,
) -> str:
    """The preset's config text for one hop (pure but for reading the template).

    `listen`: the device's own listen syntax (nginx `127.0.0.1:PORT`, haproxy `fd@N`, squid
    `127.0.0.1:PORT`, tinyproxy `PORT`, trafficserver `PORT:fd=N`); `upstream`: `host:port`
    of the next hop (reverse devices); `timeouts_s`: each timeout placeholder's value in
    seconds, already scaled (harness/spec.py `scaled_timeouts_s`). `template`: another file
    of a device that reads several (trafficserver's remap.config), filled with the same values
    and `extra`. Every placeholder must be filled: a template typo is an error here, not a
    broken config.
    """
    p, device = preset(name), device_of(name)
    host, _, port = (upstream or "").rpartition(":")
    values = {
        "workdir": str(workdir),
        "listen": listen,
        "upstream": upstream or "",
        "upstream_host": host,
        "upstream_port": port,
        "user": _user_line(device, as_root),
        **p.values,
        **(extra or {}),
    }
    for key, seconds in timeouts_s.items():
        values[key] = _duration(device, seconds)
    text = (TEMPLATES / (template or p.template)).read_text()

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ScenarioError(f"{p.template}: placeholder @{match.group(1)}@ has no value")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(fill, _PLACEHOLDER.sub(fill, text))  # preset values may hold some


def _user_line(device: Device, as_root: bool) -> str:
    """As root, a device drops to an unprivileged user that may not reach the work dir."""
    if not as_root:
        return ""
    return {
        "nginx": "user root;",
        "squid": "cache_effective_user proxy",
        "haproxy": "",
        "apache2": "",
        "tinyproxy": "",
        "privoxy": "",
        "varnish": "",
        "trafficserver": "",
    }[device.name]


def skip_reason(hops, protocol: str) -> str | None:
    """Why a cell with these hops cannot be measured here (pure but for looking up binaries):
    a real device not installed, or a real reverse hop in a TLS cell (Gauntlet does not
    write TLS configs for real devices yet; a forward device tunnels TLS with CONNECT)."""
    for spec in hops:
        if spec.real is None:
            continue
        why = missing(spec.real)
        if why is not None:
            return f"hop {spec.real}: {why}"
        if protocol != "h1" and spec.mode == "reverse":
            return (
                f"hop {spec.real}: Gauntlet does not configure TLS on real reverse hops "
                f"yet; {protocol} cells through it are not measured"
            )
    return None
