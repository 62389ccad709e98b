"""Images from files: decode, convert, resize, cache in memory, and crop/flip per key.

The deterministic part (decode, convert to the wanted channels, resize) is done once per image and,
for sets within the memory budget, kept in memory as uint8 arrays; an item then costs only its crop,
flip and conversion to a float tensor in [-1, 1]. The random part (crop offsets, flip) is drawn from a
generator seeded with the key's seed, so any process produces the same tensors for the same key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ganzoo.errors import DataError

if TYPE_CHECKING:  # torch is imported when items are made, so folder checks fail fast without it
    import torch

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm",
                              ".pgm", ".pbm"})
RESIZE_MODES = ("square", "shorter", "none")
DEFAULT_CACHE_MB = 2048

Key = tuple[int, int]


def warn(message: str) -> None:
    """One warning line on stderr."""
    print(f"Warning: {message}", file=sys.stderr, flush=True)


def cache_budget_bytes() -> int:
    """How many bytes of decoded images may be kept in memory (`GANZOO_DATA_CACHE_MB`, default 2048)."""
    try:
        megabytes = float(os.environ.get("GANZOO_DATA_CACHE_MB", DEFAULT_CACHE_MB))
    except ValueError:
        megabytes = DEFAULT_CACHE_MB
    return int(max(0.0, megabytes) * 2**20)


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith(".")


# -- decoding -----------------------------------------------------------------------------------
def convert_mode(image, channels: int):
    """A PIL image in mode 'L' (channels=1) or 'RGB' (channels=3), whatever it was (gray, palette, 16-bit)."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(array.max()), 1.0)
        image = Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    target = "L" if channels == 1 else "RGB"
    return image if image.mode == target else image.convert(target)


def resize_target(width: int, height: int, size: int | None, mode: str) -> tuple[int, int]:
    """(width, height) after resizing with `mode` to `size` (unchanged when size is None or mode 'none')."""
    if size is None or mode == "none":
        return width, height
    if mode == "square":
        return size, size
    scale = size / min(width, height)
    return max(size, round(width * scale)), max(size, round(height * scale))


def decode_image(path: str | Path, channels: int, size: int | None, resize: str) -> np.ndarray:
    """Decode, convert and resize one image file to an H x W x C uint8 array (raises OSError if unreadable)."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        image = convert_mode(image, channels)
        target = resize_target(image.width, image.height, size, resize)
        if target != image.size:
            image = image.resize(target, Image.BICUBIC)
        array = np.array(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return np.ascontiguousarray(array)


def read_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the image header (raises OSError / PIL errors if it is not an image)."""
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def short_reason(exc: BaseException) -> str:
    text = str(exc).split("\n")[0].strip()
    if len(text) > 120:
        text = text[:117] + "..."
    return text or type(exc).__name__


# -- the per-key random part --------------------------------------------------------------------
@dataclass(frozen=True)
class CropFlip:
    """Crop to `size` (random when `random_crop`, else centred; None keeps the whole image) and maybe flip."""

    size: int | None = None
    random_crop: bool = False
    flip: bool = False

    def __call__(self, array: np.ndarray, seed: int) -> torch.Tensor:
        import torch

        height, width = array.shape[:2]
        generator = torch.Generator().manual_seed(int(seed))
        # Always draw the same three numbers, so the flip does not depend on whether crops are random.
        draws = torch.rand(3, generator=generator).tolist()
        if self.size is not None:
            if height < self.size or width < self.size:
                raise DataError(f"an image of {width}x{height} is smaller than the {self.size}x{self.size} crop")
            if self.random_crop:
                top = min(int(draws[0] * (height - self.size + 1)), height - self.size)
                left = min(int(draws[1] * (width - self.size + 1)), width - self.size)
            else:
                top, left = (height - self.size) // 2, (width - self.size) // 2
            array = array[top:top + self.size, left:left + self.size]
        if self.flip and draws[2] < 0.5:
            array = array[:, ::-1]
        tensor = torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1)
        return tensor.to(torch.float32).div_(127.5).sub_(1.0)

    def describe(self) -> dict[str, object]:
        return {"crop": self.size, "random_crop": self.random_crop, "flip": self.flip}


