"""`gauntlet`: list what exists, run a matrix or one cell, and report a run.

Exit status: 0 when every measured verdict equals its expectation (or none is written),
1 when a cell differs from its expectation or ends in ERROR, or a repeated cell's verdict
flips (`calibrate`: when a band is not met), 2 for bad input (one line on stderr naming
the problem, never a traceback), 130 when interrupted (results of the cells already
measured are still written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

from gauntlet import __version__, proxies
from gauntlet.cli_options import add_jobs_option, add_results_option
from gauntlet.clients import TRANSPORTS
from gauntlet.errors import GauntletError, Interrupted, unwrap
from gauntlet.load import command as load_command
from gauntlet.scenario import (
    SCENARIOS_DIR,
    list_matrices,
    load_intermediaries,
    load_profiles,
    select_cells,
)
from gauntlet.verdict import Verdict

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gauntlet",
        description="Put real proxies between a push server and real clients; measure and "
        "judge what each does to delivery, per transport.",
    )
    p.add_argument("--version", action="version", version=f"gauntlet {__version__}")
    p.add_argument(
        "--scenarios",
        type=Path,
        default=SCENARIOS_DIR,
        metavar="DIR",
        help="a team's own scenario folder: its matrices, chains and profiles are "
        "added to the built-in ones, its files first (built-ins: %(default)s)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list transports, intermediaries and matrices")
    chk = sub.add_parser(
        "check",
        help="validate scenario files without starting anything; "
        "exit 2 with one line on the first problem",
    )
    chk.add_argument(
        "files",
        type=Path,
        nargs="*",
        metavar="FILE",
        help="matrix, intermediaries.toml or profiles.toml files (default: every "
        "file in the scenario folder)",
    )
    run = sub.add_parser("run", help="run a matrix, or one transport x intermediary cell")
    what = run.add_mutually_exclusive_group()
    what.add_argument("--matrix", metavar="NAME", help="matrix to run (default: smoke)")
    what.add_argument("--profile", metavar="NAME", help="run a profile: smoke, default, nightly")
    what.add_argument("--transport", metavar="T", help="run one cell: this transport ...")
    run.add_argument("--intermediary", metavar="I", help="... through this intermediary")
    run.add_argument(
        "--protocol",
        default="h1",
        choices=["h1", "https", "h2"],
        help="... over this protocol (default: %(default)s)",
    )
    add_results_option(run, "where runs are written")
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument(
        "--no-calibration",
        action="store_true",
        help="do not measure a calibration first when none is saved for this "
        "machine in DIR/calibration (the report then says so)",
    )
    run.add_argument(
        "--cell",
        action="append",
        metavar="PATTERN",
        help="with --matrix or --profile: only the cells whose id matches "
        "(shell-style, e.g. 'sse_canary-*' or 'tls:*-ssl_inspection-h2'); "
        "repeatable",
    )
    run.add_argument("--shard", metavar="K/N", help="run only the K-th of N disjoint shares")
    add_jobs_option(run, default=None, default_help="the profile's, else 1")
    run.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="measure every cell N times and count its verdicts; a cell whose "
        "verdict flips is a harness defect, shown and exit 1 (a profile's "
        "`repeats` otherwise)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="print topology details")
    run.add_argument(
        "--progress",
        choices=["text", "json"],
        default="text",
        help="json: every progress event (topology details too) as one JSON "
        "object per line on stderr, for tools (default: %(default)s)",
    )
    own = run.add_mutually_exclusive_group()
    own.add_argument(
        "--target",
        metavar="URL",
        help="measure your running endpoint (http://127.0.0.1:PORT, "
        "docs/endpoint-contract.md) instead of the reference server",
    )
    own.add_argument(
        "--app",
        metavar="MODULE:APP",
        help="serve your ASGI app (package.module:app) with hypercorn on a "
        "loopback port instead of the reference server",
    )
    run.add_argument(
        "--server-port",
        metavar="PORT",
        help="the server listens on exactly 127.0.0.1:PORT (the port your "
        "reverse proxy, an external hop, forwards to); cells run one at a time",
    )
    rep = sub.add_parser("report", help="print the table; write report.html, summary.md, PNGs")
    rep.add_argument("run", type=Path, help="a run folder or its results.json")
    rep.add_argument(
        "--compare-with",
        type=Path,
        metavar="RUN",
        help="an earlier run: the report shows what changed since (default rule "
        "of `gauntlet compare`), written to comparison.json too",
    )
    cmp = sub.add_parser("compare", help="compare two runs; exit 1 on a regression")
    cmp.add_argument("old", type=Path, help="the earlier run (folder or results.json)")
    cmp.add_argument("new", type=Path, help="the later run (folder or results.json)")
    cmp.add_argument(
        "--alpha",
        type=float,
        default=0.001,
        metavar="P",
        help="one-sided Mann-Whitney p below which a shift is significant (default: %(default)s)",
    )
    cmp.add_argument(
        "--min-shift-ms",
        type=float,
        default=10.0,
        metavar="MS",
        help="smallest latency shift that counts, in ms (default: %(default)s)",
    )
    cmp.add_argument(
        "--min-shift-pct",
        type=float,
        default=10.0,
        metavar="PCT",
        help="... or this %% of the old median if larger (default: %(default)s)",
    )
    cmp.add_argument("--json", type=Path, metavar="FILE", help="also write the comparison here")
    mrg = sub.add_parser("merge", help="merge shard runs of one matrix into one run")
    mrg.add_argument("runs", type=Path, nargs="+", help="shard runs (folders or results.json)")
    add_results_option(mrg, "where the merged run is written")
    _bench_parser(sub)
    load_command.add_parser(sub)
    _fidelity_parser(sub)
    cal = sub.add_parser(
        "calibrate",
        help="measure known delays through real hops; exit 1 "
        "unless every band is met -> DIR/calibration/<id>.json",
    )
    add_results_option(cal, "the document goes to DIR/calibration/")
    return p


def _bench_parser(sub) -> None:
    b = sub.add_parser(
        "bench",
        help="measure the instrument: floor, hop overhead, load sweep, "
        "matrix wall times -> results/bench/<id>.json",
    )
    b.add_argument(
        "--quick",
        action="store_true",
        help="under 3 minutes: fewer points and events, no default profile",
    )
    add_results_option(b, "the document goes to DIR/bench/")
    b.add_argument(
        "--subscribers",
        metavar="N,N,...",
        help="sweep subscriber counts (default: 10,100,500,1000,2000; quick: 10,1000)",
    )
    b.add_argument(
        "--transports",
        metavar="T,T,...",
        help="sweep transports (default: sse,long_poll,websocket)",
    )
    b.add_argument("--events", type=int, metavar="N", help="events per sweep point, 1 per s")
    b.add_argument("--no-matrices", action="store_true", help="do not time the matrices")


def _fidelity_parser(sub) -> None:
    f = sub.add_parser(
        "fidelity",
        help="each emulation against the real device it imitates, "
        "side by side; exit 1 if any comparison differs",
    )
    f.add_argument(
        "--workloads", metavar="W,W,...", help="steady,bursts,large,quiet (default: all)"
    )
    f.add_argument("--transports", metavar="T,T,...", help="default: the plan's transports")
    f.add_argument(
        "--devices",
        metavar="D,D,...",
        help="devices or device:presets, e.g. nginx,squid (default: all)",
    )
    add_results_option(f, "where the run is written")
    add_jobs_option(f)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list(args)
        if args.command == "check":
            from gauntlet.preflight import check_scenarios

            print(check_scenarios(args.files, args.scenarios))
            return EXIT_OK
        if args.command == "run":
            return _run(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "merge":
            return _merge(args)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command == "bench":
            return _bench(args)
        if args.command == "fidelity":
            return _fidelity(args)
        if args.command == "load":
            return load_command.run(args)
        return _report(args)
    except (GauntletError, BaseExceptionGroup) as exc:
        inner = unwrap(exc)  # a GauntletError from inside a trio nursery is still one line
        if isinstance(inner, Interrupted | KeyboardInterrupt):
            print(f"gauntlet: interrupted{': ' * bool(str(inner))}{inner}", file=sys.stderr)
            return EXIT_INTERRUPTED
        if not isinstance(inner, GauntletError):
            raise
        print(f"gauntlet: error: {inner}", file=sys.stderr)
        return EXIT_USAGE
    except (KeyboardInterrupt, Interrupted) as exc:
        print(f"gauntlet: interrupted{': ' * bool(str(exc))}{exc}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _list(args: argparse.Namespace) -> int:
    print("Transports:")
    for t in TRANSPORTS.values():
        print(f"  {t.name:<20} {t.description}")
    print("Intermediaries (each proxy behaviour alone is one reverse-proxy hop):")
    for name, inter in load_intermediaries(args.scenarios).items():
        print(f"  {name:<20} {inter.description}")
        behaviour = proxies.BEHAVIOURS.get(name)
        if behaviour is None:
            if inter.hops:
                print(
                    f"  {'':<20} chain: " + " -> ".join(f"{h.label} ({h.mode})" for h in inter.hops)
                )
            continue
        print(f"  {'':<20} imitates: {behaviour.imitates}")
        for option in behaviour.options:
            scaled = ", real-world duration, divided by the time scale" * option.scaled
            print(
                f"  {'':<20} --set {option.name}={option.default!r} ({option.type}{scaled}): "
                f"{option.help}"
            )
    print("Matrices:")
    for name, description in list_matrices(args.scenarios):
        print(f"  {name:<20} {description}")
    print("Profiles:")
    for profile in load_profiles(args.scenarios).values():
        repeats = f" (x{profile.repeats})" if profile.repeats > 1 else ""
        repeats += f", {profile.jobs} cells at a time" if profile.jobs > 1 else ""
        print(f"  {profile.name:<20} {', '.join(profile.matrices)}{repeats}: {profile.description}")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from gauntlet.preflight import check_jobs, check_repeat, check_results_dir, match_cells
    from gauntlet.progress import ProgressPrinter
    from gauntlet.report import render_table, write_report
    from gauntlet.results import new_run_id
    from gauntlet.runner import run_cells

    if args.repeat is not None:
        check_repeat(args.repeat)
    one_transport = args.transport and not args.intermediary and (args.target or args.app)
    if (
        not args.profile
        and (args.transport or args.intermediary)
        and not one_transport
        and not (args.transport and args.intermediary)
    ):
        raise GauntletError("--transport and --intermediary go together")
    selection = select_cells(
        matrix=args.matrix,
        profile=args.profile,
        transport=args.transport,
        intermediary=args.intermediary,
        protocol=args.protocol,
        repeat=args.repeat,
        shard=args.shard,
        scenarios_dir=args.scenarios,
    )
    cells, label, matrix_name, scale = (
        list(selection.cells),
        selection.label,
        selection.matrix,
        selection.time_scale,
    )
    ids = list(selection.ids) if selection.ids is not None else None
    jobs = selection.jobs or 1
    if args.cell:
        if args.transport:
            raise GauntletError("--cell picks cells of a --matrix or --profile, not of --transport")
        keep = match_cells(ids if ids is not None else [c.id for c in cells], args.cell)
        cells = [cells[i] for i in keep]
        ids = [ids[i] for i in keep] if ids is not None else None
    jobs = check_jobs(
        jobs if args.jobs is None else args.jobs,
        "--jobs" if args.jobs is not None else f"profile {label}: jobs",
    )
    check_results_dir(args.results)  # cheap checks first: calibration can take a minute

    choice, keep, server_socket = _own_stack(args, cells)
    if choice is not None or server_socket is not None:
        cells = [cells[i] for i in keep]
        ids = [ids[i] for i in keep] if ids is not None else None
        jobs, args.jobs = 1, None  # one endpoint / one port: cells take turns

    from gauntlet.instrument.calibrate import for_run

    progress = ProgressPrinter(sys.stderr, verbose=args.verbose, json=args.progress == "json")
    calibration = for_run(args.results, may_measure=not args.no_calibration, progress=progress)
    try:
        outcome = trio.run(
            lambda: run_cells(
                cells,
                run_id=new_run_id(label),
                matrix=matrix_name,
                time_scale=scale,
                results_dir=args.results,
                progress=progress,
                ids=ids,
                calibration=calibration,
                target=choice,
                server_socket=server_socket,
                jobs=jobs,
            )
        )
    finally:
        progress.close()
        if server_socket is not None:
            server_socket.close()
    if outcome.error is not None and not outcome.document.cells:
        raise outcome.error  # nothing was measured: the error is the whole story
    doc = outcome.document.to_json()
    print(render_table(doc))
    if not args.no_plots and outcome.document.cells:
        for written in write_report(doc, outcome.path.parent):
            print(f"report: {written}")
    print(f"results: {outcome.path}")
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        print(
            "gauntlet: interrupted; the cells measured so far are in the results", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    bad = [
        c
        for c in outcome.document.cells
        if c.verdict == Verdict.ERROR
        or c.verdict != Verdict.SKIPPED  # not installed here
        and c.expected_verdict not in (None, c.verdict)
    ]
    flips = (outcome.document.repeats or {}).get("flips")
    return EXIT_MISMATCH if bad or flips else EXIT_OK


def _own_stack(args: argparse.Namespace, cells: list) -> tuple:
    """(target choice or None, indexes of the cells it can run, server socket or None) for
    --target, --app and --server-port; refuses bad input in one line before any cell runs."""
    from gauntlet.loopback import check_target_url, parse_server_address
    from gauntlet.target import CONTRACT_TRANSPORTS, TargetChoice, bind_server_socket, load_app

    choice = None
    if args.target:
        choice = TargetChoice(url=check_target_url(args.target))
    elif args.app:
        load_app(args.app)  # an import error is one line now, not an ERROR in every cell
        choice = TargetChoice(app_spec=args.app)
    if args.server_port and args.target:
        raise GauntletError(
            "--server-port and --target: a running endpoint already has its "
            "port; --server-port is for the reference server or --app"
        )
    keep = list(range(len(cells)))
    if choice is not None:
        keep = [
            i
            for i, c in enumerate(cells)
            if c.transport in CONTRACT_TRANSPORTS and (args.app or c.protocol == "h1")
        ]
        kept = [cells[i] for i in keep]
        if len(kept) < len(cells):
            why = (
                "transports outside the endpoint contract ("
                + ", ".join(CONTRACT_TRANSPORTS)
                + ")"
                + ("" if args.app else " or TLS (a running endpoint speaks plain HTTP)")
            )
            print(
                f"gauntlet: {len(cells) - len(kept)} of {len(cells)} cells skipped: {why}",
                file=sys.stderr,
            )
        if not kept:
            raise GauntletError(
                "no cell left to run against the endpoint: choose a transport "
                f"among {', '.join(CONTRACT_TRANSPORTS)}"
            )
        cells = kept
    if args.target:
        from gauntlet.endpoint_check import check_endpoint

        assert choice is not None and choice.url is not None
        url = choice.url
        trio.run(lambda: check_endpoint(url, sorted({c.transport for c in cells})))
    elif args.app:
        from gauntlet.endpoint_check import check_app

        trio.run(lambda: check_app(args.app, sorted({c.transport for c in cells})))
    server_socket = None
    if args.server_port:
        host, port = parse_server_address(args.server_port, "--server-port")
        server_socket = bind_server_socket(host, port)
    return choice, keep, server_socket


def _bench(args: argparse.Namespace) -> int:
    from gauntlet.instrument.bench.run import full_config, quick_config, run_bench, summary_lines
    from gauntlet.progress import ProgressPrinter

    def numbers(text: str, flag: str) -> tuple[int, ...]:
        try:
            return tuple(int(x) for x in text.split(",") if x)
        except ValueError:
            raise GauntletError(f"{flag} {text!r}: expected numbers like 10,100,1000") from None

    overrides: dict = {}
    if args.subscribers:
        overrides["subscribers"] = numbers(args.subscribers, "--subscribers")
    if args.transports:
        names = tuple(t for t in args.transports.split(",") if t)
        overrides.update(
            transports=names,
            floor_transports=names,
            hop_transports=names[:1] if args.quick else names,
            real_hop_transports=names[:1] if args.quick else names,
        )
    if args.events is not None:
        overrides["sweep_events"] = args.events
    if args.no_matrices:
        overrides.update(
            matrices=(), skipped_matrices=(("smoke", "--no-matrices"), ("default", "--no-matrices"))
        )
    config = (quick_config if args.quick else full_config)(**overrides)

    progress = ProgressPrinter(sys.stderr)
    doc, path = trio.run(
        lambda: run_bench(config, args.results, progress, ["gauntlet", *sys.argv[1:]])
    )
    print("\n".join(summary_lines(doc.to_json())))
    print(f"bench: {path}")
    return EXIT_OK


def _fidelity(args: argparse.Namespace) -> int:
    from gauntlet import fidelity
    from gauntlet.progress import ProgressPrinter
    from gauntlet.report import write_report
    from gauntlet.results import new_run_id, write_document
    from gauntlet.runner import run_cells

    def names(text: str | None) -> tuple[str, ...] | None:
        return tuple(x for x in text.split(",") if x) if text else None

    plan = fidelity.load_plan(args.scenarios / "fidelity" / "pairs.toml")
    pairs = fidelity.cells(
        plan,
        workloads=names(args.workloads),
        transports=names(args.transports),
        devices=names(args.devices),
    )
    if not pairs:
        raise GauntletError("fidelity: no cell matches --workloads/--transports/--devices")
    progress = ProgressPrinter(sys.stderr, verbose=False)
    try:
        outcome = trio.run(
            lambda: run_cells(
                [c for _, c in pairs],
                run_id=new_run_id("fidelity"),
                matrix="fidelity",
                time_scale=plan.time_scale,
                results_dir=args.results,
                progress=progress,
                ids=[i for i, _ in pairs],
                jobs=args.jobs,
            )
        )
    finally:
        progress.close()
    document = outcome.document
    rows = fidelity.rows(
        [c.model_dump(mode="json") for c in document.cells], fidelity.pairs_json(plan)
    )
    document.fidelity = {
        "pairs": fidelity.pairs_json(plan),
        "rows": rows,
        "summary": fidelity.summary(rows),
        "command": " ".join(["gauntlet", *sys.argv[1:]]),
    }
    path = write_document(document, args.results)
    print(fidelity.render(rows))
    for written in write_report(document.to_json(), path.parent):
        print(f"report: {written}")
    print(f"results: {path}")
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_MISMATCH if fidelity.summary(rows)[fidelity.DIFFER] else EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from gauntlet.instrument.calibrate import calibrate, render_table
    from gauntlet.progress import ProgressPrinter

    doc, path = trio.run(calibrate, args.results, ProgressPrinter(sys.stderr))
    print(render_table(doc))
    print(f"calibration: {path}")
    return EXIT_OK if doc.passed else EXIT_MISMATCH


def _results_path(run: Path) -> Path:
    return run / "results.json" if run.is_dir() else run


def _compare(args: argparse.Namespace) -> int:
    from gauntlet.report.compare import Thresholds, compare
    from gauntlet.results import write_json

    old, new = _load_for_compare(args.old), _load_for_compare(args.new)
    t = Thresholds(
        alpha=args.alpha, min_shift_ms=args.min_shift_ms, min_shift_pct=args.min_shift_pct
    )
    result = compare(old, new, t)
    print("\n".join(result.lines()))
    if args.json:
        write_json(result.to_json(old, new, t), args.json)
    return EXIT_MISMATCH if result.regressions else EXIT_OK


def _load_for_compare(run: Path) -> dict:
    """A results document another job wrote (last night's artifact): validated before use."""
    from gauntlet.report.compare import validate
    from gauntlet.results import read_results

    path = _results_path(run)
    return validate(read_results(path).to_json(), str(path))


def _merge(args: argparse.Namespace) -> int:
    from gauntlet.report import render_table
    from gauntlet.results import merge_documents, new_run_id, read_results, write_document

    paths = [_results_path(r) for r in args.runs]
    docs = [read_results(p) for p in paths]
    merged = merge_documents(docs, new_run_id(f"{docs[0].matrix}-merged"), [str(p) for p in paths])
    path = write_document(merged, args.results)
    print(render_table(merged.to_json()))
    print(f"results: {path}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from gauntlet.report import load_results, render_table, write_report

    path = _results_path(args.run)
    doc = load_results(path)
    print(render_table(doc))
    if doc.get("fidelity"):  # a `gauntlet fidelity` run: its comparison table too
        from gauntlet.fidelity import render

        print(render(doc["fidelity"]["rows"]))
    comparison = None
    if args.compare_with:
        from gauntlet.report.compare import Thresholds, compare
        from gauntlet.results import write_json

        old = _load_for_compare(args.compare_with)
        comparison = compare(old, doc).to_json(old, doc, Thresholds())
        print(f"report: {write_json(comparison, path.parent / 'comparison.json')}")
    for written in write_report(doc, path.parent, comparison):
        print(f"report: {written}")
    return EXIT_OK
