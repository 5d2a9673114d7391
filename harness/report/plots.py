"""PNG plots drawn from a results document only (hyperfine's `scripts/plot_whisker.py` model).

- latency.png: the empirical CDF of per-event latency, one line per cell.
- timeline.png: per cell, each event's receive time against its send time; the diagonal is
  instant delivery, a store-and-forward proxy shows as nothing (or a staircase at stream end),
  undelivered events as red crosses along the top.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gauntlet.verdict import Verdict

VERDICT_COLOURS = {
    Verdict.PASS: "tab:green",
    Verdict.DEGRADED: "tab:orange",
    Verdict.FAIL: "tab:red",
    Verdict.ERROR: "tab:grey",
    Verdict.SKIPPED: "tab:olive",
}


def latencies_ms(cell: dict[str, Any]) -> list[float]:
    """First-receipt latency of each delivered event, sorted (pure)."""
    out = [
        s["received_ms"][0] - s["sent_ms"] for s in cell.get("samples") or [] if s["received_ms"]
    ]
    return sorted(out)


def grid_shape(n: int, max_cols: int = 4) -> tuple[int, int]:
    """(rows, cols) of a grid holding n small plots (pure)."""
    cols = max(1, min(max_cols, n))
    return max(1, math.ceil(n / cols)), cols


def write_plots(doc: dict[str, Any], out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_latency_cdf(doc, out_dir / "latency.png"), _timeline(doc, out_dir / "timeline.png")]


def _latency_cdf(doc: dict[str, Any], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(9, 5.5))
    ax.set_prop_cycle(color=[plt.get_cmap("tab20")(i % 20) for i in range(len(doc["cells"]))])
    for cell in doc["cells"]:
        lat = latencies_ms(cell)
        if not lat:
            ax.plot([], [], label=f"{cell['id']} (nothing delivered)", linestyle=":")
            continue
        ys = [(i + 1) / len(lat) for i in range(len(lat))]
        ax.step([max(x, 1e-3) for x in lat], ys, where="post", label=cell["id"])
    ax.set_xscale("log")
    ax.set_xlabel("latency, publish to client parse (ms, log scale)")
    ax.set_ylabel("fraction of delivered events")
    ax.set_title(f"Per-event latency CDF — {doc.get('matrix')} — {doc.get('run_id')}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _timeline(doc: dict[str, Any], path: Path) -> Path:
    cells = doc["cells"]
    rows, cols = grid_shape(len(cells))
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.0 * rows), squeeze=False)
    for ax in axes.flat[len(cells) :]:
        ax.set_visible(False)
    for ax, cell in zip(axes.flat, cells, strict=False):
        samples = cell.get("samples") or []
        sent = [s["sent_ms"] / 1000 for s in samples if s["received_ms"]]
        got = [s["received_ms"][0] / 1000 for s in samples if s["received_ms"]]
        lost = [s["sent_ms"] / 1000 for s in samples if not s["received_ms"]]
        top = max([*sent, *got, *lost, 0.1]) * 1.05
        ax.plot([0, top], [0, top], linestyle="--", color="grey", linewidth=0.8)
        ax.scatter(sent, got, s=10, color="tab:blue")
        if lost:
            ax.scatter(
                lost, [top] * len(lost), marker="x", color="tab:red", s=18, label="not delivered"
            )
        ax.set_xlim(0, top)
        ax.set_ylim(0, top * 1.03)
        ax.set_title(
            f"{cell['id']}: {cell['verdict']}",
            fontsize=8,
            color=VERDICT_COLOURS.get(cell["verdict"], "black"),
        )
        ax.tick_params(labelsize=7)
        ax.set_xlabel("sent (s)", fontsize=7)
        ax.set_ylabel("received (s)", fontsize=7)
    fig.suptitle(f"Send vs receive time per event — {doc.get('run_id')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def overhead(cell: dict[str, Any]) -> tuple[float, float] | None:
    """(requests, bytes) per delivered event, or None when nothing was delivered (pure)."""
    m = cell.get("metrics") or {}
    if not m.get("delivered") or "requests" not in m or "bytes_received" not in m:
        return None
    return m["requests"] / m["delivered"], m["bytes_received"] / m["delivered"]


def write_overhead_plot(doc: dict[str, Any], path: Path) -> Path:
    """Bars: requests and bytes per delivered event per cell: the cost of robustness."""
    pairs = [(c["id"], o) for c in doc["cells"] if (o := overhead(c)) is not None]
    fig, (ax_req, ax_bytes) = plt.subplots(1, 2, figsize=(12, max(3.0, 0.28 * len(pairs) + 1)))
    names = [name for name, _ in pairs]
    values = [o for _, o in pairs]
    ax_req.barh(names, [v[0] for v in values], color="tab:purple")
    ax_bytes.barh(names, [v[1] for v in values], color="tab:cyan")
    ax_req.set_xlabel("requests per delivered event")
    ax_bytes.set_xlabel("bytes received per delivered event")
    ax_bytes.set_yticklabels([])
    for ax in (ax_req, ax_bytes):
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
    fig.suptitle(f"Cost per delivered event — {doc.get('run_id')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
