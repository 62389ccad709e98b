"""Paired (aligned) image data: `paired:PATH`, `paired:a=DIR,b=DIR`, and the downloaded pix2pix sets.

Layouts understood by `paired:PATH`:

    PATH/train/*.jpg [PATH/test/ or val/]      side-by-side AB images, the reference pix2pix's aligned
                                               format: A is the left half, B the right half
    PATH/*.jpg                                 side-by-side AB images, no held-out split
    PATH/trainA, trainB [, testA, testB]       two folders whose files pair by name
    paired:a=DIR,b=DIR[,test_a=DIR,test_b=DIR] the same with the folders named explicitly

Files of two folders pair when their paths relative to the folder, without the extension, are equal
(`a/12.png` with `b/12.jpg`); files without a partner are left out with one warning line.

Both images of a pair get the same treatment, as in the reference's aligned data set: converted to
the wanted channels, each resized (square to `load_size`, else `image_size`, bicubic), then cropped
at the same position and flipped together: the pair is decoded into one array with A's channels
followed by B's, so the key's seed draws one crop and one flip for both. Items are
`{"a": C x S x S, "b": C x S x S}` in [-1, 1]. Held-out pairs are centre-cropped and never flipped.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np

from ganzoo.data.content import file_digests
from ganzoo.data.fingerprint import fingerprint
from ganzoo.data.folder import effective, held_out, scan_images
from ganzoo.data.images import (
    CropFlip,
    ImageFiles,
    cache_budget_bytes,
    convert_mode,
    decode_image,
    read_size,
    resize_target,
    short_reason,
    warn,
)
from ganzoo.data.source import DataOptions, DataRef, DataSource
from ganzoo.errors import DataError

if TYPE_CHECKING:
    import torch

Key = tuple[int, int]
Entry = Union[Path, tuple[Path, Path]]
"""One example: a side-by-side AB image, or an (A, B) pair of files."""

HELD_OUT_NAMES = ("test", "val", "valid", "validation")
PAIR_KEYS = ("a", "b", "test_a", "test_b")


# -- decoding -----------------------------------------------------------------------------------
def split_ab(image):
    """(A, B) halves of a side-by-side PIL image: A = columns [0, w // 2), B = the rest (the reference's split)."""
    width, height = image.size
    half = width // 2
    return image.crop((0, 0, half, height)), image.crop((half, 0, width, height))


def decode_ab(path: str | Path, channels: int, size: int | None, resize: str) -> tuple[np.ndarray, np.ndarray]:
    """Decode a side-by-side image into its A and B halves, each converted and resized: H x W x C uint8."""
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        image = convert_mode(image, channels)
        halves = []
        for half in split_ab(image):
            target = resize_target(half.width, half.height, size, resize)
            if target != half.size:
                half = half.resize(target, Image.BICUBIC)
            array = np.array(half, dtype=np.uint8)
            halves.append(array[:, :, None] if array.ndim == 2 else array)
    return halves[0], halves[1]


class PairedFiles(ImageFiles):
    """Aligned pairs from files, decoded on demand or preloaded within the memory budget.

    Each example is decoded into one H x W x 2C array (A's channels, then B's), so crop and flip are
    drawn once per key and applied to both images alike.
    """

    def __init__(self, entries: Sequence[Entry], crop: CropFlip, *, channels: int, size: int | None, resize: str,
                 fingerprint: str = "", where: str = "") -> None:
        super().__init__([], crop, channels=channels, size=size, resize=resize, fingerprint=fingerprint, where=where)
        self.files = list(entries)  # type: ignore[assignment]
        self.pair_channels = channels

    def decode(self, index: int) -> np.ndarray:
        entry = self.files[index]
        if isinstance(entry, tuple):
            a = decode_image(entry[0], self.pair_channels, self.size, self.resize)
            b = decode_image(entry[1], self.pair_channels, self.size, self.resize)
        else:
            a, b = decode_ab(entry, self.pair_channels, self.size, self.resize)
        if a.shape != b.shape:  # only without a square resize
            raise ValueError(f"its A and B images differ in size ({a.shape[1]}x{a.shape[0]} and "
                             f"{b.shape[1]}x{b.shape[0]})")
        return np.concatenate([a, b], axis=2)

    def estimated_bytes(self, sizes: Sequence[tuple[int, int]]) -> int:
        """Memory needed to cache every pair, from the header sizes of A (or of the AB image)."""
        total = 0
        for width, height in sizes:
            w, h = resize_target(width, height, self.size, self.resize)
            total += 2 * w * h * self.pair_channels
        return total

    def __getitem__(self, key: Key) -> dict[str, torch.Tensor]:
        index = self._index(key)
        both = self.crop(self._array(index), int(key[1]))
        return {"a": both[:self.pair_channels], "b": both[self.pair_channels:]}


# -- scanning -----------------------------------------------------------------------------------
def _folder(path: Path) -> Path:
    path = path.expanduser()
    if not path.exists():
        raise DataError(f"folder {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a folder of images")
    return path


def _images(folder: Path) -> list[Path]:
    images, others = scan_images(_folder(folder))
    if not images:
        what = "is empty" if others == 0 and not any(folder.iterdir()) else f"has no images ({others} other files)"
        raise DataError(f"folder {folder} {what}; paired data needs images (jpg, png, ...)")
    return images


def match_by_name(folder_a: Path, folder_b: Path) -> list[tuple[Path, Path]]:
    """(A, B) files whose paths relative to their folders agree without the extension, in A's order."""
    def by_stem(folder: Path) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for path in _images(folder):
            stem = path.relative_to(folder).with_suffix("").as_posix()
            if stem in found:
                raise DataError(f"{folder} has two images named {stem} ({found[stem].name} and {path.name}); "
                                "pairs are matched by name, so names must be unique")
            found[stem] = path
        return found

    a, b = by_stem(folder_a), by_stem(folder_b)
    pairs = [(a[stem], b[stem]) for stem in a if stem in b]
    if not pairs:
        raise DataError(f"no image in {folder_a} has a partner of the same name in {folder_b}; paired folders "
                        "need matching file names (12.png with 12.jpg)")
    unmatched = [p for stem, p in a.items() if stem not in b] + [p for stem, p in b.items() if stem not in a]
    if unmatched:
        warn(f"left out {len(unmatched)} image{'s' if len(unmatched) != 1 else ''} without a partner of the same "
             f"name (e.g. {unmatched[0]})")
    return pairs


def paired_layout(folder: Path) -> dict[str, list[Entry]]:
    """{"train": entries[, "test": entries]} of a `paired:PATH` folder (see the module docstring)."""
    folder = _folder(folder)
    if (folder / "trainA").is_dir() or (folder / "trainB").is_dir():
        if not ((folder / "trainA").is_dir() and (folder / "trainB").is_dir()):
            raise DataError(f"{folder} needs both trainA and trainB for paired folders")
        layout: dict[str, list[Entry]] = {"train": list(match_by_name(folder / "trainA", folder / "trainB"))}
        if (folder / "testA").is_dir() and (folder / "testB").is_dir():
            layout["test"] = list(match_by_name(folder / "testA", folder / "testB"))
        return layout
    if (folder / "train").is_dir():
        layout = {"train": list(_images(folder / "train"))}
        for name in HELD_OUT_NAMES:
            if (folder / name).is_dir():
                layout["test"] = list(_images(folder / name))
                break
        return layout
    return {"train": list(_images(folder))}


def parse_pairs(text: str) -> dict[str, Path]:
    """`a=DIR,b=DIR[,test_a=DIR,test_b=DIR]` -> folders by key."""
    folders: dict[str, Path] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not value.strip():
            raise DataError(f"'{item.strip()}' in '{text}' is not KEY=PATH; use paired:a=PATH,b=PATH")
        if key not in PAIR_KEYS:
            raise DataError(f"unknown key '{key}' in '{text}'; use a=, b=, test_a= and test_b=")
        folders[key] = Path(value.strip()).expanduser()
    if "a" not in folders or "b" not in folders:
        raise DataError(f"'{text}' needs both a=PATH and b=PATH")
    if ("test_a" in folders) != ("test_b" in folders):
        raise DataError(f"'{text}' gives only one of test_a= and test_b=")
    return folders


# -- building data sources ----------------------------------------------------------------------
def _header_size(entry: Entry) -> tuple[int, int]:
    """(width, height) of the A image of an entry, from headers only (an AB image counts half its width)."""
    if isinstance(entry, tuple):
        return read_size(entry[0])
    width, height = read_size(entry)
    return width // 2, height


def _readable(entries: list[Entry], where: Path) -> tuple[list[Entry], list[tuple[int, int]], list[tuple[Entry, str]]]:
    keep, sizes, skipped = [], [], []
    for entry in entries:
        try:
            size = _header_size(entry)
            if isinstance(entry, tuple):
                read_size(entry[1])
        except Exception as exc:  # PIL raises many kinds for files that are not images
            skipped.append((entry, short_reason(exc)))
            continue
        keep.append(entry)
        sizes.append(size)
    if not keep:
        example = f" (e.g. {_name(skipped[0][0])}: {skipped[0][1]})" if skipped else ""
        raise DataError(f"none of the {len(skipped)} pairs in {where} can be read{example}")
    return keep, sizes, skipped


def _name(entry: Entry) -> str:
    return f"{entry[0].name} + {entry[1].name}" if isinstance(entry, tuple) else entry.name


def _identity(entries: list[Entry], root: Path, content: str | None, split: str) -> list[object]:
    """What the pairs are: `content` (a verified archive's hash), or each file's name below `root`, size and sha256."""
    if content is not None:
        return [content, split, len(entries)]
    files = [path for entry in entries for path in (entry if isinstance(entry, tuple) else (entry,))]
    return [list(digest) for digest in file_digests(root, files)]


def _check_crop(entries: list[Entry], sizes: list[tuple[int, int]], options: DataOptions, where: Path) -> None:
    _, size, crop, resize = effective(options)
    if crop.size is None:
        return
    for entry, (w, h) in zip(entries, sizes):
        w2, h2 = resize_target(w, h, size, resize)
        if min(w2, h2) < crop.size:
            raise DataError(f"pairs in {where} are smaller than the {crop.size}x{crop.size} crop (e.g. {_name(entry)}: "
                            f"{w}x{h} per image) and no resize applies; lower the image size or resize the images")


def build_paired(ref: str, root: Path, splits: dict[str, list[Entry]], options: DataOptions, *,
                 content: str | None = None, description: str = "") -> DataSource:
    """A `paired` DataSource from entries per split ("train"[, "test"]), preloaded within the memory budget."""
    datasets: dict[str, PairedFiles] = {}
    all_sizes: dict[str, list[tuple[int, int]]] = {}
    skipped: list[tuple[Entry, str]] = []
    for split, entries in splits.items():
        split_options = held_out(options) if split == "test" else options
        entries, sizes, bad = _readable(entries, root)
        _check_crop(entries, sizes, split_options, root)
        skipped += bad
        channels, size, crop, resize = effective(split_options)
        transform = {"channels": channels, "size": size, "resize": resize, "paired": True, **crop.describe()}
        datasets[split] = PairedFiles(entries, crop, channels=channels, size=size, resize=resize,
                                      fingerprint=fingerprint("paired", _identity(entries, root, content, split),
                                                              transform),
                                      where=str(root))
        all_sizes[split] = sizes
    in_memory = False
    if options.preload:
        need = sum(ds.estimated_bytes(all_sizes[split]) for split, ds in datasets.items())
        if need <= cache_budget_bytes():
            for split, ds in datasets.items():
                skipped += ds.preload(description=f"decoding {root.name} ({split})")
                if len(ds) == 0:
                    raise DataError(f"none of the pairs in {root} ({split}) can be read")
            in_memory = True
    if skipped:
        entry, reason = skipped[0]
        warn(f"skipped {len(skipped)} unreadable pair{'s' if len(skipped) != 1 else ''} "
             f"(e.g. {_name(entry)}: {reason})")
    train, test = datasets["train"], datasets.get("test")
    counts = {split: len(ds) for split, ds in datasets.items()}
    extras: dict[str, object] = {"counts": counts}
    if test is not None:
        extras["test_fingerprint"] = test.fingerprint
    text = description or f"paired images {root} ({', '.join(f'{k}: {v}' for k, v in counts.items())})"
    return DataSource(ref=ref, kind="paired", train=train, test=test, channels=effective(options)[0],
                      image_size=options.image_size, in_memory=in_memory, fingerprint=train.fingerprint,
                      description=text, extras=extras)


def load_paired_folder(ref: str, folder: Path, options: DataOptions, *, content: str | None = None,
                       description: str = "") -> DataSource:
    """A `paired:PATH` folder (side-by-side AB images or trainA/trainB matched by name)."""
    folder = _folder(Path(folder))
    return build_paired(ref, folder, paired_layout(folder), options, content=content, description=description)


def load(ref: DataRef, options: DataOptions) -> DataSource:
    """Loader of the `paired` scheme: `paired:PATH` or `paired:a=DIR,b=DIR[,test_a=DIR,test_b=DIR]`."""
    argument = (ref.argument or "").strip()
    if not argument:
        raise DataError("paired needs a folder (paired:PATH) or two (paired:a=PATH,b=PATH)")
    if "=" in argument:
        folders = parse_pairs(argument)
        splits: dict[str, list[Entry]] = {"train": list(match_by_name(folders["a"], folders["b"]))}
        if "test_a" in folders:
            splits["test"] = list(match_by_name(folders["test_a"], folders["test_b"]))
        root = Path(os.path.commonpath([str(p.resolve()) for p in folders.values()]))
        return build_paired(ref.text, root, splits, options)
    return load_paired_folder(ref.text, Path(argument), options)
