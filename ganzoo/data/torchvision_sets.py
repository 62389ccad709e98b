"""MNIST, Fashion-MNIST and CIFAR-10, in the files torchvision downloads (or Debian installs).

Files are looked for, in order: (fashion-mnist only) Debian's `dataset-fashion-mnist` package in
`/usr/share/datasets/fashion-mnist/` (`$GANZOO_SYSTEM_DATASETS` overrides `/usr/share/datasets`),
then torchvision's layout below `data_dir()/torchvision/` (`MNIST/raw/`, `FashionMNIST/raw/`,
`cifar-10-batches-py/`). When they are missing, torchvision downloads them there (unless
`GANZOO_OFFLINE=1`, which gives the one-line message saying what to fetch and where to put it).

The files are read by ganzoo itself (IDX files, plain or gzipped; CIFAR's pickled batches through an
unpickler that accepts nothing but arrays, lists and dicts), then resized to the model's image size
once (antialiased bilinear) and kept in memory as uint8.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganzoo.data.catalog import DEBIAN_FASHION_MNIST, TORCHVISION_SETS, system_datasets_dir, torchvision_root
from ganzoo.data.fingerprint import fingerprint
from ganzoo.data.source import DataOptions, DataRef, DataSource
from ganzoo.data.tensors import TensorImages
from ganzoo.errors import DataError, DownloadError
from ganzoo.paths import offline

CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
}
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_RESIZE_CHUNK = 4096


# -- readers ------------------------------------------------------------------------------------
def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format), plain or gzipped, as a numpy array."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    dtype = np.dtype(_IDX_TYPES[data[2]])
    count = int(np.prod(dims)) if dims else 0
    offset = 4 + 4 * ndim
    if len(data) < offset + count * dtype.itemsize:
        raise DataError(f"{path} is truncated ({len(data)} bytes, expected {offset + count * dtype.itemsize})")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(dims)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays, lists, dicts and scalars; refuses every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"), ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: (N x 3 x 32 x 32 uint8, N int64 labels)."""
    try:
        with open(path, "rb") as fh:
            batch = _ArraysOnly(fh, encoding="bytes").load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError) as exc:
        raise DataError(f"cannot read the CIFAR batch {path}: {exc}") from None
    if not isinstance(batch, dict):
        raise DataError(f"{path} is not a CIFAR batch")
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DataError(f"{path} is not a CIFAR batch (no data/labels)")
    data = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32)
    return data, np.asarray(labels, dtype=np.int64)


# -- locating and fetching ----------------------------------------------------------------------
def _idx_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def locate(name: str) -> Path | None:
    """The folder holding all files of `name`, or None."""
    layout = TORCHVISION_SETS[name]
    files = tuple(layout["files"])  # type: ignore[arg-type]
    folders = []
    if name == "fashion-mnist":
        folders.append(system_datasets_dir() / DEBIAN_FASHION_MNIST)
    folders.append(torchvision_root() / str(layout["folder"]))
    for folder in folders:
        if name == "cifar10":
            if all((folder / f).is_file() for f in files):
                return folder
        elif all(_idx_file(folder, f) is not None for f in files):
            return folder
    return None


def _torchvision_class(name: str):
    from torchvision import datasets

    return {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST, "cifar10": datasets.CIFAR10}[name]


def _hand_message(name: str) -> str:
    layout = TORCHVISION_SETS[name]
    root = torchvision_root()
    if name == "cifar10":
        return (f"fetch {layout['urls'][0]} by hand and place it in {root} "  # type: ignore[index]
                "(it is extracted on next use)")
    folder = root / str(layout["folder"])
    files = ", ".join(f"{f}.gz" for f in layout["files"])  # type: ignore[union-attr]
    base = str(layout["urls"][0]).rsplit("/", 1)[0]  # type: ignore[index]
    return f"fetch {files} from {base}/ by hand and place them in {folder}"


