"""Image folders: layouts, conversion, resize/crop/flip, caching, determinism and every bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data import DataOptions, parse_ref, resolve_data
from ganzoo.data.stream import BatchStream
from ganzoo.errors import DataError, UnknownNameError


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANZOO_DATA_CACHE_MB", raising=False)
    return tmp_path / "home"


def write_images(folder, n, size=(48, 40), mode="RGB", fmt="png", seed=0, prefix="img"):
    """`n` random images of `size` (width, height) in `mode`; returns their arrays (RGB/L uint8)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = []
    for i in range(n):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        array = rng.integers(0, 256, shape, dtype=np.uint8)
        image = Image.fromarray(array, "L" if mode == "L" else "RGB")
        if mode not in ("L", "RGB"):
            image = image.convert(mode)
        image.save(folder / f"{prefix}_{i:03d}.{fmt}")
        arrays.append(array)
    return arrays


def run_cli(*args, env_home):
    env = dict(os.environ, GANZOO_HOME=str(env_home))
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def windows(array, size):
    """Every size x size window of an H x W x C array, as C x size x size float tensors in [-1, 1]."""
    height, width = array.shape[:2]
    for top in range(height - size + 1):
        for left in range(width - size + 1):
            window = array[top:top + size, left:left + size]
            yield torch.from_numpy(np.ascontiguousarray(window)).permute(2, 0, 1).float() / 127.5 - 1


# -- layouts and conversion ---------------------------------------------------------------------
def test_plain_folder_recursive_rgb_and_gray_inputs(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 3, mode="RGB")
    write_images(root / "sub", 2, mode="L", prefix="gray")
    write_images(root / "sub" / "deeper", 1, mode="P", prefix="pal", fmt="gif")
    (root / "notes.txt").write_text("not an image")
    for ref in (str(root), f"folder:{root}"):
        source = resolve_data(ref, DataOptions(image_size=16))
        assert source.kind == "images" and source.channels == 3 and len(source.train) == 6
        assert source.test is None and source.num_classes is None and source.in_memory
        batch = source.train.get_batch([(i, 0) for i in range(6)])
        assert batch["image"].shape == (6, 3, 16, 16) and set(batch) == {"image"}
        assert batch["image"].min() >= -1 and batch["image"].max() <= 1
    # A grayscale file becomes three equal channels.
    gray_index = [p.name for p in source.train.files].index("gray_000.png")
    gray = source.train[(gray_index, 0)]["image"]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    one = resolve_data(str(root), DataOptions(image_size=16, channels=1))
    assert one.channels == 1 and one.train[(0, 0)]["image"].shape == (1, 16, 16)


def test_class_subfolders_become_labels(tmp_path):
    root = tmp_path / "pets"
    write_images(root / "dog", 2)
    write_images(root / "cat", 3, seed=1)
    write_images(root / "cat" / "more", 1, seed=2)
    (root / "empty").mkdir()
    source = resolve_data(str(root), DataOptions(image_size=8))
    assert source.kind == "labelled" and list(source.class_names) == ["cat", "dog"] and source.num_classes == 2
    labels = source.train.get_batch([(i, 0) for i in range(len(source.train))])["label"]
    assert labels.tolist() == [0, 0, 0, 0, 1, 1] and labels.dtype == torch.int64


def test_train_and_test_subfolders(tmp_path):
    root = tmp_path / "split"
    write_images(root / "train" / "a", 2)
    write_images(root / "train" / "b", 2, seed=1)
    write_images(root / "test" / "a", 1, seed=2)
    write_images(root / "test" / "b", 1, seed=3)
    source = resolve_data(str(root), DataOptions(image_size=8, random_crop=True, flip=True))
    assert len(source.train) == 4 and len(source.test) == 2 and list(source.class_names) == ["a", "b"]
    assert source.test.crop.random_crop is False and source.test.crop.flip is False
    assert source.extras["test_fingerprint"] and source.extras["test_fingerprint"] != source.fingerprint


# -- resize, crop, flip -------------------------------------------------------------------------
def test_square_resize_then_random_crop_and_flip_like_the_reference(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 1, size=(30, 20))
    options = DataOptions(image_size=8, load_size=12, random_crop=True, flip=True)
    source = resolve_data(str(root), options)
    resized = np.array(Image.open(root / "img_000.png").convert("RGB").resize((12, 12), Image.BICUBIC))
    candidates = list(windows(resized, 8))
    flipped = [w.flip(-1) for w in candidates]
    seen_windows, seen_flips = set(), set()
    for seed in range(60):
        item = source.train[(0, seed)]["image"]
        plain = [i for i, w in enumerate(candidates) if torch.equal(w, item)]
        mirrored = [i for i, w in enumerate(flipped) if torch.equal(w, item)]
        assert plain or mirrored, "an item must be a (possibly mirrored) window of the resized image"
        seen_windows.update(plain + mirrored)
        seen_flips.add(bool(mirrored) and not plain)
        assert torch.equal(item, source.train[(0, seed)]["image"])  # same key, same tensor
    assert len(seen_windows) > 10 and seen_flips == {True, False}


