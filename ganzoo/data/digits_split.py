"""The fixed split of scikit-learn's digits into a training half and a held-out half.

Every part of ganzoo that uses the built-in digits (training, metrics, quality tests) takes its
halves from here, so "held out" always means the same 896 images.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

SPLITS = ("train", "test")


@lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    from ganzoo.data.sklearn_files import load_digits

    raw, target = load_digits()
    images = (raw.astype(np.float32) / 16.0).clip(0.0, 1.0)  # 1797 x 8 x 8, ink is bright
    return images, target.astype(np.int64)


@lru_cache(maxsize=2)
def split_indices(split: str) -> np.ndarray:
    """Indices into `load_digits()` of the `train` (901) or `test` (896) half, stratified by class."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    _, labels = _load()
    rng = np.random.default_rng(20151119)  # fixed forever: changing it changes every published figure
    train, test = [], []
    for cls in range(10):
        members = np.flatnonzero(labels == cls)
        members = members[rng.permutation(len(members))]
        half = (len(members) + 1) // 2
        train.extend(members[:half])
        test.extend(members[half:])
    chosen = np.array(sorted(train if split == "train" else test), dtype=np.int64)
    return chosen


def digits_arrays(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """(images N x 8 x 8 float32 in [0, 1], labels N int64) of one half."""
    images, labels = _load()
    idx = split_indices(split)
    return images[idx].copy(), labels[idx].copy()