def _extract_placed_cifar() -> None:
    archive = torchvision_root() / "cifar-10-python.tar.gz"
    if archive.is_file() and not (torchvision_root() / "cifar-10-batches-py").is_dir():
        from ganzoo.data.archive import extract_archive

        extract_archive(archive, torchvision_root() / ".cifar-extract")
        inner = torchvision_root() / ".cifar-extract" / "cifar-10-batches-py"
        if inner.is_dir():
            inner.rename(torchvision_root() / "cifar-10-batches-py")
        import shutil

        shutil.rmtree(torchvision_root() / ".cifar-extract", ignore_errors=True)


def fetch(name: str) -> Path:
    """Make the files of `name` available (downloading them with torchvision if needed); their folder."""
    if name == "cifar10":
        _extract_placed_cifar()
    folder = locate(name)
    if folder is not None:
        return folder
    if offline():
        raise DownloadError(f"{name} is not in the cache and GANZOO_OFFLINE=1 forbids downloading it: "
                            + _hand_message(name))
    root = torchvision_root()
    root.mkdir(parents=True, exist_ok=True)
    try:
        cls = _torchvision_class(name)
        for train in (True, False):
            cls(str(root), train=train, download=True)
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise DownloadError(f"could not download {name} with torchvision ({reason}): {_hand_message(name)}") from None
    folder = locate(name)
    if folder is None:
        raise DownloadError(f"torchvision did not leave the {name} files where expected: {_hand_message(name)}")
    return folder


# -- loading ------------------------------------------------------------------------------------
def _read(name: str, folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(N x C x H x W uint8, N int64) of one split."""
    if name == "cifar10":
        names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
        parts = [read_cifar_batch(folder / n) for n in names]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))  # type: ignore[arg-type]
    labels = read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte"))  # type: ignore[arg-type]
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"the {split} files of {name} in {folder} do not match (images {images.shape}, "
                        f"labels {labels.shape})")
    return images[:, None].astype(np.uint8), labels.astype(np.int64)


def prepare(images: np.ndarray, size: int, channels: int) -> torch.Tensor:
    """uint8 N x C x H x W -> uint8 N x channels x size x size (antialiased bilinear)."""
    x = torch.from_numpy(np.ascontiguousarray(images))
    if x.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        x = (x.to(torch.float32) * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if tuple(x.shape[-2:]) != (size, size):
        chunks = []
        for start in range(0, len(x), _RESIZE_CHUNK):  # uint8 in, uint8 out: torch's fast path
            part = x[start:start + _RESIZE_CHUNK].contiguous()
            chunks.append(F.interpolate(part, size=(size, size), mode="bilinear", align_corners=False,
                                        antialias=True))
        x = torch.cat(chunks)
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


def load(ref: DataRef, options: DataOptions) -> DataSource:
    """`mnist`, `fashion-mnist`, `cifar10`: the training split labelled; `test` is the official test split."""
    name = ref.name
    if name not in TORCHVISION_SETS:
        raise DataError(f"no torchvision data set called {name!r}; known: {', '.join(TORCHVISION_SETS)}")
    folder = fetch(name)
    native_channels = 3 if name == "cifar10" else 1
    channels = options.channels or native_channels
    if channels not in (1, 3):
        raise DataError(f"{name} gives 1 or 3 channels, not {channels}")
    sets = {}
    size = options.image_size
    for split in ("train", "test"):
        raw, labels = _read(name, folder, split)
        size = size or raw.shape[-1]
        images = prepare(raw, size, channels)
        sets[split] = TensorImages(images, torch.from_numpy(labels),
                                   fingerprint=fingerprint(name, split, raw, labels, size, channels))
    class_names = CLASS_NAMES[name]
    return DataSource(
        ref=ref.text, kind="labelled", train=sets["train"], test=sets["test"], channels=channels, image_size=size,
        num_classes=len(class_names), class_names=class_names, in_memory=True,
        fingerprint=sets["train"].fingerprint,
        description=f"{name} from {folder} ({len(sets['train'])} train, {len(sets['test'])} test), "
                    f"resized to {size}x{size}",
        extras={"test_fingerprint": sets["test"].fingerprint, "files": str(folder)},
    )
