"""What a resolved `--data` reference is: a `DataSource` with indexable, deterministic data sets.

Every data set here is indexed by a *key* `(index, seed)`: `index` picks the example and `seed` (an
integer derived from the run seed, the epoch and the position) drives every random choice made for it
(random crop, flip, the partner image of an unpaired pair). So the same key always gives the same
tensors, whichever worker process loads it, and a resumed run sees exactly the batches the straight
run would have seen.

Items are dicts of tensors: `{"image": CxHxW float in [-1, 1]}`, plus `"label"` (int64) for labelled
data, or `{"a": ..., "b": ...}` for two-domain data (unpaired, or aligned pairs), or
`{"content": ..., "style": ...}` for style data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the records are torch-free, so `ganzoo.data` stays light to import
    import torch


@dataclass(frozen=True)
class DataOptions:
    """How a model wants its images: derived from the model config (`image_size`, `channels`, ...)."""

    image_size: int | None = None
    channels: int | None = None
    load_size: int | None = None
    random_crop: bool = False
    flip: bool = False
    split: str = "train"
    resize: str = "square"
    """Folder images: "square" resizes to load_size (else image_size) squared, like the reference
    CycleGAN; "shorter" scales the shorter side to it, keeping the aspect ratio; "none" only crops."""
    preload: bool = True
    """Decode (and, within the memory budget, cache) folder images when the reference is resolved;
    False only reads image headers (fast; what `ganzoo data info` uses)."""


@dataclass(frozen=True)
class DataRef:
    """A parsed `--data` reference: `name`, `name:argument`, a path, or `a=PATH,b=PATH`."""

    text: str
    name: str
    argument: str | None = None


@runtime_checkable
class KeyedDataset(Protocol):
    """A map-style data set indexed by `(index, seed)` keys."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: tuple[int, int]) -> dict[str, torch.Tensor]: ...


@dataclass
class DataSource:
    """A resolved data reference: what it holds and how to get its examples.

    `train` is the training set; `test` (optional) holds held-out examples, used for previews (e.g.
    CycleGAN's fixed translation grid) and metrics. `in_memory` data sets may offer `get_batch(keys)`,
    which the batch stream uses instead of worker processes.
    """

    ref: str
    kind: str
    train: KeyedDataset
    test: KeyedDataset | None = None
    channels: int = 3
    image_size: int | None = None
    num_classes: int | None = None
    class_names: Sequence[str] = ()
    in_memory: bool = False
    fingerprint: str = ""
    description: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    def info(self) -> dict[str, Any]:
        """A JSON-able summary for run folders, checkpoint headers and `ganzoo data info`."""
        return {
            "ref": self.ref,
            "kind": self.kind,
            "train_size": len(self.train),
            "test_size": len(self.test) if self.test is not None else 0,
            "channels": self.channels,
            "image_size": self.image_size,
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "fingerprint": self.fingerprint,
            "description": self.description,
        }