def test_center_crop_without_random_crop(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 1, size=(20, 20))
    source = resolve_data(str(root), DataOptions(image_size=6, load_size=10))
    resized = np.array(Image.open(root / "img_000.png").resize((10, 10), Image.BICUBIC))
    expected = torch.from_numpy(resized[2:8, 2:8].copy()).permute(2, 0, 1).float() / 127.5 - 1
    for seed in (0, 1, 2):
        assert torch.equal(source.train[(0, seed)]["image"], expected)


def test_no_resize_crops_full_resolution_and_refuses_small_images(tmp_path):
    root = tmp_path / "big"
    arrays = write_images(root, 2, size=(40, 30))
    source = resolve_data(str(root), DataOptions(image_size=16, random_crop=True, resize="none"))
    item = source.train[(0, 5)]["image"]
    assert any(torch.equal(item, w) for w in windows(arrays[0], 16))
    write_images(root, 1, size=(12, 40), prefix="thin")
    with pytest.raises(DataError) as info:
        resolve_data(str(root), DataOptions(image_size=16, resize="none"))
    assert "1 of 3 images" in str(info.value) and "smaller than the 16x16 crop" in str(info.value)
    assert "thin_000.png is 12x40" in str(info.value)


def test_shorter_side_resize_keeps_the_aspect_ratio(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 1, size=(40, 20))
    source = resolve_data(str(root), DataOptions(load_size=10, resize="shorter", preload=True))
    assert source.train[(0, 0)]["image"].shape == (3, 10, 20)


# -- determinism, caching, workers --------------------------------------------------------------
def test_cached_and_uncached_items_agree_and_workers_agree(tmp_path, monkeypatch):
    root = tmp_path / "imgs"
    write_images(root, 12, size=(24, 24))
    options = DataOptions(image_size=16, load_size=20, random_crop=True, flip=True)
    cached = resolve_data(str(root), options)
    assert cached.in_memory and cached.train.cached
    monkeypatch.setenv("GANZOO_DATA_CACHE_MB", "0")
    lazy = resolve_data(str(root), options)
    assert not lazy.in_memory and not lazy.train.cached
    keys = [(i % 12, 77 + i) for i in range(20)]
    assert torch.equal(cached.train.get_batch(keys)["image"], lazy.train.get_batch(keys)["image"])
    assert cached.fingerprint == lazy.fingerprint
    in_process = BatchStream(cached.train, 4, seed=9, num_workers=0, in_memory=True)
    with_workers = BatchStream(lazy.train, 4, seed=9, num_workers=2)
    try:
        for _ in range(6):  # two epochs: every batch identical whichever process decoded it
            assert torch.equal(next(in_process)["image"], next(with_workers)["image"])
    finally:
        with_workers.close()


def test_fingerprint_tracks_content_and_transform(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 3)
    first = resolve_data(str(root), DataOptions(image_size=8)).fingerprint
    assert resolve_data(str(root), DataOptions(image_size=8)).fingerprint == first
    assert resolve_data(str(root), DataOptions(image_size=16)).fingerprint != first
    assert resolve_data(str(root), DataOptions(image_size=8, flip=True)).fingerprint != first
    write_images(root, 1, seed=5, prefix="new")
    assert resolve_data(str(root), DataOptions(image_size=8)).fingerprint != first


