"""`--subset N`: train on a fixed, evenly spread part of the training set."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganzoo.data import resolve_data
from ganzoo.data.subset import SubsetDataset, spread_indices, training_subset
from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.errors import ConfigError
from ganzoo.testing import smoke_train

TINY = {"g_width": 8, "d_width": 8, "image_size": 16}
QUIET = {"diagnostics_every": 0, "sample_every": 1000, "log_every": 1, "batch_size": 50}


def test_spread_indices_are_distinct_sorted_and_cover_the_set() -> None:
    for total, n in [(901, 500), (10, 10), (10, 1), (7, 3)]:
        got = spread_indices(total, n)
        assert len(got) == n == len(set(got)) and got == sorted(got) and got[0] == 0 and got[-1] < total
        assert max(b - a for a, b in zip([0, *got], [*got, total])) <= -(-total // n)


def test_a_digits_subset_keeps_every_class_and_the_items_themselves() -> None:
    data = resolve_data("digits")
    part = training_subset(data, 500)
    assert len(part.train) == 500 and part.info()["train_size"] == 500
    assert part.fingerprint != data.fingerprint and part.test is data.test
    keys = [(i, 7) for i in range(500)]
    batch = part.train.get_batch(keys)
    counts = torch.bincount(batch["label"], minlength=10)
    assert counts.min() >= 40  # about 50 of each class
    index = spread_indices(len(data.train), 500)[123]
    assert torch.equal(part.train[(123, 7)]["image"], data.train[(index, 7)]["image"])
    assert torch.equal(batch["image"][123], data.train[(index, 7)]["image"])
    assert training_subset(data, None) is data and training_subset(data, len(data.train)) is data


def test_items_without_get_batch_are_stacked() -> None:
    class Items:
        def __len__(self) -> int:
            return 4

        def __getitem__(self, key):
            return {"image": torch.full((1, 2, 2), float(key[0]))}

    batch = SubsetDataset(Items(), [1, 3]).get_batch([(1, 0), (0, 0)])
    assert batch["image"][:, 0, 0, 0].tolist() == [3.0, 1.0]


def test_training_on_a_subset_and_resuming_with_another_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = smoke_train("dcgan", run, steps=10, overrides=TINY, train_overrides={**QUIET, "subset": 100})
    assert result.epochs == 5  # 100 images in batches of 50: two steps an epoch
    header = load_checkpoint(run / "checkpoints/last.safetensors")
    assert header.meta["data_info"]["train_size"] == 100
    with pytest.raises(ConfigError, match="subset=100"):
        smoke_train("dcgan", run, steps=12, overrides=TINY, train_overrides={**QUIET, "subset": 200})
    with pytest.raises(ConfigError, match="more than the 901 training items"):
        smoke_train("dcgan", tmp_path / "big", steps=1, overrides=TINY, train_overrides={**QUIET, "subset": 5000})
