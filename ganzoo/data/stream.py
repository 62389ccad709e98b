"""An endless, deterministic, resumable stream of batches.

Epoch `e` visits the training set in the order of a permutation seeded by `(seed, e)`; position `p`
of that epoch gets the augmentation seed `(seed, e, p)`. The stream's state is `(epoch, offset)`:
the number of examples consumed in the current epoch, counted over all processes, so a checkpoint
resumes exactly, and can even be resumed with a different number of processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from ganzoo.data.source import KeyedDataset
from ganzoo.seeding import derive_seed, derive_seeds

_PERMUTATION_STREAM = 0x5EED0001
_AUGMENT_STREAM = 0x5EED0002


def epoch_permutation(n: int, seed: int, epoch: int, shuffle: bool = True) -> torch.Tensor:
    """The order in which epoch `epoch` visits `n` examples."""
    if not shuffle:
        return torch.arange(n)
    generator = torch.Generator().manual_seed(derive_seed(_PERMUTATION_STREAM, seed, epoch))
    return torch.randperm(n, generator=generator)


def example_seed(seed: int, epoch: int, position: int) -> int:
    """The augmentation seed of the example at `position` of epoch `epoch`."""
    return derive_seed(_AUGMENT_STREAM, seed, epoch, position)


def example_seeds(seed: int, epoch: int, positions: range) -> list[int]:
    """`example_seed` of every position in `positions`, computed together."""
    return derive_seeds((_AUGMENT_STREAM, seed, epoch), positions)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack a list of item dicts into a batch dict."""
    out: dict[str, Any] = {}
    for key in items[0]:
        values = [item[key] for item in items]
        if isinstance(values[0], torch.Tensor):
            out[key] = torch.stack(values)
        elif isinstance(values[0], (int, float)):
            out[key] = torch.tensor(values)
        else:
            out[key] = values
    return out


class _KeyBatches(Sampler[list[tuple[int, int]]]):
    """Yields the key lists of this process's batches, from a starting position, forever."""

    def __init__(self, plan: BatchPlan, epoch: int, offset: int) -> None:
        self.plan = plan
        self.epoch = epoch
        self.offset = offset

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        epoch, offset = self.epoch, self.offset
        while True:
            keys, epoch, offset = self.plan.batch_keys(epoch, offset)
            yield keys

    def __len__(self) -> int:  # pragma: no cover - endless; DataLoader only needs it for len()
        return 2**31


class BatchPlan:
    """Which examples each batch holds, as a pure function of (epoch, offset)."""

    def __init__(self, size: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
                 shuffle: bool = True) -> None:
        if size < batch_size * world_size:
            from ganzoo.errors import DataError

            raise DataError(
                f"the data set has {size} examples, fewer than one batch of {batch_size * world_size}; "
                "lower --batch-size or add data"
            )
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self._perm_epoch = -1
        self._perm: torch.Tensor | None = None

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.world_size

    @property
    def steps_per_epoch(self) -> int:
        return self.size // self.global_batch

    def normalise(self, epoch: int, offset: int) -> tuple[int, int]:
        """Move to the next epoch when fewer than a global batch remains (drop_last)."""
        if offset + self.global_batch > self.size:
            return epoch + 1, 0
        return epoch, offset

    def permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._perm_epoch:
            self._perm = epoch_permutation(self.size, self.seed, epoch, self.shuffle)
            self._perm_epoch = epoch
        assert self._perm is not None
        return self._perm

    def batch_keys(self, epoch: int, offset: int) -> tuple[list[tuple[int, int]], int, int]:
        """This process's keys for the batch at (epoch, offset), and the position after it."""
        epoch, offset = self.normalise(epoch, offset)
        perm = self.permutation(epoch)
        start = offset + self.rank * self.batch_size
        positions = range(start, start + self.batch_size)
        keys = list(zip(perm[start:start + self.batch_size].tolist(), example_seeds(self.seed, epoch, positions)))
        return keys, epoch, offset + self.global_batch


class BatchStream:
    """Batches for training: deterministic order, position in the state, optional worker processes."""

    def __init__(
        self,
        dataset: KeyedDataset,
        batch_size: int,
        *,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int | None = None,
        device: torch.device | str = "cpu",
        in_memory: bool = False,
        shuffle: bool = True,
    ) -> None:
        self.dataset = dataset
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.device = torch.device(device)
        self.in_memory = in_memory
        self.shuffle = shuffle
        if num_workers is None:
            num_workers = 0 if in_memory else max(1, min(4, (os.cpu_count() or 2) // 2))
        self.num_workers = num_workers
        self.epoch = 0
        self.offset = 0
        self.batches_served = 0
        self._iterator: Iterator[dict[str, Any]] | None = None
        self._loader: DataLoader | None = None
        self.plan = BatchPlan(len(dataset), batch_size, seed, rank, world_size, shuffle)

    # -- position ----------------------------------------------------------------------------
    @property
    def batch_size(self) -> int:
        return self.plan.batch_size

    @property
    def steps_per_epoch(self) -> int:
        return self.plan.steps_per_epoch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "offset": self.offset, "batch_size": self.batch_size,
                "batches_served": self.batches_served}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state["epoch"])
        self.offset = int(state["offset"])
        self.batches_served = int(state.get("batches_served", 0))
        self._close()

    def set_batch_size(self, batch_size: int) -> None:
        """Change the batch size from the next batch on (e.g. a new ProGAN resolution)."""
        if batch_size != self.plan.batch_size:
            self.plan = BatchPlan(len(self.dataset), batch_size, self.seed, self.rank, self.world_size, self.shuffle)
            self._close()

    # -- iteration ---------------------------------------------------------------------------
    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._iterator is None:
            self._iterator = self._start()
        batch = next(self._iterator)
        _, self.epoch, self.offset = self._advance()
        self.batches_served += 1
        return self._to_device(batch)

    def _advance(self) -> tuple[None, int, int]:
        epoch, offset = self.plan.normalise(self.epoch, self.offset)
        return None, epoch, offset + self.plan.global_batch

    @property
    def next_epoch(self) -> int:
        """The epoch the next batch belongs to."""
        return self.plan.normalise(self.epoch, self.offset)[0]

    def _start(self) -> Iterator[dict[str, Any]]:
        sampler = _KeyBatches(self.plan, self.epoch, self.offset)
        get_batch = getattr(self.dataset, "get_batch", None)
        if self.num_workers == 0 and get_batch is not None:
            return (get_batch(keys) for keys in sampler)
        if self.num_workers == 0:
            return (collate([self.dataset[k] for k in keys]) for keys in sampler)
        self._loader = DataLoader(
            self.dataset,  # type: ignore[arg-type]
            batch_sampler=sampler,
            num_workers=self.num_workers,
            collate_fn=collate,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
            prefetch_factor=2,
            generator=torch.Generator().manual_seed(derive_seed(self.seed, self.rank)),
        )
        return iter(self._loader)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        if self.device.type == "cpu":
            return batch
        return {k: v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                for k, v in batch.items()}

    def _close(self) -> None:
        self._iterator = None
        self._loader = None

    def close(self) -> None:
        self._close()
