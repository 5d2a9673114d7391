"""Compare two runs' results documents: verdict changes, broken expectations, slower cells.

Pure: reads two results documents, returns findings. A *regression* (non-zero exit for
nightly CI) is a cell that met its expectation before and does not now, a verdict that got
worse (PASS < DEGRADED < FAIL < ERROR), or a p95 latency that grew by more than the
threshold (relative, and by at least `min_ms` so loopback noise of a fraction of a
millisecond is not a regression). Differing machines or dependency versions are warnings,
as pytest-benchmark's compare warns when machine_info differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RANK = {"PASS": 0, "DEGRADED": 1, "FAIL": 2, "ERROR": 3, "SKIPPED": -1}


@dataclass(frozen=True)
class Thresholds:
    latency_pct: float = 25.0
    latency_min_ms: float = 5.0


@dataclass
class Comparison:
    regressions: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"REGRESSION {r}" for r in self.regressions]
        out += [f"changed    {c}" for c in self.changes]
        out += [f"warning    {w}" for w in self.warnings]
        verdict = f"{len(self.regressions)} regression(s)" if self.regressions else "no regression"
        return [*out, f"{verdict}, {len(self.changes)} other change(s)"]


def _p95(cell: dict[str, Any]) -> float | None:
    return ((cell.get("metrics") or {}).get("latency_ms") or {}).get("p95")


def _meets(cell: dict[str, Any]) -> bool:
    return cell.get("expected_verdict") in (None, cell["verdict"])


def compare(old: dict[str, Any], new: dict[str, Any], t: Thresholds = Thresholds()) -> Comparison:
    result = Comparison()
    for key in ("machine", "dependencies"):
        a, b = old.get(key) or {}, new.get(key) or {}
        if a != b:
            diff = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
            result.warnings.append(f"{key} differ ({', '.join(diff)}): numbers may not compare")
    before = {c["id"]: c for c in old["cells"]}
    after = {c["id"]: c for c in new["cells"]}
    for cell_id in sorted(before.keys() - after.keys()):
        result.changes.append(f"{cell_id}: missing from the new run")
    for cell_id in sorted(after.keys() - before.keys()):
        result.changes.append(f"{cell_id}: new in this run ({after[cell_id]['verdict']})")
    for cell_id in sorted(before.keys() & after.keys()):
        a, b = before[cell_id], after[cell_id]
        if _meets(a) and not _meets(b):
            result.regressions.append(
                f"{cell_id}: measured {b['verdict']}, expected {b['expected_verdict']} "
                f"({b['reason']})"
            )
        elif RANK[b["verdict"]] > RANK[a["verdict"]]:
            result.regressions.append(f"{cell_id}: verdict {a['verdict']} -> {b['verdict']} "
                                      f"({b['reason']})")  # fmt: skip
        elif a["verdict"] != b["verdict"]:
            result.changes.append(f"{cell_id}: verdict {a['verdict']} -> {b['verdict']}")
        p_old, p_new = _p95(a), _p95(b)
        if p_old is not None and p_new is not None:
            grew = p_new - p_old
            if grew > t.latency_min_ms and grew > p_old * t.latency_pct / 100:
                result.regressions.append(
                    f"{cell_id}: p95 {p_old:.1f} -> {p_new:.1f} ms "
                    f"(+{grew / p_old * 100 if p_old else float('inf'):.0f} %, threshold "
                    f"{t.latency_pct:g} % and {t.latency_min_ms:g} ms)"
                )
    return result
