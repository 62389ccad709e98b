"""Reference features of a data set split, cached under `GANZOO_HOME/stats/` by what determines them.

The cache key hashes the data set's fingerprint, the split and image key, the reference images' size
and channels, how many images were used, the extractor, its weights' sha256 and its resizer. A cached
file holds the features (for KID, precision/recall), their mean and covariance (for FID) and the
labels (for intra-class FID).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.atomic import atomic_open
from ganzoo.errors import DataError
from ganzoo.metrics.context import FeatureSet

STATS_FORMAT = 1
MAX_REFERENCE_IMAGES = 50_000
"""Largest reference sample taken when `n_ref` is not given (the usual FID-50k reference size)."""
SUBSET_SEED = 0x5EED_F1D
"""Seed of the fixed subset drawn when a split has more images than the reference count."""
LOAD_BATCH = 256
MAX_CACHED_LOGIT_CLASSES = 100

_MEMO: dict[str, FeatureSet] = {}
_HITS = {"memory": 0, "disk": 0, "computed": 0}


def stats_dir() -> Path:
    """`GANZOO_HOME/stats`, where reference statistics are cached."""
    from ganzoo.paths import ganzoo_home

    return Path(ganzoo_home()) / "stats"


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round images in [-1, 1] to the 256 levels of an 8-bit picture (what a saved PNG would hold)."""
    return torch.round((images.clamp(-1, 1) + 1) * 127.5) / 127.5 - 1


def split_dataset(data: Any, split: str) -> Any:
    if split == "train":
        return data.train
    if split == "test":
        if data.test is None:
            raise DataError(f"data {data.ref!r} has no held-out (test) split; use --split train")
        return data.test
    raise DataError(f"reference split must be 'train' or 'test', got {split!r}")


def reference_indices(size: int, count: int | None) -> np.ndarray:
    """The indices used as reference: all of them, or a fixed random subset of `count`."""
    n = min(size, count if count else MAX_REFERENCE_IMAGES)
    if n >= size:
        return np.arange(size)
    return np.sort(np.random.default_rng(SUBSET_SEED).choice(size, n, replace=False))


def load_images(dataset: Any, indices: np.ndarray, image_key: str = "image") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images (and labels, if the items have them) of `indices`, each taken with seed 0."""
    keys = [(int(i), 0) for i in indices]
    get_batch = getattr(dataset, "get_batch", None)
    if callable(get_batch):
        batch = get_batch(keys)
    else:
        items = [dataset[k] for k in keys]
        batch = {name: torch.stack([torch.as_tensor(it[name]) for it in items]) for name in items[0]}
    if image_key not in batch:
        raise DataError(f"the reference data has no {image_key!r} images (it has {', '.join(sorted(batch))})")
    labels = batch.get("label")
    return batch[image_key], (torch.as_tensor(labels).long().view(-1) if labels is not None else None)


def _probe(dataset: Any, index: int, image_key: str) -> tuple[int, int, int]:
    images, _ = load_images(dataset, np.array([index]), image_key)
    _, c, h, w = images.shape
    return int(c), int(h), int(w)


def cache_fields(data: Any, extractor: Any, *, split: str, image_key: str, indices: np.ndarray,
                 shape: tuple[int, int, int]) -> dict[str, Any]:
    """Everything the reference features depend on (hashed into the cache key)."""
    proto = extractor.protocol()
    return {
        "stats_format": STATS_FORMAT,
        "data_fingerprint": data.fingerprint,
        "split_fingerprint": getattr(split_dataset(data, split), "fingerprint", "") or "",
        "split": split,
        "image_key": image_key,
        "channels": shape[0],
        "image_size": [shape[1], shape[2]],
        "count": len(indices),
        "subset": "all" if len(indices) == 0 or indices[-1] == len(indices) - 1 else f"seed {SUBSET_SEED}",
        "extractor": proto["extractor"],
        "extractor_weights_sha256": proto["extractor_weights_sha256"],
        "resizer": proto["resizer"],
        "extractor_input_size": proto["extractor_input_size"],
        "quantize": "uint8",
    }


def cache_key(fields: dict[str, Any]) -> str:
    blob = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _save(path: Path, fs: FeatureSet, fields: dict[str, Any]) -> None:
    mu, sigma = fs.stats()
    arrays: dict[str, np.ndarray] = {"features": fs.features, "mu": mu, "sigma": sigma}
    if fs.labels is not None:
        arrays["labels"] = fs.labels
    if fs.logits is not None and fs.logits.shape[1] <= MAX_CACHED_LOGIT_CLASSES:
        arrays["logits"] = fs.logits
    with atomic_open(path, "wb") as fh:
        np.savez(fh, **arrays)
    with atomic_open(path.with_suffix(".json"), "w") as fh:
        json.dump(fields, fh, indent=2)


def _load(path: Path) -> FeatureSet | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            fs = FeatureSet(z["features"], z.get("logits", None),
                            z.get("labels", None))
            fs._stats = (z["mu"], z["sigma"])
        return fs
    except (OSError, KeyError, ValueError):
        return None  # unreadable cache: recompute


def reference_features(
    data: Any,
    extractor: Any,
    *,
    split: str = "train",
    count: int | None = None,
    image_key: str = "image",
    progress: Callable[[int, int], None] | None = None,
) -> tuple[FeatureSet, dict[str, Any]]:
    """(features of the reference images, the fields that identify them), from memory, disk or computed.

    `progress(done, total)` is called while features are computed.
    """
    dataset = split_dataset(data, split)
    if len(dataset) < 2:
        raise DataError(f"data {data.ref!r} split {split!r} has {len(dataset)} images; need at least 2")
    indices = reference_indices(len(dataset), count)
    fields = cache_fields(data, extractor, split=split, image_key=image_key, indices=indices,
                          shape=_probe(dataset, int(indices[0]), image_key))
    key = cache_key(fields)
    if key in _MEMO:
        _HITS["memory"] += 1
        return _MEMO[key], fields
    path = stats_dir() / f"{key}.npz" if data.fingerprint else None
    if path is not None and path.is_file():
        fs = _load(path)
        if fs is not None:
            _HITS["disk"] += 1
            _MEMO[key] = fs
            return fs, fields
    feats, logits, labels = [], [], []
    for start in range(0, len(indices), LOAD_BATCH):
        images, lab = load_images(dataset, indices[start:start + LOAD_BATCH], image_key)
        f, lg = extractor.extract(quantize(images.float()))
        feats.append(f)
        if lg is not None:
            logits.append(lg)
        if lab is not None:
            labels.append(lab.numpy())
        if progress is not None:
            progress(min(start + LOAD_BATCH, len(indices)), len(indices))
    fs = FeatureSet(
        np.concatenate(feats).astype(np.float32),
        np.concatenate(logits).astype(np.float32) if logits else None,
        np.concatenate(labels).astype(np.int64) if labels else None,
    )
    _HITS["computed"] += 1
    if path is not None:
        _save(path, fs, fields)
    _MEMO[key] = fs
    return fs, fields


def cache_hits() -> dict[str, int]:
    """How often reference features came from memory, from disk, or were computed (this process)."""
    return dict(_HITS)


def clear_memory_cache() -> None:
    _MEMO.clear()
