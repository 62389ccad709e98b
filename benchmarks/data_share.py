"""How much of a training step waits for data, with the built-in data and with image folders.

The folders are written into a temporary directory: crops of scikit-learn's two sample photographs
saved as JPEG files, larger than the model's images so the pipeline decodes, resizes and (for
CycleGAN) random-crops and flips them as it does for a user's folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ganzoo.bench.session import EngineSession
from ganzoo.bench.stats import TimeStats


def _photos() -> list[np.ndarray]:
    from ganzoo.data.sklearn_files import load_sample_images

    return [np.asarray(img, dtype=np.uint8) for img in load_sample_images()[0]]


def write_photo_crops(folder: Path, count: int, side: int, seed: int = 0) -> Path:
    """`count` JPEG crops of `side` x `side` pixels from the sample photographs, in `folder`."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    photos = _photos()
    for i in range(count):
        photo = photos[i % len(photos)]
        height, width = photo.shape[:2]
        top = int(rng.integers(0, height - side + 1))
        left = int(rng.integers(0, width - side + 1))
        Image.fromarray(photo[top:top + side, left:left + side]).save(folder / f"img{i:04d}.jpg", quality=90)
    return folder


def write_unpaired_folder(root: Path, count: int, side: int) -> Path:
    """The CycleGAN layout root/trainA, root/trainB with `count` crops each."""
    write_photo_crops(root / "trainA", count, side, seed=1)
    write_photo_crops(root / "trainB", count, side, seed=2)
    return root


def measure(name: str, data: str, *, overrides: Mapping[str, Any], batch_size: int, steps: int,
            warmup: int = 2) -> dict[str, Any]:
    """Train `warmup` + `steps` steps of `name` on `data` and report the share of time spent in next_batch()."""
    session = EngineSession(name, overrides=overrides, train_overrides={"data": data, "batch_size": batch_size})
    try:
        session.run(warmup)
        records = session.run(steps)
    finally:
        session.close()
    total = sum(r.seconds for r in records)
    return {
        "model": name,
        "data": data,
        "in_memory": bool(session.data.in_memory),
        "workers": session.trainer.stream.num_workers,
        "batch_size": batch_size,
        "image_size": overrides.get("image_size"),
        "steps": len(records),
        "data_share": sum(r.data_seconds for r in records) / total if total > 0 else 0.0,
        "data_seconds": TimeStats.of([r.data_seconds for r in records]).to_json(),
        "step_time": TimeStats.of([r.seconds for r in records]).to_json(),
    }
