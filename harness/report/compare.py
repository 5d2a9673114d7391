"""Compare two runs' results documents: what regressed, what only changed, what to distrust.

Pure: two results documents in, findings out. A *regression* (exit 1 for nightly CI) is

- a verdict that got worse (PASS < DEGRADED < FAIL < ERROR), a cell that met its expectation
  and no longer does, or a cell that vanished: always, whatever the latency;
- a latency shift judged on the raw per-event samples (harness/report/shift.py), only when
  BOTH the one-sided Mann-Whitney U test says new is later (p < `alpha`) AND the whole
  confidence interval of the Hodges-Lehmann shift lies at or above the minimum effect:
  max(`min_shift_ms`, `min_shift_pct` of the old median) plus the change of the run's own
  baseline (below). A loaded machine that makes a few events late moves neither the rank
  test's verdict nor the median shift much; a hop adding 20 ms to every event moves both.
  (asv flags a change on a Mann-Whitney p < 0.002 and a factor of 1.1; pytest-benchmark's
  --benchmark-compare-fail and hyperfine's Welch t-test script each use one condition only;
  a p95 threshold on 15 samples, this module's previous rule, is a threshold on one sample.)
- a count that got worse: exactly for the deterministic ones, beyond a stated tolerance for
  those that depend on timing (COUNTS).

The machine: every run carries its calibration (harness/instrument/calibrate.py), the p50
of the direct path and of one transparent hop, measured on that machine under that load. The minimum
effect of a cell is widened by how much that baseline moved between the runs: |direct
shift| + hops x |per-hop shift|. Widening, not subtracting: the baseline is itself 30
samples, and subtracting it would add its noise to every effect. When the baseline moved by
half the minimum effect or more, or the runs come from different machines (any field of
`machine` differs, shard by shard), there are no latency verdicts at all: a loaded machine
slowed one hop from 2.6 to 22 ms and cells by 15 to 300 ms, far from a uniform shift that
widening could absorb. The shifts are then listed as changes and a warning says why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from gauntlet.errors import GauntletError
from gauntlet.instrument.lag import STALLED_MS
from gauntlet.report.shift import Shift, latencies, shift
from gauntlet.verdict import MEASURED, Verdict

RANK = {v: rank for rank, v in enumerate(MEASURED)}  # PASS 0 .. ERROR 3
SKIPPED = Verdict.SKIPPED  # not measured (no real device or browser): a change, never a regression


@dataclass(frozen=True)
class Thresholds:
    alpha: float = 0.001
    min_shift_ms: float = 10.0
    min_shift_pct: float = 10.0
    confidence: float = 0.99
    min_samples: int = 5


@dataclass(frozen=True)
class Count:
    """A per-cell count compared between runs: `worse` is +1 when more is worse, -1 when less
    is; a change within max(`tolerance`, `tolerance_pct` of the old value) is not reported.
    `lossy_tolerance` replaces `tolerance` in a cell whose old run had already lost events."""

    name: str
    worse: int
    tolerance: float = 0.0
    tolerance_pct: float = 0.0
    lossy_tolerance: float | None = None


# Measured on two default-profile runs of one commit, the second on a machine loaded until
# its one-hop baseline was 8x slower (README "Comparing two runs"): delivered and lost were
# identical in all 176 cells (ids 1..n on a fixed schedule), so they are exact. The rest
# depend on timing: a late event shares a connection or a poll response with the next one
# (reconnects 14 -> 11, requests 16 -> 8 on close-each and long-poll cells, fewer when
# slower; +1 reconnect and +5 requests (11 -> 16, +45 %) the worst increases), a WebSocket
# fallback duplicated 5, 6 or 7 events, bytes per event moved by at most 7 %.
# Delivered and lost are exact while the old run lost nothing: any loss that appears is a
# regression. In a cell that already loses events (an intermediary that cuts a stream at a
# time: lifetime_cap, idle_timeout) how many fall before the cut depends on when the cut came
# against the publishing schedule: an LLM answer cut by lifetime_cap at 1 s kept 40 of 100
# tokens idle and 39 with a busy loop on both cores (2026-12-02), so one event either way.
LOSSY_TOLERANCE = 1.0
COUNTS = (
    Count("delivered", -1, lossy_tolerance=LOSSY_TOLERANCE),
    Count("lost", +1, lossy_tolerance=LOSSY_TOLERANCE),
    Count("duplicates", +1, tolerance=1),
    Count("reconnects", +1, tolerance=1, tolerance_pct=25.0),
    Count("requests", +1, tolerance=2, tolerance_pct=50.0),
    Count("bytes_per_event", +1, tolerance_pct=20.0),
)


@dataclass(frozen=True)
class Finding:
    cell: str
    text: str
    shift: Shift | None = None

    def __str__(self) -> str:
        return f"{self.cell}: {self.text}"

    def to_json(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "text": self.text,
            "shift": self.shift.to_json() if self.shift else None,
        }


@dataclass
class Comparison:
    regressions: list[Finding] = field(default_factory=list)
    changes: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"REGRESSION {r}" for r in self.regressions]
        out += [f"changed    {c}" for c in self.changes]
        out += [f"warning    {w}" for w in self.warnings]
        verdict = f"{len(self.regressions)} regression(s)" if self.regressions else "no regression"
        return [*out, f"{verdict}, {len(self.changes)} other change(s)"]

    def to_json(self, old: dict[str, Any], new: dict[str, Any], t: Thresholds) -> dict[str, Any]:
        return {
            "kind": "gauntlet-comparison",
            "old_run": old.get("run_id"),
            "new_run": new.get("run_id"),
            "thresholds": t.__dict__,
            "regressions": [f.to_json() for f in self.regressions],
            "changes": [f.to_json() for f in self.changes],
            "warnings": self.warnings,
            "summary": self.lines()[-1],
        }


def _meets(cell: dict[str, Any]) -> bool:
    return cell["verdict"] == SKIPPED or cell.get("expected_verdict") in (None, cell["verdict"])


def base_id(cell_id: str) -> str:
    """`matrix:cell#2` -> `matrix:cell`: repeats of one cell pool their samples."""
    return re.sub(r"#\d+$", "", cell_id)


def machines(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Every machine that measured part of this run (a merged run lists its shards')."""
    return doc.get("machines") or [doc.get("machine") or {}]