# -- unreadable images --------------------------------------------------------------------------
def _add_broken(root):
    (root / "garbage.jpg").write_bytes(b"this is not a jpeg")
    good = root / "img_000.png"
    Image.open(good).save(root / "full.jpg", quality=95)
    data = (root / "full.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "full.jpg").unlink()


def test_unreadable_images_are_skipped_with_one_warning(tmp_path, capfd):
    root = tmp_path / "imgs"
    write_images(root, 5, size=(64, 64))
    _add_broken(root)
    source = resolve_data(str(root), DataOptions(image_size=16))
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Warning: skipped 2 unreadable images of 7")
    assert len(source.train) == 5 and "garbage.jpg" not in [p.name for p in source.train.files]


def test_nothing_readable_is_an_error(tmp_path):
    root = tmp_path / "imgs"
    root.mkdir()
    (root / "a.jpg").write_bytes(b"nope")
    (root / "b.png").write_bytes(b"nope either")
    with pytest.raises(DataError, match="none of the 2 images"):
        resolve_data(str(root), DataOptions(image_size=8))


# -- unpaired folders ---------------------------------------------------------------------------
def test_unpaired_cyclegan_layout_and_pairs_syntax(tmp_path):
    root = tmp_path / "h2z"
    write_images(root / "trainA", 3, mode="L")
    write_images(root / "trainB", 5, seed=1)
    write_images(root / "testA", 2, seed=2)
    write_images(root / "testB", 1, seed=3)
    options = DataOptions(image_size=16, load_size=20, random_crop=True, flip=True)
    source = resolve_data(str(root), options)
    assert source.kind == "unpaired" and source.channels == 3
    assert len(source.train) == 5 and len(source.test) == 2  # max(|A|, |B|)
    item = source.train[(4, 1)]
    assert item["a"].shape == item["b"].shape == (3, 16, 16)
    assert torch.equal(item["a"][0], item["a"][1])  # grayscale A converted to RGB
    assert source.test.a.crop.random_crop is False
    same = resolve_data(f"unpaired:{root}", options)
    assert same.fingerprint == source.fingerprint
    pairs = resolve_data(f"a={root / 'trainA'},b={root / 'trainB'}", options)
    assert len(pairs.train) == 5 and pairs.test is None
    four = resolve_data(f"a={root / 'trainA'},b={root / 'trainB'},test_a={root / 'testA'},test_b={root / 'testB'}",
                        options)
    assert len(four.test) == 2


@pytest.mark.parametrize("ref,message", [
    ("a={A}", "needs both a=PATH and b=PATH"),
    ("a={A},c={A}", "unknown key 'c'"),
    ("a={A},b={A},test_a={A}", "only one of test_a= and test_b="),
    ("a={A},b={tmp}/missing", "does not exist"),
])
def test_bad_pairs(tmp_path, ref, message):
    write_images(tmp_path / "A", 1)
    with pytest.raises(DataError, match=message):
        resolve_data(ref.format(A=tmp_path / "A", tmp=tmp_path), DataOptions(image_size=8))


def test_reference_parsing():
    assert parse_ref("digits").name == "digits" and parse_ref("digits").argument is None
    assert (parse_ref("folder:/x/y").name, parse_ref("folder:/x/y").argument) == ("folder", "/x/y")
    assert parse_ref("a=/x,b=/y").name == "unpaired"
    assert parse_ref("./photos").name == "folder" and parse_ref("C:\\imgs").name == "folder"
    assert parse_ref("ganzoo-core:digits").name == "ganzoo-core"
    with pytest.raises(DataError, match="empty"):
        parse_ref("  ")


def test_plugin_prefix_and_unknown_names():
    assert resolve_data("ganzoo-core:digits").kind == "labelled"
    with pytest.raises(UnknownNameError, match="Did you mean: horse2zebra"):
        resolve_data("horse2zebr")
    with pytest.raises(UnknownNameError, match="unknown data scheme 'fodler'"):
        resolve_data("fodler:/tmp")
    with pytest.raises(DataError, match="takes no argument"):
        resolve_data("digits:7")


# -- bad input on the command line: one line, no traceback, exit code 1 ------------------------
def _layout(tmp_path, case):
    if case == "missing":
        return tmp_path / "nope"
    path = tmp_path / case
    path.mkdir()
    if case == "no-images":
        (path / "readme.txt").write_text("hi")
    elif case == "unreadable":
        (path / "x.jpg").write_bytes(b"junk")
    elif case == "wrong-unpaired":
        write_images(path / "trainA", 1)
        write_images(path / "testB", 1)
    elif case == "empty-domain":
        write_images(path / "trainA", 1)
        (path / "trainB").mkdir()
    elif case == "a-file":
        path.rmdir()
        path.write_text("x")
    return path


@pytest.mark.parametrize("case,expected", [
    ("missing", "does not exist"),
    ("empty", "is empty"),
    ("no-images", "has no images"),
    ("unreadable", "none of the 1 images"),
    ("wrong-unpaired", "but no trainB"),
    ("empty-domain", "trainB is empty"),
    ("a-file", "is a file, not a folder"),
])
def test_bad_folders_on_the_command_line(tmp_path, case, expected):
    path = _layout(tmp_path, case)
    result = run_cli("data", "info", str(path), env_home=tmp_path / "home")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_too_small_images_on_the_command_line(tmp_path):
    root = tmp_path / "small"
    write_images(root, 2, size=(10, 10))
    env = dict(os.environ, GANZOO_HOME=str(tmp_path / "home"))
    code = ("import sys; from ganzoo.data import DataOptions, resolve_data; from ganzoo.cli import _fail\n"
            "from ganzoo.errors import GanzooError\n"
            f"try:\n    resolve_data({str(root)!r}, DataOptions(image_size=16, resize='none'))\n"
            "except GanzooError as e:\n    _fail(e, e.message, e.exit_code)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "smaller than the 16x16 crop" in result.stderr


def test_data_sets_pickle_for_spawned_workers(tmp_path, monkeypatch):
    import pickle

    root = tmp_path / "h2z"
    write_images(root / "trainA", 2)
    write_images(root / "trainB", 3, seed=1)
    options = DataOptions(image_size=8, load_size=10, random_crop=True, flip=True)
    for budget in ("2048", "0"):  # cached arrays and lazily decoded files
        monkeypatch.setenv("GANZOO_DATA_CACHE_MB", budget)
        train = resolve_data(str(root), options).train
        copy = pickle.loads(pickle.dumps(train))
        for key in [(0, 1), (2, 99)]:
            assert all(torch.equal(train[key][n], copy[key][n]) for n in ("a", "b"))


# -- symbolic links: each real folder once ------------------------------------------------------
def test_a_self_link_does_not_multiply_the_images(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 3)
    (root / "a").symlink_to(".")  # counted 3 images as 123 (41 levels until ELOOP)
    data = resolve_data(str(root), DataOptions(image_size=8))
    assert len(data.train) == 3


def test_link_loops_do_not_hang_data_info(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 3)
    (root / "a").symlink_to(".")
    (root / "b").symlink_to(".")  # two loops: 2**40 paths to walk without the visited set
    (root / "sub").mkdir()
    (root / "sub" / "up").symlink_to("..")
    result = run_cli("data", "info", str(root), "--json", env_home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert '"train_size": 3' in result.stdout


def test_links_to_real_folders_are_still_followed_once(tmp_path):
    write_images(tmp_path / "elsewhere", 2, seed=1)
    root = tmp_path / "imgs"
    write_images(root / "own", 3)
    (root / "linked").symlink_to(tmp_path / "elsewhere")
    (root / "linked-again").symlink_to(tmp_path / "elsewhere")
    assert len(resolve_data(str(root), DataOptions(image_size=8)).train) == 5


def test_a_class_folder_linking_back_to_its_parent_does_not_borrow_other_classes(tmp_path):
    root = tmp_path / "classes"
    write_images(root / "cats", 2)
    write_images(root / "dogs", 3, seed=1)
    (root / "cats" / "up").symlink_to("..")
    data = resolve_data(str(root), DataOptions(image_size=8))
    assert data.class_names == ("cats", "dogs") and len(data.train) == 5


# -- content fingerprints -----------------------------------------------------------------------
def test_a_plain_copy_of_a_folder_has_the_same_fingerprint(tmp_path):
    root = tmp_path / "imgs"
    write_images(root / "cats", 3)
    write_images(root / "dogs", 2, seed=1)
    first = resolve_data(str(root), DataOptions(image_size=8))
    subprocess.run(["cp", "-r", str(root), str(tmp_path / "copy")], check=True)  # new modification times
    copy = resolve_data(str(tmp_path / "copy"), DataOptions(image_size=8))
    assert copy.fingerprint == first.fingerprint
    (tmp_path / "copy" / "dogs" / "img_001.png").rename(tmp_path / "copy" / "dogs" / "img_009.png")
    assert resolve_data(str(tmp_path / "copy"), DataOptions(image_size=8)).fingerprint != first.fingerprint


def test_new_bytes_of_the_same_size_and_time_change_the_fingerprint(tmp_path):
    root = tmp_path / "imgs"
    write_images(root, 3, fmt="bmp")  # BMPs of one size have one file size
    first = resolve_data(str(root), DataOptions(image_size=8)).fingerprint
    files = [root / "img_000.bmp", root / "img_001.bmp"]
    before = [path.stat() for path in files]
    write_images(root, 2, fmt="bmp", seed=7)  # rewrites img_000 and img_001 in place with other pixels
    for path, old in zip(files, before):
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))  # and puts their times back
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (old.st_size, old.st_mtime_ns)
    assert resolve_data(str(root), DataOptions(image_size=8)).fingerprint != first


def test_an_unchanged_folder_is_not_read_again(tmp_path, monkeypatch):
    import ganzoo.data.content as content

    root = tmp_path / "imgs"
    write_images(root, 4)
    first = resolve_data(str(root), DataOptions(image_size=8)).fingerprint
    assert list(content.hash_cache_dir().glob("*.json"))
    calls = []
    real = content._sha256
    monkeypatch.setattr(content, "_sha256", lambda path: calls.append(path) or real(path))
    assert resolve_data(str(root), DataOptions(image_size=8)).fingerprint == first
    assert calls == []  # only stat() for every file
    (root / "img_002.png").touch()  # a new time, the same bytes: hashed again, same fingerprint
    assert resolve_data(str(root), DataOptions(image_size=8)).fingerprint == first
    assert [p.name for p in calls] == ["img_002.png"]
