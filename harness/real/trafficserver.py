"""Apache Traffic Server's sandbox: the files it reads besides records.config, in the hop's dir.

traffic_server finds its config, cache, logs and runtime files through a runroot
(traffic_layout(1): `--run-root=FILE`, a YAML map of its install directories). Gauntlet writes
one that keeps Debian's binaries and plugins (/usr) and puts every directory the process
reads as config or writes into the hop's work dir, so it runs as whatever user started the
harness and never touches /etc/trafficserver, /var/cache/trafficserver or /run: measured with
package trafficserver 9.2 (Debian 12), it starts in ~0.2 s that way, as root or not.

The files are templates in harness/real/templates/trafficserver/ (records.config is the
preset's own template, rendered by harness/real/launch.py); Debian ships the others with
comments only, and those are written empty so the process does not warn about each.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gauntlet import real

TEMPLATED = ("runroot.yaml", "remap.config", "storage.config", "ip_allow.yaml", "logging.yaml")
EMPTY = (
    "cache.config",
    "hosting.config",
    "parent.config",
    "plugin.config",
    "sni.yaml",
    "ssl_multicert.config",
    "strategies.yaml",
    "volume.config",
    "splitdns.config",
)
DIRS = ("cache", "log", "run")


def runroot(confdir: Path) -> Path:
    return confdir / "runroot.yaml"


def command(binary: str, conf: Path) -> list[str]:
    """The foreground command line (pure): traffic_server stays in front by itself."""
    return [binary, f"--run-root={runroot(conf.parent)}"]


def write_sandbox(
    name: str,
    conf: Path,
    *,
    hopdir: Path,
    listen_host: str,
    upstream: str | None,
    timeouts_s: Mapping[str, float],
    as_root: bool,
) -> None:
    """Write the files beside `conf` (the rendered records.config) and the runtime dirs.

    `listen_host`: `127.0.0.1:PORT` the clients name in Host (the ws:// remap rule's key)."""
    confdir = conf.parent
    for sub in DIRS:
        (hopdir / sub).mkdir(exist_ok=True)
    for file in TEMPLATED:
        text = real.render(
            name,
            workdir=hopdir,
            listen=listen_host,
            upstream=upstream,
            timeouts_s=timeouts_s,
            as_root=as_root,
            template=f"trafficserver/{file}",
            extra={"listen_host": listen_host},
        )
        (confdir / file).write_text(text)
    for file in EMPTY:
        (confdir / file).write_text("# Debian ships this file with comments only.\n")
