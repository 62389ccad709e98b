"""A fixed part of a training set (`--subset N`): the limited-data setting of ADA's experiments.

The N items are spread evenly over the set (item i of the subset is item floor(i * len / N)), so the
choice depends on neither the seed nor the run, and a set ordered by class keeps its class balance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

from ganzoo.data.source import DataSource, KeyedDataset
from ganzoo.errors import ConfigError
from ganzoo.seeding import derive_seed


def spread_indices(total: int, n: int) -> list[int]:
    """`n` indices of `range(total)` spread evenly, in increasing order."""
    return [i * total // n for i in range(n)]


class SubsetDataset:
    """The items of `base` at `indices` (keys `(i, seed)` read `base[(indices[i], seed)]`)."""

    def __init__(self, base: KeyedDataset, indices: Sequence[int]) -> None:
        self.base = base
        self.indices = list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, key: tuple[int, int]) -> dict[str, Any]:
        index, seed = key
        return self.base[(self.indices[index], seed)]

    def get_batch(self, keys: Sequence[tuple[int, int]]) -> dict[str, Any]:
        mapped = [(self.indices[int(i)], s) for i, s in keys]
        get_batch = getattr(self.base, "get_batch", None)
        if get_batch is not None:
            return get_batch(mapped)
        items = [self.base[k] for k in mapped]
        return {name: torch.stack([item[name] for item in items]) for name in items[0]}


def training_subset(data: DataSource, n: int | None) -> DataSource:
    """`data` whose training set is `n` evenly spread items of its own (`data` itself when `n` is None)."""
    if n is None:
        return data
    total = len(data.train)
    if not 1 <= n <= total:
        raise ConfigError(f"--subset {n} is more than the {total} training items of {data.ref!r}; "
                          f"give at most {total}")
    if n == total:
        return data
    subset = SubsetDataset(data.train, spread_indices(total, n))
    fingerprint = f"{data.fingerprint}-subset{n}-{derive_seed(n, total) % 16**8:08x}" if data.fingerprint else ""
    description = f"{data.description} (training subset: {n} of {total})" if data.description else \
        f"training subset: {n} of {total}"
    return dataclasses.replace(data, train=subset, fingerprint=fingerprint, description=description)
