"""One picture of a run with matplotlib (Agg, no pyplot): curves, health, warnings and sample grids.

Every panel is always drawn, so the layout is the same for every run; a panel with nothing to show
says so. Warnings (and a non-finite stop) are marked on every timeline panel and listed in their own strip.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ganzoo.report.rundata import RunData

PANELS = (
    "Losses",
    "Discriminator accuracy",
    "Sample diversity (relative to real data)",
    "Gradient norms",
    "Learning rates",
    "Skipped and extra discriminator updates",
    "Periodic evaluation (--eval-every)",
    "Discriminator augmentation (--augment ada)",
    "Warnings",
    "Class shares of the samples",
    "Samples over time",
)
"""Titles of the panels, in drawing order."""
TIMELINES = PANELS[:8]
"""The panels with steps on the x axis, where warnings are marked."""

KIND_COLORS = {
    "d_winning": "tab:red",
    "mode_collapse": "tab:purple",
    "vanishing_gradients": "tab:orange",
    "exploding_gradients": "tab:brown",
    "non_finite": "black",
}
FIGSIZE = (14, 19)
"""Inches of the report figure (width, height)."""
COLLAPSE_FRACTION = 0.25  # drawn as a guide; the engine's default (ganzoo.engine.health.HealthConfig)


def require_matplotlib() -> Any:
    """The matplotlib module with the Agg backend, or a one-line error saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        from ganzoo.errors import ConfigError

        raise ConfigError("ganzoo report needs matplotlib: pip install 'ganzoo-core[report]'") from None
    matplotlib.use("Agg", force=True)
    return matplotlib


def series(records: Iterable[dict[str, Any]], key: str, sub: str | None = None) -> tuple[list[int], list[float]]:
    """(steps, values) of `key` (or `key[sub]`) over `records`, skipping missing and non-numeric values."""
    xs, ys = [], []
    for r in records:
        value = r.get(key)
        if sub is not None:
            value = value.get(sub) if isinstance(value, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            xs.append(int(r["step"]))
            ys.append(float(value))
    return xs, ys


def keys_of(records: Iterable[dict[str, Any]], prefix: str = "", nested: str | None = None) -> list[str]:
    """Keys present in `records` (starting with `prefix`, or inside the dict `nested`), in first-seen order."""
    seen: dict[str, None] = {}
    for r in records:
        source = r.get(nested) if nested else r
        if isinstance(source, dict):
            for k in source:
                if k.startswith(prefix):
                    seen.setdefault(k, None)
    return list(seen)


def draw(run: RunData, *, max_samples: int = 6, dpi: int = 100, compare: Sequence[RunData] = ()) -> Any:
    """The report figure of `run` (a matplotlib Figure with the `PANELS`).

    Runs in `compare` add their curves to the evaluation and augmentation panels (each labelled by its
    folder name), so that runs differing in one option can be read side by side.
    """
    require_matplotlib()
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=dpi, layout="constrained")
    grid = fig.add_gridspec(6, 2, height_ratios=[1, 1, 1, 1, 0.8, 1.25])
    spots = [grid[0, 0], grid[0, 1], grid[1, 0], grid[1, 1], grid[2, 0], grid[2, 1], grid[3, 0], grid[3, 1],
             grid[4, 0], grid[4, 1], grid[5, :]]
    axes = {title: fig.add_subplot(spot) for title, spot in zip(PANELS, spots, strict=True)}
    for title, ax in axes.items():
        ax.set_title(title, loc="left", fontsize=11)
    runs = [run, *compare]
    end = max(max(r.last_step for r in runs), run.planned_steps or 0, 1)
    _losses(axes[PANELS[0]], run)
    _accuracy(axes[PANELS[1]], run)
    _diversity(axes[PANELS[2]], run)
    _grad_norms(axes[PANELS[3]], run)
    _learning_rates(axes[PANELS[4]], run)
    _counters(axes[PANELS[5]], run)
    _evaluations(axes[PANELS[6]], runs)
    _augmentation(axes[PANELS[7]], runs)
    for title in TIMELINES:
        ax = axes[title]
        ax.set_xlim(0, end)
        ax.set_xlabel("step")
        _mark_events(ax, run)
    _warnings(axes[PANELS[8]], run, end)
    _class_shares(axes[PANELS[9]], run)
    _samples(axes[PANELS[10]], run, max_samples)
    fig.suptitle(_headline(run), fontsize=13, x=0.01, ha="left")
    return fig


def panel_titles(fig: Any) -> list[str]:
    """The titles of a report figure's panels (what a test checks)."""
    return [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]


def _headline(run: RunData) -> str:
    data = run.train.get("data") or "?"
    planned = f"/{run.planned_steps}" if run.planned_steps else ""
    warnings = len(run.warnings)
    text = f"{run.name} on {data}: step {run.last_step}{planned}, {run.status}"
    text += f"; {warnings} warning{'s' if warnings != 1 else ''}" if warnings else "; no warnings"
    return text


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.45", fontsize=10)
    ax.set_yticks([])


