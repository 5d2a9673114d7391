"""`gauntlet`: list what exists, run a matrix or one cell, and report a run.

Exit status: 0 when every measured verdict equals its expectation (or none is written),
1 when a cell differs from its expectation or ends in ERROR (`calibrate`: when a band is not
met), 2 for bad input (one line on stderr naming the problem, never a traceback), 130 when
interrupted (results of the cells already measured are still written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

import proxies
from harness import __version__
from harness.clients import TRANSPORTS
from harness.errors import GauntletError, unwrap
from harness.results import parse_shard, shard_of
from harness.scenario import (
    SCENARIOS_DIR,
    adhoc_cell,
    list_matrices,
    load_intermediaries,
    load_matrix,
    load_profiles,
    profile_cells,
)

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gauntlet",
        description="Put real proxies between a push server and real clients; measure and "
        "judge what each does to delivery, per transport.",
    )
    p.add_argument("--version", action="version", version=f"gauntlet {__version__}")
    p.add_argument("--scenarios", type=Path, default=SCENARIOS_DIR, metavar="DIR",
                   help="scenario folder (default: %(default)s)")  # fmt: skip
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("list", help="list transports, intermediaries and matrices")
    run = sub.add_parser("run", help="run a matrix, or one transport x intermediary cell")
    what = run.add_mutually_exclusive_group()
    what.add_argument("--matrix", metavar="NAME", help="matrix to run (default: smoke)")
    what.add_argument("--profile", metavar="NAME", help="run a profile: smoke, default, nightly")
    what.add_argument("--transport", metavar="T", help="run one cell: this transport ...")
    run.add_argument("--intermediary", metavar="I", help="... through this intermediary")
    run.add_argument("--protocol", default="h1", choices=["h1", "https", "h2"],
                     help="... over this protocol (default: %(default)s)")  # fmt: skip
    run.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                     help="where runs are written (default: %(default)s)")  # fmt: skip
    run.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    run.add_argument("--no-calibration", action="store_true",
                     help="do not measure a calibration first when none is saved for this "
                     "machine in DIR/calibration (the report then says so)")  # fmt: skip
    run.add_argument("--shard", metavar="K/N", help="run only the K-th of N disjoint shares")
    run.add_argument("--jobs", type=int, metavar="N",
                     help="cells measured side by side (default: the profile's, else 1)")
    run.add_argument("-v", "--verbose", action="store_true", help="print topology details")
    rep = sub.add_parser("report", help="print the table; write report.html, summary.md, PNGs")
    rep.add_argument("run", type=Path, help="a run folder or its results.json")
    cmp = sub.add_parser("compare", help="compare two runs; exit 1 on a regression")
    cmp.add_argument("old", type=Path, help="the earlier run (folder or results.json)")
    cmp.add_argument("new", type=Path, help="the later run (folder or results.json)")
    cmp.add_argument("--latency-pct", type=float, default=25.0, metavar="PCT",
                     help="p95 growth that counts as a regression, in %% (default: %(default)s)")
    cmp.add_argument("--latency-min-ms", type=float, default=5.0, metavar="MS",
                     help="... and at least this many ms (default: %(default)s)")
    mrg = sub.add_parser("merge", help="merge shard runs of one matrix into one run")
    mrg.add_argument("runs", type=Path, nargs="+", help="shard runs (folders or results.json)")
    mrg.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                     help="where the merged run is written (default: %(default)s)")  # fmt: skip
    _bench_parser(sub)
    cal = sub.add_parser("calibrate", help="measure known delays through real hops; exit 1 "
                         "unless every band is met -> DIR/calibration/<id>.json")  # fmt: skip
    cal.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                     help="the document goes to DIR/calibration/ (default: %(default)s)")
    return p


def _bench_parser(sub) -> None:
    b = sub.add_parser("bench", help="measure the instrument: floor, hop overhead, load sweep, "
                       "matrix wall times -> results/bench/<id>.json")  # fmt: skip
    b.add_argument("--quick", action="store_true",
                   help="under 3 minutes: fewer points and events, no default profile")
    b.add_argument("--results", type=Path, default=Path("results"), metavar="DIR",
                   help="the document goes to DIR/bench/ (default: %(default)s)")
    b.add_argument("--subscribers", metavar="N,N,...",
                   help="sweep subscriber counts (default: 10,100,500,1000,2000; quick: 10,1000)")
    b.add_argument("--transports", metavar="T,T,...",
                   help="sweep transports (default: sse,long_poll,websocket)")
    b.add_argument("--events", type=int, metavar="N", help="events per sweep point, 1 per s")
    b.add_argument("--no-matrices", action="store_true", help="do not time the matrices")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "list":
            return _list(args)
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
        return _report(args)
    except (GauntletError, BaseExceptionGroup) as exc:
        inner = unwrap(exc)  # a GauntletError from inside a trio nursery is still one line
        if not isinstance(inner, GauntletError):
            raise
        print(f"gauntlet: error: {inner}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gauntlet: interrupted", file=sys.stderr)
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
                print(f"  {'':<20} chain: " + " -> ".join(
                    f"{h.label} ({h.mode})" for h in inter.hops))  # fmt: skip
            continue
        print(f"  {'':<20} imitates: {behaviour.imitates}")
        for option in behaviour.options:
            scaled = ", real-world duration, divided by the time scale" * option.scaled
            print(f"  {'':<20} --set {option.name}={option.default!r} ({option.type}{scaled}): "
                  f"{option.help}")  # fmt: skip
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
    from harness.progress import ProgressPrinter
    from harness.report import render_table, write_report
    from harness.results import new_run_id
    from harness.runner import run_cells

    ids = None
    jobs = 1
    if args.profile:
        profile, pairs = profile_cells(args.profile, args.scenarios)
        ids, cells = [i for i, _ in pairs], [c for _, c in pairs]
        label, matrix_name, scale = profile.name, profile.name, cells[0].timing.time_scale
        jobs = profile.jobs
    elif args.transport or args.intermediary:
        if not (args.transport and args.intermediary):
            raise GauntletError("--transport and --intermediary go together")
        cells = [adhoc_cell(args.transport, args.intermediary, args.scenarios,
                            protocol=args.protocol)]  # fmt: skip
        label, matrix_name, scale = cells[0].id, "adhoc", cells[0].timing.time_scale
    else:
        matrix = load_matrix(args.matrix or "smoke", args.scenarios)
        cells, label, matrix_name, scale = list(matrix.cells), matrix.name, matrix.name, \
            matrix.time_scale

    if args.shard:
        k, n = parse_shard(args.shard)
        cells, label = shard_of(cells, k, n), f"{label}-shard{k}of{n}"
        ids = shard_of(ids, k, n) if ids is not None else None

    from harness.calibrate import for_run

    calibration = for_run(args.results, may_measure=not args.no_calibration,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    progress = ProgressPrinter(sys.stderr, verbose=args.verbose)
    try:
        outcome = trio.run(lambda: run_cells(
            cells, run_id=new_run_id(label), matrix=matrix_name, time_scale=scale,
            results_dir=args.results, progress=progress, ids=ids,
            calibration=calibration,
            jobs=jobs if args.jobs is None else args.jobs))  # fmt: skip
    finally:
        progress.close()
    if outcome.error is not None and not outcome.document["cells"]:
        raise outcome.error  # nothing was measured: the error is the whole story
    print(render_table(outcome.document))
    if not args.no_plots and outcome.document["cells"]:
        for written in write_report(outcome.document, outcome.path.parent):
            print(f"report: {written}")
    print(f"results: {outcome.path}")
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        print("gauntlet: interrupted; the cells measured so far are in the results",
              file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    bad = [
        c for c in outcome.document["cells"]
        if c["verdict"] == "ERROR"  # a SKIPPED cell (no browser here) is not a mismatch
        or (c["expected_verdict"] not in (None, c["verdict"]) and c["verdict"] != "SKIPPED")
    ]  # fmt: skip
    return EXIT_MISMATCH if bad else EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    from harness.bench.run import full_config, quick_config, run_bench, summary_lines

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
        overrides.update(transports=names, floor_transports=names,
                         hop_transports=names[:1] if args.quick else names)
    if args.events is not None:
        overrides["sweep_events"] = args.events
    if args.no_matrices:
        overrides.update(matrices=(), skipped_matrices=(("smoke", "--no-matrices"),
                                                        ("default", "--no-matrices")))
    config = (quick_config if args.quick else full_config)(**overrides)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    doc, path = trio.run(lambda: run_bench(config, args.results, progress,
                                           ["gauntlet", *sys.argv[1:]]))  # fmt: skip
    print("\n".join(summary_lines(doc)))
    print(f"bench: {path}")
    return EXIT_OK


def _calibrate(args: argparse.Namespace) -> int:
    from harness.calibrate import calibrate, render_table

    doc, path = trio.run(calibrate, args.results,
                         lambda line: print(line, file=sys.stderr, flush=True))  # fmt: skip
    print(render_table(doc))
    print(f"calibration: {path}")
    return EXIT_OK if doc["passed"] else EXIT_MISMATCH


def _results_path(run: Path) -> Path:
    return run / "results.json" if run.is_dir() else run


def _compare(args: argparse.Namespace) -> int:
    from harness.report import load_results
    from harness.report.compare import Thresholds, compare

    result = compare(load_results(_results_path(args.old)), load_results(_results_path(args.new)),
                     Thresholds(args.latency_pct, args.latency_min_ms))  # fmt: skip
    print("\n".join(result.lines()))
    return EXIT_MISMATCH if result.regressions else EXIT_OK


def _merge(args: argparse.Namespace) -> int:
    from harness.report import load_results, render_table
    from harness.results import merge_documents, new_run_id, write_document

    paths = [_results_path(r) for r in args.runs]
    docs = [load_results(p) for p in paths]
    merged = merge_documents(docs, new_run_id(f"{docs[0].get('matrix')}-merged"),
                             [str(p) for p in paths])  # fmt: skip
    path = write_document(merged, args.results)
    print(render_table(merged))
    print(f"results: {path}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from harness.report import load_results, render_table, write_report

    path = _results_path(args.run)
    doc = load_results(path)
    print(render_table(doc))
    for written in write_report(doc, path.parent):
        print(f"report: {written}")
    return EXIT_OK