def machine_difference(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The machine fields that differ between any two machines of the two runs (fields that
    every one of them recorded: a run from before a field existed is not a different machine)."""
    everyone = machines(old) + machines(new)
    keys = set.intersection(*(set(m) for m in everyone))
    return sorted(k for k in keys if len({repr(m[k]) for m in everyone}) > 1)


def _baseline(doc: dict[str, Any]) -> tuple[float, float] | None:
    cal = doc.get("calibration") or {}
    b = cal.get("baseline") or {}
    direct, hop = b.get("direct_p50_ms"), b.get("hop_p50_ms")
    if cal.get("status") != "calibrated" or direct is None or hop is None:
        return None
    return float(direct), float(hop) - float(direct)


def baseline_drift(old: dict[str, Any], new: dict[str, Any]) -> tuple[float, float] | None:
    """(|direct p50 shift|, |per-hop cost shift|) between the runs' calibrations; None when
    either run has no calibration."""
    a, b = _baseline(old), _baseline(new)
    if a is None or b is None:
        return None
    return abs(b[0] - a[0]), abs(b[1] - a[1])


def drift_too_large(drift: tuple[float, float] | None, t: Thresholds) -> bool:
    """The baseline itself moved by half the minimum effect or more (direct or per hop): the
    runs' machines were not comparable (one was busy), so widening cannot be trusted."""
    return drift is not None and max(drift) >= t.min_shift_ms / 2


def min_effect_ms(
    old_median_ms: float, hops: int, drift: tuple[float, float] | None, t: Thresholds
) -> float:
    """The smallest shift that counts: max(absolute, relative) + the baseline's drift."""
    widen = 0.0 if drift is None else drift[0] + hops * drift[1]
    return max(t.min_shift_ms, t.min_shift_pct / 100 * old_median_ms) + widen


def judge_shift(s: Shift, threshold_ms: float, t: Thresholds) -> bool:
    """A regression: significant (one-sided p < alpha) and the whole interval >= threshold."""
    return s.p < t.alpha and s.low_ms >= threshold_ms


def describe(s: Shift, threshold_ms: float) -> str:
    return (
        f"latency {s.shift_ms:+.1f} ms [{s.low_ms:.1f}, {s.high_ms:.1f}] (Hodges-Lehmann "
        f"shift, Mann-Whitney p={s.p:.1g}, n={s.n_old}/{s.n_new}; counts from "
        f"{threshold_ms:.1f} ms)"
    )


def count_value(cell: dict[str, Any], name: str) -> float | None:
    m = cell.get("metrics") or {}
    if name == "bytes_per_event":
        delivered, total = m.get("delivered"), m.get("bytes_received")
        return None if not delivered or total is None else total / delivered
    return m.get(name)


def compare_count(
    c: Count, old: float | None, new: float | None, *, lossy: bool = False
) -> tuple[bool, str] | None:
    """(is it worse, text) when the count moved beyond its tolerance; None otherwise.
    `lossy`: the old run of the cell had already lost events (Count.lossy_tolerance)."""
    if old is None or new is None:
        return None
    tolerance = c.lossy_tolerance if lossy and c.lossy_tolerance is not None else c.tolerance
    allowed = max(tolerance, c.tolerance_pct / 100 * abs(old))
    if abs(new - old) <= allowed:
        return None
    slack = f", tolerance {allowed:g}" if allowed else ""
    return (new - old) * c.worse > 0, f"{c.name} {old:g} -> {new:g}{slack}"


def _verdicts(result: Comparison, before: dict, after: dict) -> None:
    for cell_id in sorted(before.keys() - after.keys()):
        result.regressions.append(
            Finding(cell_id, f"missing from the new run (was {before[cell_id]['verdict']})")
        )
    for cell_id in sorted(after.keys() - before.keys()):
        result.changes.append(Finding(cell_id, f"new in this run ({after[cell_id]['verdict']})"))
    for cell_id in sorted(before.keys() & after.keys()):
        a, b = before[cell_id], after[cell_id]
        if _meets(a) and not _meets(b):
            result.regressions.append(
                Finding(
                    cell_id,
                    f"measured {b['verdict']}, expected "
                    f"{b.get('expected_verdict')} ({b.get('reason')})",
                )
            )
        elif (
            SKIPPED not in (a["verdict"], b["verdict"]) and RANK[b["verdict"]] > RANK[a["verdict"]]
        ):
            result.regressions.append(
                Finding(cell_id, f"verdict {a['verdict']} -> {b['verdict']} ({b.get('reason')})")
            )
        elif a["verdict"] != b["verdict"]:
            result.changes.append(Finding(cell_id, f"verdict {a['verdict']} -> {b['verdict']}"))
        lossy = bool(count_value(a, "lost"))
        for c in COUNTS:
            moved = compare_count(c, count_value(a, c.name), count_value(b, c.name), lossy=lossy)
            if moved is not None:
                (result.regressions if moved[0] else result.changes).append(
                    Finding(cell_id, moved[1])
                )


def worst_lag_ms(cells: list[dict[str, Any]]) -> float | None:
    """The harness's own worst stall over a cell's repeats (harness/instrument/lag.py); None
    when no repeat recorded one."""
    lags = [float(v) for c in cells if isinstance(v := c.get("instrument_lag_ms"), int | float)]
    return max(lags, default=None)


def _latency(result: Comparison, old: dict, new: dict, t: Thresholds, judged: bool) -> None:
    """Latency shifts per cell (repeats pooled). A cell in which the harness itself was
    stalled past STALLED_MS in either run gets no latency verdict: its publisher, and so its
    clients on the same loop, ran late by about as much as the effects this looks for (a
    busy loop on both cores: 64 ms at the 90th percentile of the default profile's cells, up
    to 472 ms in a browser cell, 2026-12-02), which no property of the intermediary explains.
    Such a cell is listed as a change when its shift would otherwise have counted, and one
    warning names how many were not judged."""
    drift = baseline_drift(old, new)
    groups: dict[str, tuple[list, list]] = {}
    for doc, side in ((old, 0), (new, 1)):
        for cell in doc["cells"]:
            groups.setdefault(base_id(cell["id"]), ([], []))[side].append(cell)
    unjudged = []
    for name in sorted(groups):
        before, after = groups[name]
        x, y = latencies(before), latencies(after)
        if min(len(x), len(y)) < t.min_samples:
            continue
        s = shift(x, y, t.confidence)
        hops = max(len(c.get("hops") or []) for c in after)
        threshold = min_effect_ms(s.old_median_ms, hops, drift, t)
        slower = judge_shift(s, threshold, t)
        lags = worst_lag_ms(before), worst_lag_ms(after)
        stalled = any(lag is not None and lag > STALLED_MS for lag in lags)
        if stalled:
            unjudged.append(name)
        if slower and judged and not stalled:
            result.regressions.append(Finding(name, describe(s, threshold), s))
        elif slower and stalled:
            was = " -> ".join("?" if lag is None else f"{lag:.0f}" for lag in lags)
            text = f"{describe(s, threshold)}; not judged: the harness itself lagged {was} ms"
            result.changes.append(Finding(name, text, s))
        elif slower or s.high_ms <= -threshold:  # faster: a change worth a line, never a fault
            result.changes.append(Finding(name, describe(s, threshold), s))
    if unjudged and judged:
        result.warnings.append(
            f"latency not judged in {len(unjudged)} cell(s) where the harness itself was "
            f"stalled past {STALLED_MS:g} ms in a run (instrument_lag_ms), e.g. {unjudged[0]}"
        )


def compare(old: dict[str, Any], new: dict[str, Any], t: Thresholds = Thresholds()) -> Comparison:
    result = Comparison()
    differ = machine_difference(old, new)
    if differ:
        result.warnings.append(
            f"machines differ ({', '.join(differ)}): latency not judged, "
            f"shifts are listed as changes only"
        )
    a, b = old.get("dependencies") or {}, new.get("dependencies") or {}
    if a != b:
        diff = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
        result.warnings.append(f"dependencies differ ({', '.join(diff)}): numbers may not compare")
    drift = baseline_drift(old, new)
    if drift is None:
        result.warnings.append(
            "a run has no calibration: minimum effects not widened by the baseline's drift"
        )
    elif drift_too_large(drift, t):
        result.warnings.append(
            f"the calibration baselines moved by {drift[0]:.1f} ms direct, "
            f"{drift[1]:.1f} ms per hop (>= half the minimum effect): one "
            f"run's machine was busier, latency not judged, shifts are "
            f"listed as changes only"
        )
    _verdicts(result, {c["id"]: c for c in old["cells"]}, {c["id"]: c for c in new["cells"]})
    _latency(result, old, new, t, judged=not differ and not drift_too_large(drift, t))
    return result


# --- the input is untrusted (last night's artifact) ------------------------------------------


def _number(value: Any, where: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise GauntletError(f"{where}: expected a finite number, got {value!r:.40}")


def validate(doc: dict[str, Any], source: str) -> dict[str, Any]:
    """Check every field compare reads; one line naming the file and the place otherwise."""
    cells = doc.get("cells")
    if not isinstance(cells, list):
        raise GauntletError(f"{source}: cells: expected a list")
    for key in ("machine", "dependencies", "calibration"):
        if doc.get(key) is not None and not isinstance(doc[key], dict):
            raise GauntletError(f"{source}: {key}: expected an object")
    listed = doc.get("machines", [])
    if not isinstance(listed, list) or not all(isinstance(m, dict) for m in listed):
        raise GauntletError(f"{source}: machines: expected a list of objects")
    b = ((doc.get("calibration") or {}).get("baseline")) or {}
    for key in ("direct_p50_ms", "hop_p50_ms"):
        _number(b.get(key), f"{source}: calibration.baseline.{key}", optional=True)
    for i, cell in enumerate(cells):
        where = f"{source}: cells[{i}]"
        if not isinstance(cell, dict) or not isinstance(cell.get("id"), str):
            raise GauntletError(f"{where}: expected an object with a string id")
        if cell.get("verdict") not in (*RANK, SKIPPED):
            raise GauntletError(f"{where} ({cell['id']}): verdict {cell.get('verdict')!r:.40}")
        if not isinstance(cell.get("hops", []), list):
            raise GauntletError(f"{where}.hops: expected a list")
        _number(cell.get("instrument_lag_ms"), f"{where}.instrument_lag_ms", optional=True)
        metrics = cell.get("metrics", {})
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            raise GauntletError(f"{where}.metrics: expected an object")
        for name in ("delivered", "lost", "duplicates", "reconnects", "requests", "bytes_received"):
            _number(metrics.get(name), f"{where}.metrics.{name}", optional=True)
        samples = cell.get("samples", [])
        if not isinstance(samples, list):
            raise GauntletError(f"{where}.samples: expected a list")
        for j, s in enumerate(samples):
            if not isinstance(s, dict) or not isinstance(s.get("received_ms"), list):
                raise GauntletError(f"{where}.samples[{j}]: expected sent_ms and received_ms")
            _number(s.get("sent_ms"), f"{where}.samples[{j}].sent_ms")
            for r in s["received_ms"][:1]:
                _number(r, f"{where}.samples[{j}].received_ms[0]")
    return doc