def _plot(ax: Any, xs: Sequence[int], ys: Sequence[float], label: str, **kwargs: Any) -> Any:
    marker = "o" if len(xs) <= 30 else None
    (line,) = ax.plot(xs, ys, label=label, marker=marker, markersize=3, linewidth=1.4, **kwargs)
    return line


def _losses(ax: Any, run: RunData) -> None:
    names = keys_of(run.metrics, "loss")
    if not names:
        return _empty(ax, "no losses logged yet")
    for name in names:
        _plot(ax, *series(run.metrics, name), label=name)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _accuracy(ax: Any, run: RunData) -> None:
    drawn = False
    for key, label in (("d_acc_real", "on real"), ("d_acc_fake", "on generated")):
        xs, ys = series(run.metrics, key)
        if xs:
            _plot(ax, xs, ys, label=label)
            drawn = True
    if not drawn:
        return _empty(ax, "no discriminator in this model")
    ax.axhline(0.5, color="0.6", linestyle=":", linewidth=1)
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _diversity(ax: Any, run: RunData) -> None:
    drawn = False
    for key, label in (("diversity_pixel", "pixels"), ("diversity_feature", "features"),
                       ("class_coverage", "class coverage"), ("class_acc", "class accuracy (conditional)")):
        xs, ys = series(run.health, key)
        if xs:
            _plot(ax, xs, ys, label=label)
            drawn = True
    if not drawn:
        xs, ys = series(run.health, "diversity_pixel_abs")
        if xs:
            _plot(ax, xs, ys, label="pixels (absolute)")
            drawn = True
    if not drawn:
        return _empty(ax, "no diversity checks (model without generate, or --diagnostics-every 0)")
    ax.axhline(1.0, color="0.4", linestyle=":", linewidth=1)
    ax.axhline(COLLAPSE_FRACTION, color=KIND_COLORS["mode_collapse"], linestyle=":", linewidth=1)
    guide = ax.get_yaxis_transform()
    ax.text(0.995, 1.0, "real data", transform=guide, ha="right", va="bottom", fontsize=8, color="0.4")
    ax.text(0.995, COLLAPSE_FRACTION, "collapse warning below", transform=guide, ha="right", va="bottom",
            fontsize=8, color=KIND_COLORS["mode_collapse"])
    ax.set_ylim(bottom=0, top=max(1.15, ax.get_ylim()[1]))
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _grad_norms(ax: Any, run: RunData) -> None:
    names = keys_of(run.health, nested="grad_norm")
    drawn = False
    for name in names:
        xs, ys = series(run.health, "grad_norm", name)
        keep = [(x, y) for x, y in zip(xs, ys) if y > 0 and math.isfinite(y)]
        if keep:
            _plot(ax, [x for x, _ in keep], [y for _, y in keep], label=name)
            drawn = True
    if not drawn:
        return _empty(ax, "no gradient norms recorded (--diagnostics-every 0?)")
    ax.set_yscale("log")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3, which="both")


def _learning_rates(ax: Any, run: RunData) -> None:
    names = keys_of(run.metrics, nested="lr")
    if not names:
        return _empty(ax, "no learning rates logged yet")
    for i, name in enumerate(names):  # dashes keep equal rates (G and D alike) visible
        _plot(ax, *series(run.metrics, "lr", name), label=name, linestyle=("-", "--", ":", "-.")[i % 4])
    values = [y for name in names for y in series(run.metrics, "lr", name)[1]]
    if values and min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3)) if ax.get_yscale() == "linear" else None
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _counters(ax: Any, run: RunData) -> None:
    names = keys_of(run.metrics, nested="counters")
    policy = run.train.get("balance", "none")
    d_steps = run.train.get("d_steps")
    ax.set_title(f"{PANELS[5]}", loc="left", fontsize=11)
    ax.set_title(f"--balance {policy}" + (f", --d-steps {d_steps}" if d_steps else ""), loc="right", fontsize=9,
                 color="0.35")
    if not names:
        return _empty(ax, f"none (balance policy: {policy})")
    for name in names:
        xs, ys = series(run.metrics, "counters", name)
        ax.step(xs, ys, where="post", label=f"{name} (total)", linewidth=1.4)
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _run_label(run: RunData, runs: Sequence[RunData], what: str) -> str:
    """`what`, prefixed by the run's folder name when several runs share a panel."""
    return f"{run.root.name}: {what}" if len(runs) > 1 else what


