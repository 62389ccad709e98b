"""Class histograms: the share of each class among generated samples (matplotlib axes, torch-free)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ganzoo.report.rundata import RunData


@dataclass
class ClassShares:
    """Shares of each class among some samples, as a classifier sees them."""

    shares: list[float]
    source: str
    """Where they come from, e.g. 'health check at step 2500, 64 samples'."""
    reference: list[float] | None = None
    """The reference data's class shares, when known."""


def run_class_shares(run: RunData) -> ClassShares | None:
    """The newest class shares a run recorded: a periodic `coverage` evaluation, else a health check."""
    for record in reversed(run.evals):
        result = record.get("eval")
        values = result.get("values") if isinstance(result, Mapping) else None
        if not isinstance(values, Mapping):
            continue
        shares = _indexed(values, "coverage/")
        if shares:
            return ClassShares(shares, f"coverage evaluation at step {record['step']}", _indexed(values, "coverage_ref/"))
    for record in reversed(run.health):
        shares = record.get("class_fractions")
        if isinstance(shares, list) and shares:
            n = record.get("class_samples")
            count = f", {n} samples" if n else ""
            return ClassShares([float(s) for s in shares], f"health check at step {record['step']}{count}")
    return None


def _indexed(values: Mapping[str, Any], prefix: str) -> list[float] | None:
    found = {}
    for key, value in values.items():
        if isinstance(key, str) and key.startswith(prefix) and key[len(prefix):].isdigit():
            found[int(key[len(prefix):])] = float(value)
    if not found or sorted(found) != list(range(len(found))):
        return None
    return [found[i] for i in range(len(found))]


def draw_class_shares(ax: Any, series: Mapping[str, Sequence[float]], *, reference: Sequence[float] | None = None,
                      names: Sequence[str] | None = None, floor: float | None = None) -> None:
    """Grouped bars, one group per class and one bar per series; the reference (or uniform) as a step line.

    `floor` draws a dashed line at that share (e.g. the 6% a default demo must reach for its rarest class).
    """
    import numpy as np

    k = max(len(v) for v in series.values())
    x = np.arange(k)
    width = 0.8 / max(1, len(series))
    for i, (label, shares) in enumerate(series.items()):
        shares = list(shares)
        ax.bar(x - 0.4 + width * (i + 0.5), shares, width=width, label=f"{label} (rarest {min(shares):.1%})")
    expected = list(reference) if reference is not None else [1.0 / k] * k
    ax.step(np.arange(k + 1) - 0.5, expected + expected[-1:], where="post", color="0.3", linewidth=1.2,
            label="reference data" if reference is not None else "uniform")
    if floor is not None:
        ax.axhline(floor, color="tab:red", linestyle="--", linewidth=1, label=f"{floor:.0%}")
    ax.set_xticks(x, list(names) if names is not None else [str(i) for i in range(k)])
    ax.set_xlim(-0.6, k - 0.4)
    top = max(max(max(v) for v in series.values()), max(expected))
    ax.set_ylim(0, top * 1.25)
    ax.yaxis.set_major_formatter(_percent())
    ax.set_ylabel("share of samples")
    ax.legend(fontsize=8, loc="upper right", ncol=2)
    ax.grid(alpha=0.3, axis="y")


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=None)
