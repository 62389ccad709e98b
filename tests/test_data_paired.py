"""Paired data: side-by-side AB folders, folders matched by name, digits-edges and the downloaded pix2pix sets."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data import DataOptions, resolve_data
from ganzoo.data.builtin import digit_edges
from ganzoo.data.catalog import PIX2PIX_SETS, cache_state, named_dir, pix2pix_urls
from ganzoo.data.named import archive_path
from ganzoo.data.stream import BatchStream
from ganzoo.download import recorded_sha256
from ganzoo.errors import DataError
from ganzoo.testing import run_cli

JITTER = DataOptions(image_size=16, load_size=20, random_crop=True, flip=True)


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)
    return tmp_path / "home"


def ab_image(rng: np.random.Generator, height: int = 18, width: int = 22) -> Image.Image:
    """A side-by-side image whose right half is the photographic negative of its left half."""
    a = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(np.concatenate([a, 255 - a], axis=1))


def ab_folder(root, splits=(("train", 6), ("val", 2))):
    rng = np.random.default_rng(0)
    for split, n in splits:
        (root / split).mkdir(parents=True)
        for i in range(n):
            ab_image(rng).save(root / split / f"{i}.png")
    return root


def test_side_by_side_pairs_get_one_crop_and_one_flip(tmp_path, monkeypatch):
    root = ab_folder(tmp_path / "ab")
    source = resolve_data(f"paired:{root}", JITTER)
    assert source.kind == "paired" and source.in_memory and source.channels == 3
    assert (len(source.train), len(source.test)) == (6, 2) and source.extras["counts"] == {"train": 6, "test": 2}
    flips = set()
    for seed in range(12):
        item = source.train[(1, seed)]
        assert item["a"].shape == item["b"].shape == (3, 16, 16)
        # B is A's negative: after the same resize, crop and flip their sum is zero everywhere (up to the
        # resize's rounding to whole grey levels, 1/127.5 in [-1, 1]).
        assert (item["a"] + item["b"]).abs().max() < 0.01
        flips.add(tuple(item["a"][0, 0, :2].tolist()))
    assert len(flips) > 2  # the crops and flips do vary with the key's seed
    held = source.test[(0, 5)]
    assert torch.equal(held["a"], source.test[(0, 9)]["a"])  # held-out pairs: centred, never flipped
    # Decoded per example (no memory budget) or preloaded: the same tensors for the same key.
    monkeypatch.setenv("GANZOO_DATA_CACHE_MB", "0")
    again = resolve_data(f"paired:{root}", JITTER)
    assert not again.in_memory and again.fingerprint == source.fingerprint
    for key in ((0, 1), (5, 77)):
        assert torch.equal(again.train[key]["b"], source.train[key]["b"])
    assert resolve_data(f"paired:{root}", DataOptions(image_size=16)).fingerprint != source.fingerprint


def test_the_batch_stream_over_pairs_is_deterministic_and_resumable(tmp_path):
    source = resolve_data(f"paired:{ab_folder(tmp_path / 'ab')}", JITTER)

    def stream():
        return BatchStream(source.train, 2, seed=3, in_memory=True)

    straight = stream()
    batches = [next(straight) for _ in range(5)]  # crosses an epoch boundary (3 batches per epoch)
    resumed = stream()
    for _ in range(2):
        next(resumed)
    state = resumed.state_dict()
    restarted = stream()
    restarted.load_state_dict(state)
    for expected in batches[2:]:
        got = next(restarted)
        assert torch.equal(got["a"], expected["a"]) and torch.equal(got["b"], expected["b"])


def test_two_folders_pair_by_name(tmp_path, capsys):
    rng = np.random.default_rng(1)
    a, b = tmp_path / "edges", tmp_path / "photos"
    for folder in (a / "sub", b / "sub"):
        folder.mkdir(parents=True)
    for name in ("1", "2", "sub/3"):
        pixels = rng.integers(0, 256, (12, 12), dtype=np.uint8)
        Image.fromarray(pixels).save(a / f"{name}.png")
        Image.fromarray(255 - pixels).save(b / f"{name}.png" if name != "2" else b / f"{name}.bmp")
    Image.fromarray(np.zeros((12, 12), dtype=np.uint8)).save(a / "lonely.png")
    source = resolve_data(f"paired:a={a},b={b}", DataOptions(image_size=8, load_size=10, random_crop=True,
                                                                flip=True, channels=1))
    assert source.kind == "paired" and len(source.train) == 3 and source.test is None
    err = capsys.readouterr().err
    assert err.count("Warning:") == 1 and "left out 1 image without a partner" in err and "lonely.png" in err
    for i in range(3):
        item = source.train[(i, 4)]
        assert item["a"].shape == (1, 8, 8) and (item["a"] + item["b"]).abs().max() < 0.01

    # The trainA/trainB layout under paired:PATH pairs the same way.
    layout = tmp_path / "layout"
    for folder in ("trainA", "trainB", "testA", "testB"):
        (layout / folder).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(layout / folder / f"{i}.jpg")
    source = resolve_data(f"paired:{layout}", DataOptions(image_size=12))
    assert (len(source.train), len(source.test)) == (2, 2)


def test_paired_data_errors_are_one_line(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    Image.new("RGB", (8, 8)).save(a / "x.png")
    Image.new("RGB", (8, 8)).save(b / "y.png")
    cases = {
        f"paired:a={a},b={b}": "no image in",
        f"paired:a={a}": "needs both a=PATH and b=PATH",
        f"paired:{tmp_path / 'missing'}": "does not exist",
        "paired:": "paired needs a folder",
    }
    for ref, message in cases.items():
        with pytest.raises(DataError, match=message) as info:
            resolve_data(ref, DataOptions(image_size=8))
        assert "\n" not in str(info.value)
    Image.new("RGB", (8, 8)).save(a / "x.jpg")
    with pytest.raises(DataError, match="two images named x"):
        resolve_data(f"paired:a={a},b={b}", DataOptions(image_size=8))
    small = ab_folder(tmp_path / "small", splits=(("train", 2),))
    with pytest.raises(DataError, match="smaller than the 32x32 crop"):
        resolve_data(f"paired:{small}", DataOptions(image_size=32, resize="none"))


def test_halves_of_different_sizes_are_skipped_without_a_square_resize(tmp_path, capsys):
    root = tmp_path / "odd"
    root.mkdir()
    rng = np.random.default_rng(2)
    ab_image(rng, 16, 16).save(root / "even.png")
    Image.fromarray(rng.integers(0, 256, (16, 33, 3), dtype=np.uint8)).save(root / "odd.png")  # 16 + 17 columns
    source = resolve_data(f"paired:{root}", DataOptions(image_size=16, resize="none"))
    assert len(source.train) == 1
    assert "skipped 1 unreadable pair" in capsys.readouterr().err
    square = resolve_data(f"paired:{root}", DataOptions(image_size=16))  # resized to squares, both pair up
    assert len(square.train) == 2


def test_digits_edges_pairs_and_the_edge_map():
    source = resolve_data("digits-edges", DataOptions(image_size=32))
    assert source.kind == "paired" and (len(source.train), len(source.test)) == (901, 896)
    assert len(source.extras["test_labels"]) == 896
    batch = source.test.get_batch([(i, 0) for i in range(5)])
    assert torch.equal(batch["a"], digit_edges(batch["b"]))
    flat = -torch.ones(1, 1, 6, 6)
    assert torch.equal(digit_edges(flat), flat)  # no edges in a flat image
    dot = flat.clone()
    dot[0, 0, 2, 2] = 1.0
    edges = digit_edges(dot)
    assert int((edges > 0).sum()) == 9 and edges[0, 0, 0, 0] == -1  # a bright pixel: its 3 x 3 neighbourhood
    three = resolve_data("digits-edges", DataOptions(image_size=16, channels=3))
    item = three.train[(0, 0)]
    assert item["a"].shape == (3, 16, 16) and torch.equal(item["a"][0], item["a"][2])


def facades_tar(path, top="facades", splits=(("train", 4), ("val", 2), ("test", 1))):
    rng = np.random.default_rng(3)
    with tarfile.open(path, "w:gz") as tf:
        for split, n in splits:
            for i in range(n):
                buffer = io.BytesIO()
                ab_image(rng, 20, 20).save(buffer, "JPEG", quality=95)
                info = tarfile.TarInfo(f"{top}/{split}/{i + 1}.jpg")
                info.size = len(buffer.getvalue())
                tf.addfile(info, io.BytesIO(buffer.getvalue()))
    data = path.read_bytes()
    return path, hashlib.sha256(data).hexdigest(), len(data)


def register_named(spec):
    import types

    from ganzoo.plugins import Plugins
    from ganzoo.registry import Registry, set_registry

    plugins = Plugins()
    plugins.register(types.SimpleNamespace(ganzoo_register_datasets=lambda: [spec]), "test-plugin")
    set_registry(Registry(plugins))


def test_named_paired_archive_is_trusted_on_first_use_and_read_as_pairs(tmp_path, home):
    from ganzoo.registry import get_registry, set_registry
    from ganzoo.specs import DatasetSpec

    (tmp_path / "served").mkdir()
    path, sha, size = facades_tar(tmp_path / "served" / "facades.tar.gz")
    spec = DatasetSpec("mini-facades", "a miniature facades", "paired", "ganzoo.data.named:load", size_bytes=size,
                       urls=(path.as_uri(),), sha256=None)
    previous = get_registry()
    try:
        register_named(spec)
        source = resolve_data("mini-facades", JITTER)
        assert source.kind == "paired" and (len(source.train), len(source.test)) == (4, 1)  # test/ before val/
        item = source.train[(2, 8)]
        assert item["a"].shape == (3, 16, 16) and (item["a"] + item["b"]).abs().mean() < 0.1  # JPEG noise only
        marker = json.loads((named_dir("mini-facades") / ".ganzoo-complete.json").read_text())
        assert marker["counts"] == {"train": 4, "test": 1, "val": 2} and marker["root"] == "facades"
        assert recorded_sha256(path.as_uri()) == sha  # no published hash: the first download's is kept
        assert not archive_path(spec).exists() and cache_state(spec) == "cached"

        bad, bad_sha, bad_size = facades_tar(tmp_path / "served" / "bad.tar.gz", splits=(("val", 2),))
        broken = DatasetSpec("no-train", "no train folder", "paired", "ganzoo.data.named:load", size_bytes=bad_size,
                             urls=(bad.as_uri(),), sha256=bad_sha)
        register_named(broken)
        with pytest.raises(DataError, match="does not have the paired layout"):
            resolve_data("no-train")
        assert not (named_dir("no-train") / "files").exists()
    finally:
        set_registry(previous)


def test_pix2pix_records():
    from ganzoo.registry import get_registry

    assert set(PIX2PIX_SETS) == {"facades-paired", "cityscapes-paired", "maps-paired", "edges2shoes",
                                 "edges2handbags", "night2day"}
    facades = get_registry().dataset("facades-paired")
    assert facades.kind == "paired" and facades.size_bytes == 30168306 and facades.sha256 is None
    assert facades.urls == ("http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz",
                            "https://people.eecs.berkeley.edu/~tinghuiz/projects/pix2pix/datasets/facades.tar.gz")
    for name, (archive, size, _, _) in PIX2PIX_SETS.items():
        record = get_registry().dataset(name)
        assert record.urls == pix2pix_urls(archive) and record.size_bytes == size and record.kind == "paired"
    assert get_registry().dataset("facades").kind == "unpaired"  # CycleGAN's archive keeps its name


def test_data_info_on_a_paired_folder(tmp_path, home):
    root = ab_folder(tmp_path / "ab")
    result = run_cli("data", "info", f"paired:{root}", "--image-size", "16", "--json", env={"GANZOO_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["kind"] == "paired" and info["train_split"] == {"examples": 6} and info["test_split"] == {"examples": 2}


def test_the_large_pix2pix_archives_fit_the_extraction_caps(tmp_path, home, monkeypatch):
    from dataclasses import replace

    from ganzoo.data import named
    from ganzoo.data.archive_limits import ArchiveLimits
    from ganzoo.registry import get_registry, set_registry
    from ganzoo.specs import DatasetSpec

    # edges2shoes (about 50,000 pairs) and edges2handbags (about 138,800) hold more members than the
    # default cap of 50,000; their download is 2.0 and 8.0 GB, within the default byte caps.
    defaults = ArchiveLimits()
    for name, members in (("edges2shoes", 50_100), ("edges2handbags", 138_900)):
        limits = named.archive_limits(get_registry().dataset(name))
        assert limits.max_members >= members > defaults.max_members
        assert limits.byte_budget(8_100_000_000)[0] >= 8_400_000_000  # images barely compress
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_MEMBERS", "10")  # the user's own cap wins
    assert named.archive_limits(get_registry().dataset("edges2shoes")).max_members == 10
    monkeypatch.delenv("GANZOO_ARCHIVE_MAX_MEMBERS")

    # Through ensure(): a record known to hold more members than the cap extracts; others are refused.
    (tmp_path / "served").mkdir()
    path, sha, size = facades_tar(tmp_path / "served" / "facades.tar.gz")  # 7 images + 4 folders
    monkeypatch.setattr(ArchiveLimits, "from_env", classmethod(lambda cls: replace(defaults, max_members=5)))
    previous = get_registry()
    try:
        for name, known, ok in (("capped", 0, False), ("known", 20, True)):
            monkeypatch.setitem(named.ARCHIVE_MEMBERS, name, known)
            spec = DatasetSpec(name, "mini", "paired", "ganzoo.data.named:load", size_bytes=size,
                               urls=(path.as_uri(),), sha256=sha)
            register_named(spec)
            if ok:
                assert len(resolve_data(name, JITTER).train) == 4
            else:
                with pytest.raises(DataError, match="members"):
                    resolve_data(name, JITTER)
    finally:
        set_registry(previous)
