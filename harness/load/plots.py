"""The report's figures of a load document: latency against subscribers along the ramp (one
line per transport and path), delivered fraction, and CPU per delivered event per process
role. Pure in, PNG out (matplotlib's Agg backend, as harness/report/plots.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from gauntlet.load.document import cpu_per_event  # noqa: E402


def plot_load(doc: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    fig, (lat, frac, cpu) = plt.subplots(1, 3, figsize=(15, 4.5))
    for p in doc["points"]:
        label = f"{p['transport']} / {p['path']} ({p['workers']}w)"
        ramp = p.get("ramp") or []
        xs = [r["subscribers"] for r in ramp]
        lat.plot(xs, [r["latency_ms"]["p99"] for r in ramp], marker="o", label=f"{label} p99")
        lat.plot(
            xs,
            [r["latency_ms"]["p50"] for r in ramp],
            marker=".",
            linestyle="--",
            label=f"{label} p50",
        )
        frac.plot(xs, [r["delivered_fraction"] for r in ramp], marker="o", label=label)
        per = cpu_per_event(p)
        cpu.bar([f"{role}\n{p['transport']}" for role in per], list(per.values()))
    lat.set(
        xlabel="subscribers at publish",
        ylabel="latency (ms)",
        yscale="log",
        title="latency vs subscribers",
    )
    frac.set(
        xlabel="subscribers at publish",
        ylabel="delivered fraction",
        ylim=(0, 1.05),
        title="delivered fraction",
    )
    cpu.set(ylabel="CPU us per delivered event", title="CPU per event, by process role")
    for ax in (lat, frac):
        ax.legend(fontsize="small")
    fig.tight_layout()
    path = folder / "load.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
