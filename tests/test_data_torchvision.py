"""MNIST, Fashion-MNIST (Debian's package or torchvision) and CIFAR-10 from files the tests write."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import torch

from ganzoo.data import DataOptions, resolve_data
from ganzoo.data.catalog import cache_state
from ganzoo.errors import DataError, DownloadError
from ganzoo.registry import get_registry


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GANZOO_SYSTEM_DATASETS", str(tmp_path / "system"))
    monkeypatch.setenv("GANZOO_OFFLINE", "1")  # nothing here may reach the network
    return tmp_path / "home"


def write_idx(path, array, gz=True):
    array = np.asarray(array, dtype=np.uint8)
    data = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(f"{path}.gz", "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


def write_mnist(folder, n_train=12, n_test=6, seed=0, gz=True):
    rng = np.random.default_rng(seed)
    sets = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images, gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels, gz)
        sets[prefix] = (images, labels)
    return sets


def write_cifar(folder, per_batch=4, n_test=3):
    rng = np.random.default_rng(3)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        written[name] = (data, labels)
    return written


def test_mnist_in_torchvision_layout(home):
    sets = write_mnist(home / "data" / "torchvision" / "MNIST" / "raw")
    assert cache_state(get_registry().dataset("mnist")) == "cached"
    source = resolve_data("mnist")
    assert source.kind == "labelled" and source.channels == 1 and source.image_size == 28
    assert list(source.class_names) == [str(d) for d in range(10)]
    assert len(source.train) == 12 and len(source.test) == 6
    batch = source.train.get_batch([(i, 0) for i in range(12)])
    images, labels = sets["train"]
    assert torch.equal(batch["image"][:, 0], torch.from_numpy(images).float() / 127.5 - 1)
    assert batch["label"].tolist() == labels.tolist()
    test = source.test.get_batch([(i, 0) for i in range(6)])
    assert test["label"].tolist() == sets["t10k"][1].tolist()
    big = resolve_data("mnist", DataOptions(image_size=32, channels=3))
    item = big.train[(0, 0)]
    assert item["image"].shape == (3, 32, 32) and torch.equal(item["image"][0], item["image"][2])
    assert big.fingerprint != source.fingerprint


def test_fashion_mnist_prefers_debian_files(home, tmp_path):
    debian = write_mnist(tmp_path / "system" / "fashion-mnist", seed=1)
    write_mnist(home / "data" / "torchvision" / "FashionMNIST" / "raw", n_train=7, n_test=2, seed=2, gz=False)
    spec = get_registry().dataset("fashion-mnist")
    assert cache_state(spec) == "system"
    source = resolve_data("fashion-mnist")
    assert len(source.train) == 12 and source.class_names[0] == "T-shirt/top" and source.num_classes == 10
    assert source.train.get_batch([(i, 0) for i in range(12)])["label"].tolist() == debian["train"][1].tolist()
    for file in (tmp_path / "system" / "fashion-mnist").iterdir():
        file.unlink()
    assert cache_state(spec) == "cached"
    assert len(resolve_data("fashion-mnist").train) == 7  # the uncompressed torchvision files


def test_cifar10_batches(home):
    written = write_cifar(home / "data" / "torchvision" / "cifar-10-batches-py")
    source = resolve_data("cifar10")
    assert source.channels == 3 and source.image_size == 32 and len(source.train) == 20 and len(source.test) == 3
    assert source.class_names[0] == "airplane"
    first = source.train[(0, 0)]
    data, labels = written["data_batch_1"]
    expected = torch.from_numpy(data[0].reshape(3, 32, 32)).float() / 127.5 - 1
    assert torch.equal(first["image"], expected) and first["label"].item() == labels[0]
    last = source.train[(19, 0)]
    assert last["label"].item() == written["data_batch_5"][1][3]
    gray = resolve_data("cifar10", DataOptions(channels=1, image_size=16))
    assert gray.train[(0, 0)]["image"].shape == (1, 16, 16)


def test_cifar_archive_placed_by_hand_is_extracted(home, tmp_path):
    staging = tmp_path / "staging"
    write_cifar(staging / "cifar-10-batches-py")
    root = home / "data" / "torchvision"
    root.mkdir(parents=True)
    with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tf:
        tf.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    assert len(resolve_data("cifar10").train) == 20
    assert (root / "cifar-10-batches-py" / "test_batch").is_file()


def test_cifar_pickle_with_foreign_globals_is_refused(home):
    folder = home / "data" / "torchvision" / "cifar-10-batches-py"
    write_cifar(folder)
    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": os.getcwd, b"labels": []}, protocol=2))
    with pytest.raises(DataError, match="refusing to load"):
        resolve_data("cifar10")


def test_truncated_idx_file(home):
    folder = home / "data" / "torchvision" / "MNIST" / "raw"
    write_mnist(folder, gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(DataError, match="truncated"):
        resolve_data("mnist")


@pytest.mark.parametrize("name,url_part", [
    ("mnist", "https://ossci-datasets.s3.amazonaws.com/mnist/"),
    ("fashion-mnist", "fashion-mnist.s3-website"),
    ("cifar10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"),
])
def test_offline_and_absent_is_one_line(home, name, url_part):
    with pytest.raises(DownloadError) as info:
        resolve_data(name)
    message = str(info.value)
    assert "GANZOO_OFFLINE=1" in message and url_part in message and str(home / "data" / "torchvision") in message
    assert "\n" not in message


def test_offline_download_command(home, tmp_path):
    env = dict(os.environ, GANZOO_HOME=str(home), GANZOO_OFFLINE="1", GANZOO_SYSTEM_DATASETS=str(tmp_path / "s"))
    result = subprocess.run([sys.executable, "-m", "ganzoo", "data", "download", "mnist"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "train-images-idx3-ubyte.gz" in lines[0]
    assert str(home / "data" / "torchvision" / "MNIST" / "raw") in lines[0]
    write_mnist(home / "data" / "torchvision" / "MNIST" / "raw")
    result = subprocess.run([sys.executable, "-m", "ganzoo", "data", "download", "mnist"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0 and "mnist is ready" in result.stdout


def test_idx_reader_rejects_other_files(home):
    folder = home / "data" / "torchvision" / "MNIST" / "raw"
    write_mnist(folder, gz=False)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(io.BytesIO(b"\x01\x02\x03\x04rest").getvalue())
    with pytest.raises(DataError, match="not an IDX file"):
        resolve_data("mnist")
