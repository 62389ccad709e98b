"""Keyed data sets over tensors in memory, and the unpaired pairing of two data sets.

All of them follow `ganzoo.data.source.KeyedDataset`: `ds[(index, seed)]` returns a dict of tensors
and every random choice is drawn from a generator seeded with `seed`. `get_batch(keys)` returns
exactly what stacking the items would.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ganzoo.seeding import derive_seed

Key = tuple[int, int]

_PARTNER_STREAM = 0xB0B
_A_STREAM = 0xA
_B_STREAM = 0xB


def to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (0..255) or float images already in [-1, 1] -> float32 in [-1, 1]."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(127.5).sub_(1.0)
    return images.to(torch.float32, copy=True)


def _check_index(index: int, size: int) -> int:
    if not 0 <= index < size:
        raise IndexError(f"index {index} out of range for a data set of {size} examples")
    return index


class TensorImages:
    """Images (N x C x H x W, uint8 or float in [-1, 1]) and optional int64 labels, all in memory."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None = None, *, fingerprint: str = "") -> None:
        if images.ndim != 4:
            raise ValueError(f"images must be N x C x H x W, got shape {tuple(images.shape)}")
        if labels is not None and len(labels) != len(images):
            raise ValueError("images and labels differ in length")
        self.images = images.contiguous()
        self.labels = labels.to(torch.int64) if labels is not None else None
        self.fingerprint = fingerprint

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        index = _check_index(int(key[0]), len(self))
        item = {"image": to_unit_range(self.images[index])}
        if self.labels is not None:
            item["label"] = self.labels[index].clone()
        return item

    def get_batch(self, keys: Sequence[Key]) -> dict[str, torch.Tensor]:
        index = torch.tensor([k[0] for k in keys], dtype=torch.long)
        if len(index):
            _check_index(int(index.min()), len(self))
            _check_index(int(index.max()), len(self))
        batch = {"image": to_unit_range(self.images.index_select(0, index))}
        if self.labels is not None:
            batch["label"] = self.labels.index_select(0, index)
        return batch


class AlignedPairs:
    """Aligned two-domain examples `{"a": a[i], "b": b[i]}` (e.g. a held-out set with its true mapping)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor, *, fingerprint: str = "") -> None:
        if len(a) != len(b):
            raise ValueError("aligned pairs need as many a as b images")
        self.a = TensorImages(a)
        self.b = TensorImages(b)
        self.fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        return {"a": self.a[key]["image"], "b": self.b[key]["image"]}

    def get_batch(self, keys: Sequence[Key]) -> dict[str, torch.Tensor]:
        return {"a": self.a.get_batch(keys)["image"], "b": self.b.get_batch(keys)["image"]}


class UnpairedDataset:
    """Two domains without correspondence, the way the reference CycleGAN pairs them.

    An epoch has max(|A|, |B|) examples; example `i` is A[i % |A|] with B[j], where j is drawn from
    the key's seed. A's and B's own random choices (crop, flip) use seeds derived from the key's seed.
    """

    def __init__(self, a, b, *, fingerprint: str = "") -> None:
        if len(a) == 0 or len(b) == 0:
            raise ValueError("both domains of an unpaired data set need examples")
        self.a = a
        self.b = b
        self.fingerprint = fingerprint

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def partner(self, seed: int) -> int:
        """The index into B paired with any A example under augmentation seed `seed`."""
        generator = torch.Generator().manual_seed(derive_seed(_PARTNER_STREAM, seed))
        return int(torch.randint(len(self.b), (1,), generator=generator))

    def _keys(self, key: Key) -> tuple[Key, Key]:
        index, seed = _check_index(int(key[0]), len(self)), int(key[1])
        return (index % len(self.a), derive_seed(_A_STREAM, seed)), (self.partner(seed), derive_seed(_B_STREAM, seed))

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        key_a, key_b = self._keys(key)
        return {"a": self.a[key_a]["image"], "b": self.b[key_b]["image"]}

    def get_batch(self, keys: Sequence[Key]) -> dict[str, torch.Tensor]:
        pairs = [self._keys(k) for k in keys]
        keys_a = [p[0] for p in pairs]
        keys_b = [p[1] for p in pairs]
        return {"a": _batch(self.a, keys_a)["image"], "b": _batch(self.b, keys_b)["image"]}


def _batch(dataset, keys: Sequence[Key]) -> dict[str, torch.Tensor]:
    get_batch = getattr(dataset, "get_batch", None)
    if get_batch is not None:
        return get_batch(keys)
    items = [dataset[k] for k in keys]
    return {name: torch.stack([item[name] for item in items]) for name in items[0]}