# -- data sets ----------------------------------------------------------------------------------
class _ArrayItems:
    """Shared item logic: `_array(i)` gives the decoded array of example i."""

    crop: CropFlip
    labels: list[int] | None
    fingerprint: str

    def _count(self) -> int:
        raise NotImplementedError

    def _array(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return self._count()

    def _index(self, key: Key) -> int:
        index = int(key[0])
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a data set of {len(self)} examples")
        return index

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        import torch

        index = self._index(key)
        item = {"image": self.crop(self._array(index), int(key[1]))}
        if self.labels is not None:
            item["label"] = torch.tensor(self.labels[index % len(self.labels)], dtype=torch.int64)
        return item

    def get_batch(self, keys: Sequence[Key]) -> dict[str, torch.Tensor]:
        import torch

        items = [self[k] for k in keys]
        return {name: torch.stack([item[name] for item in items]) for name in items[0]}


class ArrayImages(_ArrayItems):
    """Decoded images held in memory (H x W x C uint8 arrays, sizes may differ), optionally repeated."""

    def __init__(self, arrays: Sequence[np.ndarray], crop: CropFlip, *, labels: Sequence[int] | None = None,
                 repeat: int = 1, fingerprint: str = "") -> None:
        if not arrays:
            raise ValueError("no images")
        self.arrays = list(arrays)
        self.crop = crop
        self.labels = list(labels) if labels is not None else None
        self.repeat = max(1, int(repeat))
        self.fingerprint = fingerprint

    def _count(self) -> int:
        return len(self.arrays) * self.repeat

    def _array(self, index: int) -> np.ndarray:
        return self.arrays[index % len(self.arrays)]


class ImageFiles(_ArrayItems):
    """Image files decoded on demand, or all at once into memory with `preload()`."""

    def __init__(self, files: Sequence[Path], crop: CropFlip, *, channels: int, size: int | None, resize: str,
                 labels: Sequence[int] | None = None, fingerprint: str = "", where: str = "") -> None:
        if resize not in RESIZE_MODES:
            raise DataError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
        self.files = [Path(f) for f in files]
        self.crop = crop
        self.channels = channels
        self.size = size
        self.resize = resize
        self.labels = list(labels) if labels is not None else None
        self.fingerprint = fingerprint
        self.where = where
        self.cache: list[np.ndarray] | None = None
        self._warned = False

    def _count(self) -> int:
        return len(self.files)

    @property
    def cached(self) -> bool:
        return self.cache is not None

    def decode(self, index: int) -> np.ndarray:
        return decode_image(self.files[index], self.channels, self.size, self.resize)

    def _array(self, index: int) -> np.ndarray:
        if self.cache is not None:
            return self.cache[index]
        # Not preloaded (too large for memory): decode now; an image that turned out unreadable is
        # replaced by the next readable one, so the item stays a deterministic function of the key.
        first_error = None
        for step in range(len(self.files)):
            candidate = (index + step) % len(self.files)
            try:
                return self.decode(candidate)
            except (OSError, ValueError, SyntaxError) as exc:  # PIL raises all three for broken files
                first_error = first_error or exc
                if not self._warned:
                    self._warned = True
                    warn(f"cannot read {self.files[candidate]} ({short_reason(exc)}); using the next image instead")
        raise DataError(f"none of the {len(self.files)} images in {self.where or 'the data set'} can be read "
                        f"({short_reason(first_error) if first_error else 'no images'})")

    def estimated_bytes(self, sizes: Sequence[tuple[int, int]]) -> int:
        """Memory needed to cache every image, from their header sizes."""
        total = 0
        for width, height in sizes:
            w, h = resize_target(width, height, self.size, self.resize)
            total += w * h * self.channels
        return total

    def preload(self, *, progress: bool = True, description: str = "") -> list[tuple[Path, str]]:
        """Decode every image into memory; unreadable ones are dropped and returned as (path, reason)."""
        n = len(self.files)
        arrays: list[np.ndarray | None] = [None] * n
        failed: list[tuple[Path, str]] = []

        def work(index: int) -> tuple[int, np.ndarray | None, str]:
            try:
                return index, self.decode(index), ""
            except (OSError, ValueError, SyntaxError) as exc:
                return index, None, short_reason(exc)

        workers = max(1, min(4, os.cpu_count() or 1))
        with ThreadPoolExecutor(max_workers=workers) as pool, _bar(description or "decoding images", n,
                                                                   progress and n >= 200) as advance:
            for index, array, reason in pool.map(work, range(n)):
                if array is None:
                    failed.append((self.files[index], reason))
                arrays[index] = array
                advance(1)
        keep = [i for i in range(n) if arrays[i] is not None]
        if len(keep) != n:
            self.files = [self.files[i] for i in keep]
            if self.labels is not None:
                self.labels = [self.labels[i] for i in keep]
        self.cache = [arrays[i] for i in keep]  # type: ignore[misc]
        return failed


class _bar:
    """A rich progress bar on stderr (only on a terminal), as a context manager yielding advance(n)."""

    def __init__(self, description: str, total: int, enabled: bool) -> None:
        self.description, self.total, self.enabled = description, total, enabled
        self.progress = None

    def __enter__(self):
        if not self.enabled:
            return lambda n: None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(stderr=True)
        if not console.is_terminal:
            return lambda n: None
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=console, transient=True)
        self.progress.start()
        task = self.progress.add_task(self.description, total=self.total)
        return lambda n: self.progress.advance(task, n)

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
