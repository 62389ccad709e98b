"""Throughput of `ganzoo sample` and `ganzoo translate`, end to end and broken down.

Both commands are run as a user runs them (a subprocess, timed from launch to exit, so Python start
and imports are included). In-process timings then split the work: generating (or translating)
with the loaded networks in inference mode, for a few batch sizes and both memory layouts, and
writing the PNG files.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from ganzoo.bench.session import resolve_run


def train_checkpoint(name: str, out: Path, *, overrides: Mapping[str, Any], steps: int = 1,
                     batch_size: int = 4, data: str | None = None) -> Path:
    """A real training checkpoint of `name` after `steps` steps (weights barely trained: speed only)."""
    from ganzoo.engine.run import train

    train_flags: dict[str, Any] = {"steps": steps, "batch_size": batch_size, "diagnostics_every": 0,
                                   "sample_every": 10**6}
    if data is not None:
        train_flags["data"] = data
    run, _ = resolve_run(name, overrides=overrides, train_overrides=train_flags)
    train(run, out=out, resume=False, force=True, progress=False)
    return out / "checkpoints" / "last.safetensors"


def run_cli(args: Sequence[str], *, timeout: float = 1800) -> float:
    """Run `python -m ganzoo ARGS`; return its wall time; raise with its stderr when it fails."""
    env = {**os.environ, "COLUMNS": "120"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"ganzoo {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return seconds


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sample(checkpoint: Path, n: int, *, batch_sizes: Sequence[int] = (64, 256), cli_batch: int = 256) -> dict[str, Any]:
    """`ganzoo sample CKPT --n N --out DIR` (one PNG per image), and where its time goes."""
    from ganzoo.engine.images import save_png
    from ganzoo.engine.inference import load

    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-sample-") as tmp:
        cli = run_cli(["sample", str(checkpoint), "--n", str(n), "--batch-size", str(cli_batch),
                       "--out", str(Path(tmp) / "images")])
        written = len(list((Path(tmp) / "images").glob("*.png")))
        if written != n:
            raise RuntimeError(f"ganzoo sample wrote {written} images, not {n}")
        generation: dict[str, float] = {}
        for channels_last in (False, True):
            loaded = load(str(checkpoint), channels_last=channels_last)
            for batch in batch_sizes:
                loaded.generate(min(n, batch), batch_size=batch)  # warm-up at this batch size
                seconds = _timed(lambda batch=batch, loaded=loaded: loaded.generate(n, batch_size=batch))
                generation[f"batch {batch}{', channels-last' if channels_last else ''}"] = n / seconds
        images = loaded.generate(n, batch_size=max(batch_sizes))
        out = Path(tmp) / "png"
        out.mkdir()
        png_seconds = _timed(lambda: [save_png(img, out / f"{i:05d}.png") for i, img in enumerate(images)])
    best = max(generation, key=generation.get)
    return {"n": n, "cli_seconds": cli, "cli_images_per_s": n / cli, "cli_batch_size": cli_batch,
            "generate_images_per_s": generation, "best": best, "png_images_per_s": n / png_seconds,
            "image_size": int(images.shape[-1])}


def translate(checkpoint: Path, inputs: Path, *, batch_sizes: Sequence[int] = (1, 8, 16),
              cli_batch: int = 8) -> dict[str, Any]:
    """`ganzoo translate CKPT --input DIR --out DIR`, and in-process translation rates."""
    from ganzoo.cli.infer_cmds import collect_images, read_image
    from ganzoo.engine.inference import load

    files = collect_images((str(inputs),))
    n = len(files)
    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-translate-") as tmp:
        cli = run_cli(["translate", str(checkpoint), "--input", str(inputs), "--batch-size", str(cli_batch),
                       "--out", str(Path(tmp) / "out")])
        written = len(list((Path(tmp) / "out").glob("*.png")))
        if written != n:
            raise RuntimeError(f"ganzoo translate wrote {written} images, not {n}")
    rates: dict[str, float] = {}
    size = 0
    for channels_last in ((False, True) if batch_sizes else ()):
        loaded = load(str(checkpoint), channels_last=channels_last)
        config = loaded.run_config.model
        size = int(getattr(config, "image_size", 256))
        channels = int(getattr(config, "channels", None) or 3)
        images = torch.cat([read_image(p, channels, size)[0] for p in files])
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        for batch in batch_sizes:
            def run(batch: int = batch, loaded: Any = loaded, images: torch.Tensor = images) -> None:
                for start in range(0, n, batch):
                    loaded.translate(images[start:start + batch])

            loaded.translate(images[:batch])  # warm-up at this batch size
            rates[f"batch {batch}{', channels-last' if channels_last else ''}"] = n / _timed(run)
    best = max(rates, key=rates.get) if rates else None
    return {"n": n, "image_size": size, "cli_seconds": cli, "cli_images_per_s": n / cli, "cli_batch_size": cli_batch,
            "translate_images_per_s": rates, "best": best}
