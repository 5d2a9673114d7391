"""Mutation testing of the pure core: run mutmut, summarise per module, check the survivors.

`tox -e mutation` runs this. mutmut (configured in pyproject.toml, [tool.mutmut]) changes the
code of the modules listed there in small ways, one mutant at a time, and runs the tests
that cover the changed function; a mutant no test notices "survives". Every survivor must be
in tests/mutation/equivalents.toml, the reviewed list of equivalent mutants (a change that
no caller can observe), each with a one-line reason; any other survivor fails the run.

mutmut numbers its mutants (`gauntlet.metrics.x_compute__mutmut_17`), and the numbers move
whenever the code above them changes. The list names a mutant by what it is instead:
module, function, and the change itself (the changed lines before -> after, whitespace
trimmed), so an entry stays valid until that line of code changes.

    scripts/mutation.py            fresh run (removes mutants/ first), summary, check
    scripts/mutation.py --reuse    keep mutmut's cache in mutants/ (re-tests changed code only)
    scripts/mutation.py --report   no run: summarise and check the last run's results

mutmut names a mutant after its file's path (src/ stripped) and matches it against the
`__module__` the tests import, so it needs the file laid out as it is imported. Gauntlet's
import package is built from differently named folders (pyproject.toml, [tool.setuptools.
package-dir]: gauntlet <- harness/, gauntlet.proxies <- proxies/), so mutmut runs in a stage,
mutants/, that copies them as the wheel lays them out (mutants/src/gauntlet/...) beside the
tests, with [tool.mutmut]'s paths rewritten to match. Results are reported by repository path
(harness/metrics.py), as tests/mutation/equivalents.toml names them.

Exit status: 0 when every survivor is a listed equivalent and every listed equivalent
still survives; 1 otherwise (the run itself failing included).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EQUIVALENTS = REPO / "tests" / "mutation" / "equivalents.toml"
STAGE = REPO / "mutants"  # the project as mutmut sees it (gitignored)
MUTANTS = STAGE / "mutants"  # mutmut's own output, inside the stage
LOG = STAGE / "mutmut-run.log"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGE_DIR: dict[str, str] = PYPROJECT["tool"]["setuptools"]["package-dir"]  # import -> folder
STAGED = {f"src/{name.replace('.', '/')}": folder for name, folder in PACKAGE_DIR.items()}

# mutmut's exit-code classes, grouped for the summary. A timeout is a kill: the mutant made a
# test hang (mutmut stops it); "caught by type check" is a kill by mypy, which `make test`
# runs over harness/ too.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "no tests", "suspicious", "skipped", "not checked"}


@dataclass(frozen=True)
class Mutant:
    name: str  # mutmut's volatile name, for `mutmut show NAME`
    module: str  # harness/metrics.py
    function: str  # compute, or Metrics.to_json
    change: str  # the changed lines: "before -> after"
    status: str

    @property
    def identity(self) -> tuple[str, str, str]:
        return (self.module, self.function, self.change)


def function_of(name: str) -> str:
    """`gauntlet.metrics.xǁMetricsǁto_json__mutmut_3` -> `Metrics.to_json`."""
    key = name.partition("__mutmut_")[0].rpartition(".")[2]
    if key.startswith("xǁ"):
        _, cls, func = key.split("ǁ")
        return f"{cls}.{func}"
    return key.removeprefix("x_")


def change_of(diff: str) -> str:
    """The changed lines of a unified diff, as `before -> after` (several joined by ` / `)."""
    lines = diff.splitlines()[2:]  # drop the ---/+++ header
    before = [x[1:].strip() for x in lines if x.startswith("-")]
    after = [x[1:].strip() for x in lines if x.startswith("+")]
    return f"{' / '.join(before)} -> {' / '.join(after)}"


def load_mutants() -> list[Mutant]:
    from mutmut.mutation.diff_apply import get_diff_for_mutant
    from mutmut.stats import status_by_exit_code

    mutants = []
    os.chdir(STAGE)  # mutmut reads mutants/ relative to the working directory
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        source = meta.relative_to(MUTANTS).with_suffix("")  # src/gauntlet/metrics.py
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        for name, code in exit_codes.items():
            status = status_by_exit_code[code]
            change = ""
            if status not in KILLED:  # diffs are slow to compute: only where they are needed
                change = change_of(get_diff_for_mutant(name, path=source))
            module = repo_path(source.as_posix())
            mutants.append(Mutant(name, module, function_of(name), change, status))
    return mutants


def repo_path(staged: str) -> str:
    """`src/gauntlet/proxies/_body.py` -> `proxies/_body.py`: the longest staged folder wins."""
    for folder in sorted(STAGED, key=len, reverse=True):
        if staged.startswith(folder + "/"):
            return STAGED[folder] + staged[len(folder) :]
    return staged


def staged_pyproject(text: str) -> str:
    """pyproject.toml for the stage: [tool.mutmut]'s folder paths as staged, the sources under
    src/, and no mypy_path (the stage's src/ is the package itself, not the .mypy-view/ links)."""
    head, sep, mutmut = text.partition("[tool.mutmut]")
    mutmut, sep2, rest = mutmut.partition("\n[")  # up to the next table
    for staged, folder in sorted(STAGED.items(), key=lambda kv: len(kv[0])):
        mutmut = mutmut.replace(f'"{folder}/', f'"{staged}/')  # file paths, not also_copy's
    mutmut = "\n".join(
        'source_paths = ["src"]' if line.startswith("source_paths") else line
        for line in mutmut.splitlines()
    )
    head = "\n".join(x for x in head.splitlines() if not x.startswith("mypy_path"))
    return head + "\n" + sep + mutmut + "\n" + sep2 + rest


def stage() -> None:
    """Copy the package folders to STAGE/src/<import path>, and the tests and files mutmut
    copies beside them (pyproject.toml's also_copy) to STAGE, as they are now."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for staged, folder in sorted(STAGED.items()):  # gauntlet before gauntlet.proxies
        shutil.copytree(REPO / folder, STAGE / staged, ignore=ignore, dirs_exist_ok=True)
    for extra in ["tests", *PYPROJECT["tool"]["mutmut"].get("also_copy", [])]:
        source = REPO / extra
        if source.is_dir():
            shutil.copytree(source, STAGE / extra, ignore=ignore, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy2(source, STAGE / extra)
    pyproject = staged_pyproject((REPO / "pyproject.toml").read_text())
    (STAGE / "pyproject.toml").write_text(pyproject)


def load_equivalents() -> dict[tuple[str, str, str], str]:
    """Reviewed equivalents: identity -> reason. A malformed entry stops the run."""
    entries = tomllib.loads(EQUIVALENTS.read_text())["equivalent"]
    reviewed: dict[tuple[str, str, str], str] = {}
    for i, entry in enumerate(entries, start=1):
        missing = {"module", "function", "change", "reason"} - entry.keys()
        if missing or not entry.get("reason", "").strip():
            sys.exit(
                f"{EQUIVALENTS}: entry {i} needs module, function, change and a reason "
                f"(missing: {', '.join(sorted(missing)) or 'reason text'})"
            )
        reviewed[(entry["module"], entry["function"], entry["change"])] = entry["reason"]
    return reviewed


def summary(mutants: list[Mutant], equivalent: set[tuple[str, str, str]]) -> list[str]:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for m in mutants:
        c = by_module[m.module]
        c["mutants"] += 1
        if m.status in KILLED:
            c["killed"] += 1
            c["mypy"] += m.status == "caught by type check"
        elif m.identity in equivalent:
            c["equivalent"] += 1
        else:
            c["survived"] += 1
    head = (
        f"{'module':<30} {'mutants':>7} {'killed':>7} {'(mypy)':>7} {'equiv':>6} "
        f"{'survived':>8} {'score':>7}"
    )
    rows = [head, "-" * len(head)]
    total: Counter[str] = Counter()
    for module, c in sorted(by_module.items()):
        total.update(c)
        rows.append(_row(module, c))
    rows.append("-" * len(head))
    rows.append(_row("total", total))
    rows.append("score = killed / (mutants - equivalent); (mypy): of the killed, by the type check")
    return rows


def _row(label: str, c: Counter[str]) -> str:
    judged = c["mutants"] - c["equivalent"]
    score = f"{100 * c['killed'] / judged:.1f} %" if judged else "-"
    return (
        f"{label:<30} {c['mutants']:>7} {c['killed']:>7} {c['mypy']:>7} "
        f"{c['equivalent']:>6} {c['survived']:>8} {score:>7}"
    )


def run_mutmut(reuse: bool) -> float:
    if not reuse and STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(exist_ok=True)
    stage()
    bin_dir = str(Path(sys.executable).parent)  # mutmut's type check runs `mypy` from PATH
    env = {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "fast"),
    }
    started = time.monotonic()
    print(f"mutation: running mutmut (output: {LOG.relative_to(REPO)}) ...", flush=True)
    with LOG.open("w") as log:
        done = subprocess.run(
            [sys.executable, "-m", "mutmut", "run"],
            cwd=STAGE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        tail = LOG.read_text(errors="replace").replace("\r", "\n").splitlines()[-30:]
        print("\n".join(tail))
        sys.exit(
            f"mutation: mutmut run failed (exit {done.returncode}) after {elapsed:.0f} s; "
            f"full output in {LOG}"
        )
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep mutmut's cache in mutants/")
    parser.add_argument("--report", action="store_true", help="no run: check the last results")
    args = parser.parse_args(argv)
    elapsed = None if args.report else run_mutmut(args.reuse)
    mutants = load_mutants()
    if not mutants:
        sys.exit("mutation: no mutants found under mutants/ (run without --report first)")
    reviewed = load_equivalents()
    survivors = [m for m in mutants if m.status not in KILLED]
    listed = {m.identity for m in survivors if m.identity in reviewed}
    print("\n".join(summary(mutants, listed)))
    if elapsed is not None:
        print(f"mutmut run: {elapsed:.0f} s")
    unexpected = [m for m in survivors if m.identity not in reviewed]
    stale = sorted(set(reviewed) - {m.identity for m in survivors})
    for m in unexpected:
        print(
            f"\nSURVIVED ({m.status}): {m.module} {m.function}\n    {m.change}\n"
            f"    see: mutmut show {m.name}"
        )
    for module, function, change in stale:
        print(
            f"\nLISTED AS EQUIVALENT BUT NOT A SURVIVOR (killed, or the code changed): "
            f"{module} {function}\n    {change}\n    remove or update it in {EQUIVALENTS.name}"
        )
    if unexpected or stale:
        print(
            f"\nmutation: {len(unexpected)} unexpected survivor(s), {len(stale)} stale "
            f"equivalent(s). Kill a survivor with a test of the behaviour it breaks, or, if "
            f"no caller can observe the change, list it in {EQUIVALENTS.relative_to(REPO)} "
            f"with the reason."
        )
        return 1
    print(f"mutation: every survivor is a reviewed equivalent ({len(listed)} listed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
