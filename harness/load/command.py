"""`gauntlet load`: its arguments, their checks (one line each), the run and the document."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

from gauntlet.cli_options import add_results_option
from gauntlet.errors import GauntletError

EXIT_OK, EXIT_MISMATCH = 0, 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "load",
        help="subscribers at scale on Locust's runners: latency, exact "
        "loss and the limiting process -> DIR/load/<id>.json",
    )
    p.add_argument(
        "--transport",
        default="sse",
        help="sse, sse_close_each, long_poll or websocket (default: %(default)s)",
    )
    p.add_argument("--users", type=int, default=100, help="subscribers (default: %(default)s)")
    p.add_argument(
        "--spawn-rate",
        type=float,
        default=100.0,
        metavar="PER_S",
        help="users started per second, over all workers (default: %(default)s)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="EVENTS_PER_S",
        help="steady publish rate (default: %(default)s)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=30.0,
        metavar="S",
        help="publishing time; events = duration x rate (default: %(default)s)",
    )
    p.add_argument(
        "--through",
        default="direct",
        metavar="INTERMEDIARY",
        help="the chain, as `gauntlet run --intermediary` (transparent, "
        "nginx:tuned, ...; default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        help="local Locust worker processes (default: %(default)s)",
    )
    p.add_argument(
        "--remote-workers",
        type=int,
        default=0,
        metavar="N",
        help="also wait for N workers from other machines (README 'Beyond one "
        "machine'; needs --clock wall)",
    )
    p.add_argument(
        "--master-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the master's port on 127.0.0.1 (default: one the OS chooses)",
    )
    p.add_argument(
        "--server-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the reference server's (or --app's) port on 127.0.0.1 (default: OS)",
    )
    p.add_argument(
        "--clock",
        default="monotonic",
        choices=["monotonic", "wall"],
        help="receipt stamps: monotonic on one machine, wall across machines",
    )
    p.add_argument(
        "--clock-sync-error-ms",
        type=float,
        metavar="MS",
        help="with --clock wall: the machines' clock offset, stated in results",
    )
    p.add_argument(
        "--target", metavar="URL", help="a running endpoint (loopback, docs/endpoint-contract.md)"
    )
    p.add_argument("--app", metavar="MODULE:APP", help="a team's ASGI app, served here")
    add_results_option(p, "the document goes to DIR/load/")
    p.add_argument("--no-plots", action="store_true", help="do not draw the report's figures")


def spec_and_target(args: argparse.Namespace) -> tuple[Any, Any, tuple]:
    """(LoadSpec, TargetChoice, hops), or a one-line GauntletError naming the bad argument."""
    from gauntlet.load.run import LoadSpec
    from gauntlet.loopback import check_target_url
    from gauntlet.scenario import resolve_intermediary
    from gauntlet.target import TargetChoice, load_app

    spec = LoadSpec(
        args.transport,
        args.users,
        args.spawn_rate,
        args.rate,
        args.duration,
        args.workers,
        args.remote_workers,
        args.master_port,
        args.through,
        clock=args.clock,
        clock_sync_error_ms=args.clock_sync_error_ms,
    )
    spec.check()
    if args.target and args.app:
        raise GauntletError("--target and --app: choose one")
    if args.server_port and args.target:
        raise GauntletError("--server-port and --target: a running endpoint has its own port")
    for flag, port in (("--master-port", args.master_port), ("--server-port", args.server_port)):
        if not 0 <= port <= 65535:
            raise GauntletError(f"{flag} {port}: expected 0..65535 (0: the OS chooses)")
    choice = TargetChoice()
    if args.target:
        choice = TargetChoice(url=check_target_url(args.target))
    elif args.app:
        load_app(args.app)
        choice = TargetChoice(app_spec=args.app)
    hops = resolve_intermediary(args.through, args.scenarios).hops
    return spec, choice, hops


def run(args: argparse.Namespace) -> int:
    import trio

    from gauntlet.documents import header
    from gauntlet.eventlog import clock_resolution_ns
    from gauntlet.instrument.bench.run import bench_machine
    from gauntlet.instrument.heap import freeze_startup_heap
    from gauntlet.load.document import LoadDocument, clock_entry, summary_lines, write_load
    from gauntlet.load.run import REPO, measure
    from gauntlet.progress import Note, ProgressPrinter
    from gauntlet.results import new_run_id
    from gauntlet.workdir import private_workdir

    spec, choice, hops = spec_and_target(args)
    sock = None
    if args.server_port:
        from gauntlet.target import bind_server_socket

        sock = bind_server_socket("127.0.0.1", args.server_port)

    progress = ProgressPrinter(sys.stderr)

    created = dt.datetime.now(dt.UTC)
    load_id = new_run_id(f"load-{spec.transport}-{spec.users}", created)
    started = time.monotonic()
    progress(Note(f"load {load_id}: {spec.events} events at {spec.rate_per_s:g}/s; loopback only"))
    freeze_startup_heap()  # the harness's own GC pauses out of the point's latencies
    with private_workdir("load") as workdir:
        logs = args.results / "load" / load_id / "logs"
        point = trio.run(lambda: measure(spec, choice, hops, workdir, progress, sock, logs))
    from gauntlet.instrument.bench.procs import raise_open_files_limit

    load = LoadDocument.model_validate(
        {
            **header(
                LoadDocument,
                created=created,
                machine=bench_machine(raise_open_files_limit()),
                repo=REPO,
            ),
            "load_id": load_id,
            "command": ["gauntlet", *sys.argv[1:]],
            "clock": clock_entry(spec.clock, spec.clock_sync_error_ms, clock_resolution_ns()),
            "target": "reference server"
            if choice.is_reference
            else (choice.url or choice.app_spec),
            "points": [point],
            "knees": [point["knee"]] if point.get("knee") else [],
            "wall_s": round(time.monotonic() - started, 2),
        }
    )
    path = write_load(load, args.results)
    doc = load.to_json()
    if not args.no_plots:
        from gauntlet.load.plots import plot_load

        for png in plot_load(doc, args.results / "load" / load_id):
            print(f"plot: {png}")
    print("\n".join(summary_lines(doc)))
    print(f"load: {path}")
    return EXIT_MISMATCH if point.get("error") or point.get("lost") else EXIT_OK