def _evaluations(ax: Any, runs: Sequence[RunData]) -> None:
    drawn = False
    for run in runs:
        records = [{"step": r["step"], "values": (r.get("eval") or {}).get("values")} for r in run.evals]
        for name in keys_of(records, nested="values"):
            if "/" in name:  # per-class parts (coverage/3, intra_fid/3) belong to the class shares panel
                continue
            xs, ys = series(records, "values", name)
            if xs:
                _plot(ax, xs, ys, label=_run_label(run, runs, name))
                drawn = True
    if not drawn:
        return _empty(ax, "no periodic evaluations (--eval-every 0)")
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _augmentation(ax: Any, runs: Sequence[RunData]) -> None:
    drawn, targets = False, set()
    for run in runs:
        xs, ys = series(run.metrics, "augment_p")
        if not xs:
            continue
        line = _plot(ax, xs, ys, label=_run_label(run, runs, "p"))
        xs, ys = series(run.metrics, "augment_rt")
        if xs:
            _plot(ax, xs, ys, label=_run_label(run, runs, "r_t (overfitting heuristic)"), linestyle=":",
                  color=line.get_color(), alpha=0.8)
        target = _ada_target(run)
        if target is not None:
            targets.add(target)
        drawn = True
    if not drawn:
        kinds = sorted({str(r.train.get("augment") or "none") for r in runs})
        return _empty(ax, f"no adaptive augmentation in this run (--augment {', '.join(kinds)})")
    guide = ax.get_yaxis_transform()
    for target in sorted(targets):
        ax.axhline(target, color="0.4", linestyle="--", linewidth=1)
        ax.text(0.995, target, f"r_t target {target:g}", transform=guide, ha="right", va="bottom", fontsize=8,
                color="0.4")
    low, high = ax.get_ylim()
    ax.set_ylim(min(low, -0.03), max(high, 1.03))
    ax.legend(fontsize=8, loc="best")
    ax.grid(alpha=0.3)


def _ada_target(run: RunData) -> float | None:
    """The r_t target of the run's `--augment ada` (None when p is fixed or the option does not parse)."""
    from ganzoo.augment.spec import parse_augment
    from ganzoo.errors import GanzooError

    try:
        spec = parse_augment(str(run.train.get("augment") or "none"))
    except GanzooError:
        return None
    return spec.target if spec.adaptive else None


def _mark_events(ax: Any, run: RunData) -> None:
    for event in run.events:
        kind = event.get("kind", "")
        ax.axvline(event["step"], color=KIND_COLORS.get(kind, "tab:red"), linestyle="--", linewidth=1, alpha=0.6)


def _warnings(ax: Any, run: RunData, end: int) -> None:
    events = [e for e in run.events if e.get("type") in ("warning", "stop")]
    ax.set_xlim(0, end)
    ax.set_xlabel("step")
    if not events:
        _empty(ax, "no warnings")
        return
    kinds = list(dict.fromkeys(e.get("kind", "?") for e in events))
    for e in events:
        kind = e.get("kind", "?")
        y = kinds.index(kind)
        ax.plot([e["step"]], [y], marker="v", markersize=9, color=KIND_COLORS.get(kind, "tab:red"))
        ax.annotate(f"{e['step']}", (e["step"], y), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_yticks(range(len(kinds)), [k.replace("_", " ") for k in kinds], fontsize=9)
    ax.set_ylim(-0.7, len(kinds) - 0.3)
    ax.grid(alpha=0.3, axis="x")


def _class_shares(ax: Any, run: RunData) -> None:
    from ganzoo.report.classes import draw_class_shares, run_class_shares

    found = run_class_shares(run)
    if found is None:
        return _empty(ax, "no class shares (data without a classifier, or no check yet)")
    draw_class_shares(ax, {found.source: found.shares}, reference=found.reference)


def pick_samples(samples: Sequence[tuple[int, Path]], k: int) -> list[tuple[int, Path]]:
    """At most `k` sample grids spread evenly over the run, always with the first and the last."""
    if len(samples) <= k:
        return list(samples)
    if k <= 1:
        return [samples[-1]]
    idx = sorted({round(i * (len(samples) - 1) / (k - 1)) for i in range(k)})
    return [samples[i] for i in idx]


def _samples(ax: Any, run: RunData, k: int) -> None:
    chosen = pick_samples(run.samples, k)
    ax.set_xticks([])
    ax.set_yticks([])
    if not chosen:
        return _empty(ax, "no sample grids yet")
    import numpy as np
    from PIL import Image

    height = 320
    tiles, centers, labels, x = [], [], [], 0
    gap = np.full((height, 12, 3), 255, dtype=np.uint8)
    for step, path in chosen:
        try:
            with Image.open(path) as img:
                rgb = img.convert("RGB")
                width = max(1, round(rgb.width * height / rgb.height))
                tile = np.asarray(rgb.resize((width, height), Image.Resampling.NEAREST))
        except (OSError, ValueError):  # a grid being written right now
            continue
        if tiles:
            tiles.append(gap)
            x += gap.shape[1]
        tiles.append(tile)
        centers.append(x + tile.shape[1] / 2)
        labels.append(f"step {step}")
        x += tile.shape[1]
    if not tiles:
        return _empty(ax, "no readable sample grids")
    ax.imshow(np.concatenate(tiles, axis=1), interpolation="nearest")
    ax.set_xticks(centers, labels, fontsize=9)
    for spine in ax.spines.values():
        spine.set_visible(False)
