"""Folders of images: `PATH`, `folder:PATH`, `unpaired:PATH` and `a=PATH,b=PATH`.

Layouts understood:
  PATH/**/*.jpg                     images (recursively), no labels
  PATH/CLASS/**/*.jpg               class sub-folders become labels (sorted names -> 0, 1, ...)
  PATH/train/..., PATH/test/...     a training and a held-out split, each with either layout above
  PATH/trainA, trainB[, testA, testB]   two unpaired domains (the CycleGAN layout)

Images are converted to RGB (or to the requested channels), resized per `DataOptions` (square to
load_size or image_size, like the reference CycleGAN), then cropped to image_size (randomly if
`random_crop`, else centred) and flipped if `flip`. Unreadable images are skipped with one warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ganzoo.data.content import file_digests
from ganzoo.data.fingerprint import fingerprint
from ganzoo.data.images import (
    RESIZE_MODES,
    CropFlip,
    ImageFiles,
    cache_budget_bytes,
    is_image_file,
    read_size,
    short_reason,
    warn,
)
from ganzoo.data.source import DataOptions, DataRef, DataSource
from ganzoo.data.walk import FolderId, folder_id, walk_files
from ganzoo.errors import DataError

SPLIT_NAMES = ("train", "test", "val", "valid", "validation")
UNPAIRED_DIRS = ("trainA", "trainB", "testA", "testB")
PAIR_KEYS = ("a", "b", "test_a", "test_b")


# -- options ------------------------------------------------------------------------------------
def effective(options: DataOptions) -> tuple[int, int | None, CropFlip, str]:
    """(channels, resize size, crop/flip, resize mode) for images from files; checks the options."""
    channels = options.channels or 3
    if channels not in (1, 3):
        raise DataError(f"image folders give 1 or 3 channels, not {channels}")
    if options.resize not in RESIZE_MODES:
        raise DataError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {options.resize!r}")
    size = options.load_size or options.image_size
    if options.load_size and options.image_size and options.load_size < options.image_size:
        raise DataError(f"load_size {options.load_size} is smaller than image_size {options.image_size}; "
                        "images are resized to load_size and then cropped to image_size")
    crop = CropFlip(options.image_size, bool(options.random_crop), bool(options.flip))
    return channels, size, crop, options.resize


def held_out(options: DataOptions) -> DataOptions:
    """Options for held-out images: the same size, no random crop, no flip."""
    return replace(options, random_crop=False, flip=False, split="test")


# -- scanning -----------------------------------------------------------------------------------
def _check_folder(path: Path, what: str = "folder") -> Path:
    if not path.exists():
        raise DataError(f"{what} {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{path} is a file, not a folder of images")
    return path


def scan_images(folder: Path, *, seen: set[FolderId] | None = None) -> tuple[list[Path], int]:
    """Image files below `folder` (recursively, sorted, hidden entries skipped) and the number of other files.

    Links are followed, but each real folder is visited once (see `ganzoo.data.walk`); `seen` shares
    the visited folders between scans.
    """
    images: list[Path] = []
    others = 0
    for path in walk_files(folder, seen=seen):
        if is_image_file(path):
            images.append(path)
        else:
            others += 1
    images.sort(key=lambda p: p.relative_to(folder).as_posix())
    return images, others


def _images_or_fail(folder: Path) -> list[Path]:
    _check_folder(folder)
    images, others = scan_images(folder)
    if images:
        return images
    if others == 0 and not any(folder.iterdir()):
        raise DataError(f"folder {folder} is empty; put images in it (jpg, png, ...)")
    raise DataError(f"folder {folder} has no images (found {others} other files; looked recursively for "
                    ".jpg, .jpeg, .png, .bmp, .gif, .webp, .tif)")


@dataclass
class Part:
    """One list of image files (a split or a domain) and what became of it."""

    name: str
    folder: Path
    files: list[Path]
    labels: list[int] | None = None
    sizes: list[tuple[int, int]] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    def check_headers(self) -> None:
        """Read every header: unreadable files are dropped (and remembered)."""
        keep, labels, sizes = [], [], []
        for i, path in enumerate(self.files):
            try:
                size = read_size(path)
            except Exception as exc:  # PIL raises many kinds for files that are not images
                self.skipped.append((path, short_reason(exc)))
                continue
            keep.append(path)
            sizes.append(size)
            if self.labels is not None:
                labels.append(self.labels[i])
        self.files, self.sizes = keep, sizes
        if self.labels is not None:
            self.labels = labels

    def identity(self, content: str | None) -> list[object]:
        """What the files are: `content` (a verified archive's hash) or each file's name, size and sha256.

        Names are relative to the part's folder, so a copy of the folder elsewhere is the same data.
        """
        if content is not None:
            return [content, self.name, len(self.files)]
        return [list(entry) for entry in file_digests(self.folder, self.files)]


def _class_layout(folder: Path) -> tuple[list[Path], list[int], list[str]] | None:
    """Files, labels and class names when `folder` holds only class sub-folders (two or more with images)."""
    entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    if any(e.is_file() and is_image_file(e) for e in entries):
        return None
    classes = []
    seen = {folder_id(folder)} - {None}  # a class folder never walks back into its parent or a sibling
    for sub in sorted((e for e in entries if e.is_dir()), key=lambda p: p.name):
        files, _ = scan_images(sub, seen=seen)  # type: ignore[arg-type]
        if files:
            classes.append((sub.name, files))
    if len(classes) < 2:
        return None
    files, labels = [], []
    for label, (_, members) in enumerate(classes):
        files.extend(members)
        labels.extend([label] * len(members))
    return files, labels, [name for name, _ in classes]


def _images_part(name: str, folder: Path) -> tuple[Part, list[str]]:
    layout = _class_layout(_check_folder(folder))
    if layout is not None:
        files, labels, classes = layout
        return Part(name, folder, files, labels), classes
    return Part(name, folder, _images_or_fail(folder)), []


# -- building data sets -------------------------------------------------------------------------
class _Builder:
    """Turns parts into ImageFiles with one budget, one warning line and one fingerprint scheme."""

    def __init__(self, options: DataOptions, *, content: str | None = None) -> None:
        self.options = options
        self.content = content
        self.parts: list[Part] = []

    def checked(self, part: Part) -> Part:
        part.check_headers()
        if not part.files:
            example = part.skipped[0] if part.skipped else None
            detail = f" (e.g. {example[0].name}: {example[1]})" if example else ""
            raise DataError(f"none of the {len(part.skipped)} images in {part.folder} can be read{detail}")
        _, size, crop, resize = effective(self.options)
        if crop.size is not None:
            small = []
            for path, (w, h) in zip(part.files, part.sizes):
                w2, h2 = (w, h) if size is None or resize == "none" else (
                    (size, size) if resize == "square" else (max(size, w), max(size, h)))
                if min(w2, h2) < crop.size:
                    small.append((path, w, h))
            if small:
                path, w, h = small[0]
                raise DataError(
                    f"{len(small)} of {len(part.files)} images in {part.folder} are smaller than the "
                    f"{crop.size}x{crop.size} crop (e.g. {path.name} is {w}x{h}) and no resize applies; "
                    "lower the image size or resize the images"
                )
        self.parts.append(part)
        return part

    def dataset(self, part: Part, options: DataOptions) -> ImageFiles:
        channels, size, crop, resize = effective(options)
        transform = {"channels": channels, "size": size, "resize": resize, **crop.describe()}
        return ImageFiles(part.files, crop, channels=channels, size=size, resize=resize, labels=part.labels,
                          fingerprint=fingerprint("folder", part.identity(self.content), part.labels,
                                                  transform),
                          where=str(part.folder))

    def finish(self, datasets: list[ImageFiles]) -> bool:
        """Preload within the memory budget (if asked), warn once about skipped files; True if all cached."""
        cached = False
        if self.options.preload:
            need = sum(ds.estimated_bytes(part.sizes) for ds, part in zip(datasets, self.parts))
            if need <= cache_budget_bytes():
                for ds, part in zip(datasets, self.parts):
                    part.skipped.extend(ds.preload(description=f"decoding {part.folder.name}"))
                    if len(ds) == 0:
                        raise DataError(f"none of the images in {part.folder} can be read "
                                        f"(e.g. {part.skipped[0][0].name}: {part.skipped[0][1]})")
                cached = True
        skipped = [s for part in self.parts for s in part.skipped]
        if skipped:
            total = sum(len(ds) for ds in datasets) + len(skipped)
            path, reason = skipped[0]
            reason = reason.replace(f"'{path}'", "").replace(str(path), "").strip(" :") or "unreadable"
            warn(f"skipped {len(skipped)} unreadable image{'s' if len(skipped) != 1 else ''} of {total} "
                 f"(e.g. {path}: {reason})")
        return cached


def _source(ref: str, kind: str, train, test, channels: int, options: DataOptions, *, in_memory: bool,
            class_names=(), description: str = "", extras=None) -> DataSource:
    extras = dict(extras or {})
    if test is not None:
        extras["test_fingerprint"] = getattr(test, "fingerprint", "")
    return DataSource(
        ref=ref, kind=kind, train=train, test=test, channels=channels, image_size=options.image_size,
        num_classes=len(class_names) or None, class_names=tuple(class_names), in_memory=in_memory,
        fingerprint=getattr(train, "fingerprint", ""), description=description, extras=extras,
    )


def load_images_folder(ref: str, folder: Path, options: DataOptions) -> DataSource:
    """A plain or class-labelled image folder, optionally with train/test sub-folders."""
    folder = _check_folder(folder.expanduser())
    builder = _Builder(options)
    subdirs = {e.name: e for e in folder.iterdir() if e.is_dir() and not e.name.startswith(".")}
    top_images = any(is_image_file(e) for e in folder.iterdir() if e.is_file())
    test_part = None
    if "train" in subdirs and set(subdirs) <= set(SPLIT_NAMES) and not top_images:
        train_part, classes = _images_part("train", subdirs["train"])
        for name in ("test", "val", "valid", "validation"):
            if name in subdirs:
                test_part, test_classes = _images_part(name, subdirs[name])
                if classes and test_classes != classes:
                    raise DataError(f"the class folders of {subdirs[name]} ({', '.join(test_classes)}) differ "
                                    f"from those of {subdirs['train']} ({', '.join(classes)})")
                break
    else:
        train_part, classes = _images_part("train", folder)
    unsplit = test_part is None and train_part.folder == folder  # all of the folder's images, no split
    builder.checked(train_part)
    if test_part is not None:
        builder.checked(test_part)
    train = builder.dataset(train_part, options)
    test = builder.dataset(test_part, held_out(options)) if test_part is not None else None
    in_memory = builder.finish([train] + ([test] if test is not None else []))
    channels = effective(options)[0]
    kind = "labelled" if classes else "images"
    count = f"{len(train)} images" + (f" in {len(classes)} classes" if classes else "")
    return _source(ref, kind, train, test, channels, options, in_memory=in_memory, class_names=classes,
                   description=f"image folder {folder} ({count})", extras={"unsplit": True} if unsplit else None)


def _unpaired(ref: str, folders: dict[str, Path], options: DataOptions, *,
              content: str | None = None, description: str = "", unsplit: bool = False) -> DataSource:
    builder = _Builder(options, content=content)
    parts = {key: builder.checked(Part(key, path, _images_or_fail(_check_folder(path))))
             for key, path in folders.items()}
    train_opts, test_opts = options, held_out(options)
    sets = {key: builder.dataset(part, test_opts if key.startswith("test") else train_opts)
            for key, part in parts.items()}
    in_memory = builder.finish(list(sets.values()))
    from ganzoo.data.tensors import UnpairedDataset

    train = UnpairedDataset(sets["a"], sets["b"], fingerprint=fingerprint(sets["a"].fingerprint, sets["b"].fingerprint))
    test = None
    if "test_a" in sets and "test_b" in sets:
        test = UnpairedDataset(sets["test_a"], sets["test_b"],
                               fingerprint=fingerprint(sets["test_a"].fingerprint, sets["test_b"].fingerprint))
    sizes = {key: len(ds) for key, ds in sets.items()}
    text = description or f"unpaired folders ({', '.join(f'{k}: {v}' for k, v in sizes.items())})"
    return _source(ref, "unpaired", train, test, effective(options)[0], options, in_memory=in_memory,
                   description=text, extras={"counts": sizes, "unsplit": unsplit})


def unpaired_layout(folder: Path) -> dict[str, Path] | None:
    """{'a', 'b'[, 'test_a', 'test_b']} folders of a CycleGAN-layout folder; None if it has none of them."""
    present = {name for name in UNPAIRED_DIRS if (folder / name).is_dir()}
    if not present:
        return None
    if not {"trainA", "trainB"} <= present:
        missing = ", ".join(n for n in ("trainA", "trainB") if n not in present)
        raise DataError(f"{folder} has {', '.join(sorted(present))} but no {missing}: an unpaired folder needs "
                        "trainA and trainB (testA and testB are optional)")
    layout = {"a": folder / "trainA", "b": folder / "trainB"}
    if {"testA", "testB"} <= present:
        layout.update(test_a=folder / "testA", test_b=folder / "testB")
    elif present & {"testA", "testB"}:
        missing = "testB" if "testA" in present else "testA"
        raise DataError(f"{folder} has {'testA' if missing == 'testB' else 'testB'} but no {missing}; "
                        "add it or remove the other")
    return layout


def load_unpaired_folder(ref: str, folder: Path, options: DataOptions, *, content: str | None = None,
                         description: str = "") -> DataSource:
    folder = _check_folder(folder.expanduser())
    layout = unpaired_layout(folder)
    if layout is None:
        raise DataError(f"{folder} is not an unpaired folder: it needs trainA and trainB sub-folders "
                        "(testA and testB optional), or use a=PATH,b=PATH")
    return _unpaired(ref, layout, options, content=content, description=description)


def parse_pairs(text: str) -> dict[str, Path]:
    """`a=PATH,b=PATH[,test_a=PATH,test_b=PATH]` -> folders by key."""
    folders: dict[str, Path] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not value.strip():
            raise DataError(f"'{item.strip()}' in '{text}' is not KEY=PATH; use a=PATH,b=PATH")
        if key not in PAIR_KEYS:
            raise DataError(f"unknown key '{key}' in '{text}'; use a=, b=, test_a= and test_b=")
        if key in folders:
            raise DataError(f"'{key}=' is given twice in '{text}'")
        folders[key] = Path(value.strip()).expanduser()
    if "a" not in folders or "b" not in folders:
        raise DataError(f"'{text}' needs both a=PATH and b=PATH")
    if ("test_a" in folders) != ("test_b" in folders):
        raise DataError(f"'{text}' gives only one of test_a= and test_b=")
    return folders


# -- loaders named by the catalogue -------------------------------------------------------------
def load(ref: DataRef, options: DataOptions) -> DataSource:
    """`folder:PATH` or a bare PATH: an unpaired folder if it has trainA/trainB, else an image folder."""
    folder = Path(ref.argument or ref.text).expanduser()
    _check_folder(folder)
    if unpaired_layout(folder) is not None:
        return load_unpaired_folder(ref.text, folder, options)
    return load_images_folder(ref.text, folder, options)


def load_unpaired(ref: DataRef, options: DataOptions) -> DataSource:
    """`unpaired:PATH` (trainA/trainB/testA/testB) or `a=PATH,b=PATH[,test_a=...,test_b=...]`."""
    argument = (ref.argument or "").strip()
    if not argument:
        raise DataError("unpaired needs a folder (unpaired:PATH) or two (a=PATH,b=PATH)")
    if "=" in argument:
        folders = parse_pairs(argument)
        return _unpaired(ref.text, folders, options, unsplit="test_a" not in folders)  # a=, b= without test_a=
    return load_unpaired_folder(ref.text, Path(argument), options)
