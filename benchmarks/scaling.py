"""How step time and memory grow with image size and batch size: `ganzoo bench` per point, plotted.

Every point runs in its own `ganzoo bench --json` process, so its peak RSS is that configuration's
alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def bench_point(name: str, *, image_size: int, batch_size: int, steps: int, extra: Sequence[str] = (),
                timeout: float = 3600) -> dict[str, Any]:
    """`ganzoo bench NAME --json --no-peak` at one (image size, batch size)."""
    args = [sys.executable, "-m", "ganzoo", "bench", name, "--json", "--no-peak", "--steps", str(steps),
            "--warmup", "1", "--image-size", str(image_size), "--batch-size", str(batch_size), *extra]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "120"})
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[2:])} failed: {proc.stderr.strip()[-2000:]}")
    data = json.loads(proc.stdout)
    return {
        "image_size": image_size,
        "batch_size": batch_size,
        "step_median": data["step_time"]["median"],
        "step_p90": data["step_time"]["p90"],
        "images_per_s": data["images_per_s"],
        "gflops": data["gflops"],
        "flops_per_step": data["flops_per_step"],
        "peak_rss_bytes": data["peak_rss_bytes"],
        "data_share": data["data_share"],
    }


def sweep(name: str, *, sizes: Sequence[int], size_batch: int, batches: Sequence[int], batch_size_px: int,
          steps: int, extra: Sequence[str] = (), progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Image sizes at batch `size_batch`, then batch sizes at `batch_size_px` pixels."""
    by_size, by_batch = [], []
    for size in sizes:
        by_size.append(bench_point(name, image_size=size, batch_size=size_batch, steps=steps, extra=extra))
        if progress:
            progress(f"scale {name} {size} px batch {size_batch}: {by_size[-1]['step_median']:.3f} s/step")
    for batch in batches:
        by_batch.append(bench_point(name, image_size=batch_size_px, batch_size=batch, steps=steps, extra=extra))
        if progress:
            progress(f"scale {name} {batch_size_px} px batch {batch}: {by_batch[-1]['step_median']:.3f} s/step")
    return {"model": name, "size_batch": size_batch, "batch_image_size": batch_size_px, "by_size": by_size,
            "by_batch": by_batch, "extra": list(extra)}


def plot(result: dict[str, Any], path: Path, title: str = "") -> Path:
    """Four panels: step time and peak RSS against image size, and against batch size (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FormatStrFormatter, NullFormatter

    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5), dpi=110)
    rows = (("by_size", "image_size", f"image size (px), batch {result['size_batch']}"),
            ("by_batch", "batch_size", f"batch size, {result['batch_image_size']} px"))
    for col, (key, field, label) in enumerate(rows):
        points = result[key]
        xs = [p[field] for p in points]
        ax = axes[0][col]
        ax.plot(xs, [p["step_median"] for p in points], "o-", label="median")
        ax.plot(xs, [p["step_p90"] for p in points], "x--", alpha=0.6, label="p90")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        times = [p["step_median"] for p in points]
        if max(times) > 10 * min(times):
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel("seconds per training step")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        for x, p in zip(xs, points):
            ax.annotate(f"{p['images_per_s']:.1f} img/s", (x, p["step_median"]), textcoords="offset points",
                        xytext=(4, -12), fontsize=7)
        ax = axes[1][col]
        ax.plot(xs, [p["peak_rss_bytes"] / 2**20 for p in points], "s-", color="tab:red")
        ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_ylabel("peak RSS (MiB)")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title or f"ganzoo {result['model']}: training step time and memory")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)
    return path
