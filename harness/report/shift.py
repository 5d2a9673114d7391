"""How much later did events arrive in one run than in another: a rank-based shift estimate.

Pure. A cell keeps 15 or so per-event latencies; they are skewed (a floor set by the path,
a tail set by the scheduler), so a percentile of one run against the same percentile of the
other moves with one hiccup: p95 of 15 samples is nearly the maximum. Rank statistics do not:

- the Hodges-Lehmann shift is the median of every pairwise difference new - old, the effect
  estimate that goes with the Mann-Whitney U test (Hollander & Wolfe, Nonparametric
  Statistical Methods, ch. 4.2); a few slow outliers move it little, a delay added to every
  event (a hop holding each chunk 20 ms) moves it by exactly that delay;
- its confidence interval is the distribution-free one built from the same ranks (Moses):
  the k-th smallest and k-th largest pairwise difference, k from the U statistic's critical
  value (normal approximation, as Hollander & Wolfe give it for these sample sizes). It needs
  no random resampling, so compare is deterministic without a seed;
- the significance is scipy's one-sided Mann-Whitney U test (new later than old), as asv's
  `is_different` uses a Mann-Whitney U test on raw samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Shift:
    """new - old latency in ms: estimate, interval, one-sided p (new later), sample sizes."""

    shift_ms: float
    low_ms: float
    high_ms: float
    p: float
    n_old: int
    n_new: int
    old_median_ms: float

    def to_json(self) -> dict[str, Any]:
        return {
            "shift_ms": round(self.shift_ms, 3),
            "low_ms": round(self.low_ms, 3),
            "high_ms": round(self.high_ms, 3),
            "p": self.p,
            "n_old": self.n_old,
            "n_new": self.n_new,
            "old_median_ms": round(self.old_median_ms, 3),
        }


def latencies(cells: Sequence[dict[str, Any]]) -> list[float]:
    """First receipt minus publication (ms) of every delivered event of these cells' samples."""
    return [
        s["received_ms"][0] - s["sent_ms"]
        for c in cells
        for s in c.get("samples") or []
        if s.get("received_ms")
    ]


def pairwise(old: Sequence[float], new: Sequence[float]) -> np.ndarray:
    """Every difference new_j - old_i, sorted."""
    return np.sort(np.subtract.outer(np.asarray(new, float), np.asarray(old, float)).ravel())


def interval_rank(n_old: int, n_new: int, confidence: float) -> int:
    """How many pairwise differences to drop at each end for a two-sided `confidence` interval.

    k = floor(n m / 2 - z sqrt(n m (n + m + 1) / 12)), at least 0 (then the interval is the
    whole range of differences: too few samples to say more).
    """
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    nm = n_old * n_new
    return max(0, math.floor(nm / 2 - z * math.sqrt(nm * (n_old + n_new + 1) / 12)))


def shift(old: Sequence[float], new: Sequence[float], confidence: float = 0.99) -> Shift:
    """The shift of `new` against `old` (Hodges-Lehmann: the median pairwise difference);
    both need at least one sample."""
    diffs = pairwise(old, new)
    k = interval_rank(len(old), len(new), confidence)
    p = float(stats.mannwhitneyu(new, old, alternative="greater").pvalue)
    return Shift(
        float(np.median(diffs)),
        float(diffs[k]),
        float(diffs[len(diffs) - 1 - k]),
        p,
        len(old),
        len(new),
        float(np.median(old)),
    )
