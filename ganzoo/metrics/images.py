"""Read a folder of images (optionally one sub-folder per class) as batches in [-1, 1]."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.walk import folder_id
from ganzoo.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
LABEL_IN_NAME = re.compile(r"-label(\d+)$")
"""`ganzoo sample --out FOLDER` names conditional samples `00012-label3.png`."""


@dataclass
class ImageFolder:
    """Image files in a stable order, with class labels when the folder has one sub-folder per class."""

    root: Path
    files: list[Path]
    labels: list[int] | None = None

    def __len__(self) -> int:
        return len(self.files)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def scan_folder(root: str | Path, class_names: Sequence[str] = ()) -> ImageFolder:
    """The images directly in `root`, or, if it has none, those in its sub-folders (one class each).

    A sub-folder that is a link to `root` or to a sub-folder already read is skipped.

    Labels come from sub-folders (matched to a class by name in `class_names`, or being an integer), or
    from file names ending in `-labelN` (as `ganzoo sample` writes them) when every file has one.
    """
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of images")
    files = _images_in(folder)
    if files:
        matches = [LABEL_IN_NAME.search(p.stem) for p in files]
        if all(matches):
            return ImageFolder(folder, files, [int(m.group(1)) for m in matches if m])
        return ImageFolder(folder, files)
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir())
    names = list(class_names)
    out_files: list[Path] = []
    labels: list[int] = []
    seen = {folder_id(folder)}
    for sub in subdirs:
        ident = folder_id(sub)
        if ident is None or ident in seen:
            continue  # a link back to the folder or to a class folder already read: each real folder once
        seen.add(ident)
        inner = _images_in(sub)
        if not inner:
            continue
        if sub.name in names:
            label = names.index(sub.name)
        elif sub.name.isdigit():
            label = int(sub.name)
        else:
            raise DataError(
                f"{sub}: sub-folder name is neither a class index nor one of the data's classes "
                f"({', '.join(names[:10]) or 'none known'})"
            )
        out_files.extend(inner)
        labels.extend([label] * len(inner))
    if not out_files:
        raise DataError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return ImageFolder(folder, out_files, labels)


def first_image(root: str | Path) -> torch.Tensor:
    """The first image of a folder (directly in it, else in its first sub-folder with images)."""
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder of images")
    files = _images_in(folder)
    if not files:
        for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
            files = _images_in(sub)
            if files:
                break
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return read_image(files[0])


def read_image(path: Path) -> torch.Tensor:
    """One image as C x H x W float in [-1, 1]: gray images keep one channel, others become RGB."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("L") if im.mode in ("L", "1", "I;16", "I", "F") else im.convert("RGB")
            arr = np.asarray(im, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot read image ({exc})") from None
    t = torch.from_numpy(arr.copy()).float()
    t = t[None] if t.ndim == 2 else t.permute(2, 0, 1)
    return t / 127.5 - 1


def resize_square(images: torch.Tensor, size: int) -> torch.Tensor:
    """Images in [-1, 1] as 8-bit pictures resized to `size` x `size` with PIL's bicubic filter (what the
    data folders' square resize does), back in [-1, 1]; images already of that size come back unchanged."""
    from PIL import Image

    if tuple(images.shape[-2:]) == (size, size):
        return images
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    out = []
    for image in pixels:
        array = image.permute(1, 2, 0).numpy()
        pil = Image.fromarray(np.ascontiguousarray(array[:, :, 0] if array.shape[2] == 1 else array))
        resized = np.asarray(pil.resize((size, size), Image.BICUBIC), dtype=np.uint8)
        out.append(torch.from_numpy(resized.copy()).reshape(size, size, -1).permute(2, 0, 1))
    return torch.stack(out).float() / 127.5 - 1


def folder_batches(folder: ImageFolder, batch_size: int, limit: int | None = None
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Batches of (images, labels or None); every image must have one size.

    With `limit` below the number of files, a fixed random subset of `limit` files is read (in order).
    """
    order = np.arange(len(folder.files))
    if limit and limit < len(order):
        order = np.sort(np.random.default_rng(0).choice(len(order), limit, replace=False))
    files = [folder.files[i] for i in order]
    all_labels = [folder.labels[i] for i in order] if folder.labels is not None else None
    shape: tuple[int, ...] | None = None
    for start in range(0, len(files), batch_size):
        chunk = [read_image(p) for p in files[start:start + batch_size]]
        for path, img in zip(files[start:start + batch_size], chunk):
            if shape is None:
                shape = tuple(img.shape)
            elif tuple(img.shape) != shape:
                raise DataError(
                    f"{path} is {tuple(img.shape)} but the first image is {shape}; every image must have one "
                    "size and channel count"
                )
        labels = None
        if all_labels is not None:
            labels = torch.tensor(all_labels[start:start + len(chunk)], dtype=torch.long)
        yield torch.stack(chunk), labels
