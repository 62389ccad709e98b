"""Built-in data: digits, the unpaired digits with their true mappings, and the two photographs."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from ganzoo.data import DataOptions, resolve_data
from ganzoo.data.builtin import gray_to_heat, heat_to_gray, invert
from ganzoo.data.digits_split import digits_arrays
from ganzoo.data.stream import BatchStream
from ganzoo.errors import DataError


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))


def _keys(n, seed=0):
    return [(i, 1000 * seed + i) for i in range(n)]


def test_digits_shapes_ranges_labels():
    source = resolve_data("digits")
    assert source.kind == "labelled" and source.channels == 1 and source.image_size == 32
    assert source.num_classes == 10 and list(source.class_names) == [str(d) for d in range(10)]
    assert len(source.train) == 901 and len(source.test) == 896
    batch = source.train.get_batch(_keys(901))
    images, labels = batch["image"], batch["label"]
    assert images.shape == (901, 1, 32, 32) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and sorted(labels.unique().tolist()) == list(range(10))
    assert images.min().item() == -1.0 and images.max().item() <= 1.0 and images.max().item() > 0.9
    # Ink bright on a dark background: the border is background, the mean is dark.
    assert images[:, :, :, 0].mean().item() < -0.99 and images.mean().item() < -0.3
    # The labels are those of the fixed training half, in order.
    _, expected = digits_arrays("train")
    assert labels.tolist() == expected.tolist()
    item = source.train[(7, 123)]
    assert item["label"].shape == () and item["label"].dtype == torch.int64
    assert torch.equal(item["image"], images[7])


def test_digits_upsampling_follows_the_8x8_originals():
    source = resolve_data("digits", DataOptions(image_size=8))
    originals, _ = digits_arrays("train")
    got = source.train.get_batch(_keys(10))["image"][:, 0]
    assert torch.allclose(got, torch.from_numpy(originals[:10]) * 2 - 1)
    big = resolve_data("digits", DataOptions(image_size=64)).train.get_batch(_keys(10))["image"]
    pooled = torch.nn.functional.avg_pool2d(big, 8)[:, 0]
    correlation = torch.corrcoef(torch.stack([pooled.flatten(), got.flatten()]))[0, 1].item()
    assert correlation > 0.95  # bilinear upsampling blurs, but keeps the digit where it was


def test_digits_three_channels_replicate_and_test_half_is_disjoint():
    gray = resolve_data("digits").train.get_batch(_keys(5))["image"]
    rgb = resolve_data("digits", DataOptions(channels=3)).train.get_batch(_keys(5))["image"]
    assert rgb.shape == (5, 3, 32, 32) and all(torch.equal(rgb[:, c], gray[:, 0]) for c in range(3))
    source = resolve_data("digits", DataOptions(image_size=8))
    train = {bytes(x.numpy().tobytes()) for x in source.train.get_batch(_keys(901))["image"]}
    test = {bytes(x.numpy().tobytes()) for x in source.test.get_batch(_keys(896))["image"]}
    assert len(train & test) < 20  # scikit-learn's digits contain a few exact duplicates, nothing more
    with pytest.raises(DataError, match="1 or 3 channels"):
        resolve_data("digits", DataOptions(channels=2))


def test_get_batch_equals_stacked_items_and_keys_are_deterministic():
    for ref in ("digits", "digits-invert", "digits-colorize"):
        source = resolve_data(ref)
        keys = [(3, 11), (0, 99), (len(source.train) - 1, 5), (3, 11)]
        batch = source.train.get_batch(keys)
        for name, value in batch.items():
            stacked = torch.stack([source.train[k][name] for k in keys])
            assert torch.equal(value, stacked), (ref, name)
        assert torch.equal(batch[next(iter(batch))][0], batch[next(iter(batch))][3])
        again = resolve_data(ref).train.get_batch(keys)
        assert all(torch.equal(batch[n], again[n]) for n in batch)
        assert source.fingerprint == resolve_data(ref).fingerprint


def test_digits_invert_epoch_and_disjoint_domains():
    source = resolve_data("digits-invert")
    train = source.train
    n_a, n_b = len(train.a), len(train.b)
    assert source.kind == "unpaired" and n_a + n_b == 901
    assert len(train) == max(n_a, n_b)
    idx_a, idx_b = source.extras["train_a_indices"], source.extras["train_b_indices"]
    assert len(set(idx_a.tolist()) & set(idx_b.tolist())) == 0
    # Every class is in both domains.
    assert set(source.extras["train_a_labels"].tolist()) == set(source.extras["train_b_labels"].tolist()) == set(range(10))
    # Content check: B is the inversion of the training images at B's positions, and of none of A's.
    all_train = resolve_data("digits").train.get_batch(_keys(901))["image"]
    a = train.a.get_batch(_keys(n_a))["image"]
    b = train.b.get_batch(_keys(n_b))["image"]
    assert torch.equal(a, all_train[torch.from_numpy(idx_a)])
    assert torch.equal(b, -all_train[torch.from_numpy(idx_b)])
    a_bytes = {x.numpy().tobytes() for x in a}
    overlap = sum((-y).numpy().tobytes() in a_bytes for y in b)
    assert overlap <= 3  # only the handful of exact duplicate digits in scikit-learn's data


def test_unpaired_items_pair_a_by_index_and_b_by_seed():
    source = resolve_data("digits-invert")
    train = source.train
    n_a = len(train.a)
    a_all = train.a.get_batch(_keys(n_a))["image"]
    partners = set()
    for seed in range(40):
        item = train[(n_a - 1, seed)]
        assert torch.equal(item["a"], a_all[n_a - 1])
        partners.add(train.partner(seed))
        assert torch.equal(item["b"], train.b[(train.partner(seed), 0)]["image"])
    assert len(partners) > 30  # the partner really is drawn from the seed


def test_true_mappings_of_the_test_sets():
    inv = resolve_data("digits-invert")
    test = inv.test.get_batch(_keys(len(inv.test)))
    assert len(inv.test) == 896
    assert torch.equal(inv.extras["true_a2b"](test["a"]), test["b"])
    assert torch.equal(inv.extras["true_b2a"](test["b"]), test["a"])
    col = resolve_data("digits-colorize")
    assert col.channels == 3
    test = col.test.get_batch(_keys(len(col.test)))
    assert test["a"].shape == test["b"].shape == (896, 3, 32, 32)
    assert torch.allclose(col.extras["true_a2b"](test["a"]), test["b"], atol=1e-6)
    assert torch.allclose(col.extras["true_b2a"](test["b"]), test["a"], atol=1e-6)
    # A is gray (equal channels); B is coloured: red leads green leads blue.
    assert torch.equal(test["a"][:, 0], test["a"][:, 1])
    b = test["b"]
    assert torch.all(b[:, 0] >= b[:, 1]) and torch.all(b[:, 1] >= b[:, 2]) and (b[:, 0] - b[:, 2]).max() > 1.5
    # The mappings are picklable (they travel to worker processes and into metric code).
    for fn in (invert, gray_to_heat, heat_to_gray, col.extras["true_a2b"]):
        assert pickle.loads(pickle.dumps(fn)) is fn
    with pytest.raises(DataError, match="3 channels"):
        resolve_data("digits-colorize", DataOptions(channels=1))


def test_heat_mapping_values():
    v = torch.tensor([0.0, 1 / 6, 0.5, 5 / 6, 1.0]).view(1, 1, 1, 5) * 2 - 1
    rgb = (gray_to_heat(v) + 1) / 2
    expected = torch.tensor([[0, 0, 0], [0.5, 0, 0], [1, 0.5, 0], [1, 1, 0.5], [1, 1, 1]]).T.reshape(1, 3, 1, 5)
    assert torch.allclose(rgb, expected, atol=1e-6)
    assert torch.allclose(heat_to_gray(gray_to_heat(v)), v.expand(1, 3, 1, 5), atol=1e-6)


def test_unpaired_digits_through_worker_processes_match_the_in_process_batches():
    source = resolve_data("digits-invert")
    in_process = BatchStream(source.train, 16, seed=3, num_workers=0, in_memory=True)
    workers = BatchStream(source.train, 16, seed=3, num_workers=2)
    try:
        for _ in range(5):
            x, y = next(in_process), next(workers)
            assert torch.equal(x["a"], y["a"]) and torch.equal(x["b"], y["b"])
    finally:
        workers.close()


def test_photos_content_style_and_crops():
    source = resolve_data("photos", DataOptions(image_size=64))
    assert source.kind == "style" and source.channels == 3
    assert source.extras["content_names"] == ["china"] and source.extras["style_names"] == ["flower"]
    content, style = source.extras["content_images"][0], source.extras["style_images"][0]
    assert content.shape == style.shape == (3, 427, 640)
    assert content.min() >= -1 and content.max() <= 1 and content.std() > 0.2
    assert not torch.equal(content, style)
    crops = source.train.get_batch(_keys(8))["image"]
    assert crops.shape == (8, 3, 64, 64)
    assert len({c.numpy().tobytes() for c in crops}) == 8
    # Each crop is a window of the content photograph.
    full = content.numpy()
    windows = np.lib.stride_tricks.sliding_window_view(full, (3, 64, 64))[0]
    for crop in crops[:3].numpy():
        hits = np.argwhere(np.all(windows[:, :, 0, :2, :2] == crop[0, :2, :2], axis=(-1, -2)))
        assert any(np.array_equal(windows[y, x], crop) for y, x in hits)
    with pytest.raises(DataError, match="3 channels"):
        resolve_data("photos", DataOptions(channels=1))
