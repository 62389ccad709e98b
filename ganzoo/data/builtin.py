"""The built-in data sets: scikit-learn's digits (plain, inverted, colourised, edge maps) and its two photographs.

Nothing is downloaded; everything is in memory and offers vectorised `get_batch`.

`digits-invert` and `digits-colorize` are unpaired two-domain sets whose true mapping is known:
  * the training half of `digits` is split (stratified by class) into two disjoint parts; domain A is
    the first part as it is, domain B is the fixed transform of the second part, so no image of B is
    the transform of an image of A;
  * the held-out half gives an aligned test set: item i is {"a": x_i, "b": true_a2b(x_i)};
  * `DataSource.extras["true_a2b"]` and `["true_b2a"]` are the mappings (picklable functions on
    tensors in [-1, 1], shape ... x C x H x W), for measuring translation error.

`digits-edges` is a paired set: every training item is an aligned pair {"a": edge map, "b": digit}
(`digit_edges`), and the held-out half gives the test pairs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ganzoo.data.digits_split import digits_arrays
from ganzoo.data.fingerprint import fingerprint
from ganzoo.data.images import ArrayImages, CropFlip, resize_target
from ganzoo.data.source import DataOptions, DataRef, DataSource
from ganzoo.data.tensors import AlignedPairs, TensorImages, UnpairedDataset
from ganzoo.errors import DataError

DIGITS_SIZE = 32
DIGIT_CLASSES = tuple(str(d) for d in range(10))
PHOTO_CROP = 256
PHOTO_CROPS_PER_IMAGE = 512
"""Length of an epoch of `photos` crops, per content image (the crops are random, so any length works)."""


# -- the true mappings (picklable: plain module-level functions) -------------------------------
def invert(images: torch.Tensor) -> torch.Tensor:
    """digits-invert's mapping A -> B and B -> A: intensity v -> 1 - v, i.e. x -> -x in [-1, 1]."""
    return -images


def gray_to_heat(images: torch.Tensor) -> torch.Tensor:
    """digits-colorize's A -> B: gray intensity v in [0, 1] (mean over channels) to the 'heat' colours
    r = clip(3v), g = clip(3v - 1), b = clip(3v - 2): black -> red -> yellow -> white. Input and output
    in [-1, 1]; output has 3 channels."""
    v = (images.mean(dim=-3, keepdim=True) + 1.0) / 2.0
    rgb = torch.cat([(3 * v).clamp(0, 1), (3 * v - 1).clamp(0, 1), (3 * v - 2).clamp(0, 1)], dim=-3)
    return rgb * 2.0 - 1.0


def heat_to_gray(images: torch.Tensor) -> torch.Tensor:
    """digits-colorize's B -> A: the exact inverse of `gray_to_heat` (v = (r + g + b) / 3), as 3-channel gray."""
    v = ((images + 1.0) / 2.0).mean(dim=-3, keepdim=True)
    return (v * 2.0 - 1.0).expand(*v.shape[:-3], 3, *v.shape[-2:]).contiguous()


def digit_edges(images: torch.Tensor) -> torch.Tensor:
    """digits-edges' B -> A: the edge map of digits, in [-1, 1] (input ... x C x H x W in [-1, 1]).

    The morphological gradient of the gray value v = (mean over channels + 1) / 2: the maximum of v
    over each pixel's 3 x 3 neighbourhood minus the minimum, so strokes become their outlines and
    flat areas (background, the inside of thick strokes) become 0. Output has the input's channels.
    """
    shape = images.shape
    v = ((images.mean(dim=-3, keepdim=True) + 1.0) / 2.0).reshape(-1, 1, *shape[-2:])
    grad = F.max_pool2d(v, 3, stride=1, padding=1) + F.max_pool2d(-v, 3, stride=1, padding=1)
    edges = (grad * 2.0 - 1.0).reshape(*shape[:-3], 1, *shape[-2:])
    return edges.expand(*shape[:-3], shape[-3], *shape[-2:]).contiguous()


UNPAIRED_DIGITS = {
    "digits-invert": {"a2b": invert, "b2a": invert, "domains": ("digits", "inverted digits")},
    "digits-colorize": {"a2b": gray_to_heat, "b2a": heat_to_gray, "domains": ("gray digits", "heat-coloured digits")},
}


# -- digits -------------------------------------------------------------------------------------
def _digits_channels(options: DataOptions, default: int = 1) -> int:
    channels = options.channels or default
    if channels not in (1, 3):
        raise DataError(f"the built-in digits come with 1 or 3 channels, not {channels}")
    return channels


def digits_tensor(split: str, size: int, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One half of the digits as N x C x size x size float32 in [-1, 1] (ink bright) and int64 labels."""
    images, labels = digits_arrays(split)
    x = torch.from_numpy(images).unsqueeze(1)
    if size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    x = x.clamp(0.0, 1.0).mul(2.0).sub(1.0)
    if channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous(), torch.from_numpy(labels)


def _size(options: DataOptions) -> int:
    size = options.image_size or DIGITS_SIZE
    if size < 1:
        raise DataError(f"image size must be positive, got {size}")
    return size


def load_digits(ref: DataRef, options: DataOptions) -> DataSource:
    """`digits`: the training half (901 images) labelled; `test` is the held-out half (896)."""
    size, channels = _size(options), _digits_channels(options)
    sets = {}
    for split in ("train", "test"):
        x, y = digits_tensor(split, size, channels)
        sets[split] = TensorImages(x, y, fingerprint=fingerprint("digits", split, x, y))
    return DataSource(
        ref=ref.text, kind="labelled", train=sets["train"], test=sets["test"], channels=channels, image_size=size,
        num_classes=10, class_names=DIGIT_CLASSES, in_memory=True, fingerprint=sets["train"].fingerprint,
        description=f"scikit-learn digits, training half ({len(sets['train'])} of 1797), 8x8 upsampled to {size}",
        extras={"test_fingerprint": sets["test"].fingerprint},
    )


def disjoint_halves(labels: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Positions split into two disjoint parts, alternating within each class (so both hold every class)."""
    labels = np.asarray(labels)
    first, second = [], []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        first.extend(members[0::2])
        second.extend(members[1::2])
    return np.array(sorted(first), dtype=np.int64), np.array(sorted(second), dtype=np.int64)


def load_digits_unpaired(ref: DataRef, options: DataOptions) -> DataSource:
    """`digits-invert` / `digits-colorize` (see the module docstring)."""
    name = ref.name
    if name not in UNPAIRED_DIGITS:
        raise DataError(f"no unpaired digits set called {name!r}; known: {', '.join(UNPAIRED_DIGITS)}")
    mapping = UNPAIRED_DIGITS[name]
    a2b, b2a = mapping["a2b"], mapping["b2a"]
    if name == "digits-colorize":
        if options.channels not in (None, 3):
            raise DataError("digits-colorize is a colour data set: both domains have 3 channels (use --channels 3)")
        channels = 3
    else:
        channels = _digits_channels(options)
    size = _size(options)
    x, y = digits_tensor("train", size, channels)
    part_a, part_b = disjoint_halves(y)
    images_a = x[torch.from_numpy(part_a)].contiguous()
    images_b = a2b(x[torch.from_numpy(part_b)]).contiguous()
    domain_a = TensorImages(images_a, fingerprint=fingerprint(name, "trainA", images_a))
    domain_b = TensorImages(images_b, fingerprint=fingerprint(name, "trainB", images_b))
    train = UnpairedDataset(domain_a, domain_b, fingerprint=fingerprint(domain_a.fingerprint, domain_b.fingerprint))
    x_test, y_test = digits_tensor("test", size, channels)
    b_test = a2b(x_test).contiguous()
    test = AlignedPairs(x_test, b_test, fingerprint=fingerprint(name, "test", x_test, b_test))
    return DataSource(
        ref=ref.text, kind="unpaired", train=train, test=test, channels=channels, image_size=size,
        in_memory=True, fingerprint=train.fingerprint,
        description=(f"{name}: A = {mapping['domains'][0]} ({len(domain_a)}), B = {mapping['domains'][1]} of a "
                     f"disjoint part ({len(domain_b)}); aligned held-out test set ({len(test)})"),
        extras={
            "true_a2b": a2b, "true_b2a": b2a, "domains": tuple(mapping["domains"]),
            "train_a_labels": y[torch.from_numpy(part_a)], "train_b_labels": y[torch.from_numpy(part_b)],
            "test_labels": y_test, "train_a_indices": part_a, "train_b_indices": part_b,
            "counts": {"trainA": len(domain_a), "trainB": len(domain_b), "test": len(test)},
            "test_fingerprint": test.fingerprint,
        },
    )


def load_digits_edges(ref: DataRef, options: DataOptions) -> DataSource:
    """`digits-edges`: aligned pairs {"a": edge map, "b": digit} of the training half; `test` of the held-out half."""
    size, channels = _size(options), _digits_channels(options)
    sets, labels = {}, {}
    for split in ("train", "test"):
        x, y = digits_tensor(split, size, channels)
        edges = digit_edges(x)
        sets[split] = AlignedPairs(edges, x, fingerprint=fingerprint("digits-edges", split, edges, x))
        labels[split] = y
    train, test = sets["train"], sets["test"]
    return DataSource(
        ref=ref.text, kind="paired", train=train, test=test, channels=channels, image_size=size, in_memory=True,
        fingerprint=train.fingerprint,
        description=(f"digits-edges: A = edge maps, B = digits, aligned; training half ({len(train)} pairs), "
                     f"held-out test pairs ({len(test)}), {size}x{size}"),
        extras={
            "true_b2a": digit_edges, "domains": ("digit edge maps", "digits"),
            "train_labels": labels["train"], "test_labels": labels["test"],
            "counts": {"train": len(train), "test": len(test)}, "test_fingerprint": test.fingerprint,
        },
    )


# -- photos -------------------------------------------------------------------------------------
def _sample_images() -> tuple[list[np.ndarray], list[str]]:
    from pathlib import Path

    from ganzoo.data.sklearn_files import load_sample_images

    images, filenames = load_sample_images()
    names = [Path(f).stem for f in filenames]
    return [np.array(img, dtype=np.uint8, copy=True) for img in images], names


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array).permute(2, 0, 1).to(torch.float32).div(127.5).sub(1.0)


def _resize_shorter(array: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    height, width = array.shape[:2]
    target = resize_target(width, height, size, "shorter")
    if target == (width, height):
        return array
    return np.array(Image.fromarray(array).resize(target, Image.BICUBIC), dtype=np.uint8)


def load_photos(ref: DataRef, options: DataOptions) -> DataSource:
    """`photos`: china.jpg as content, flower.jpg as style; `train` gives random crops of the content."""
    if options.channels not in (None, 3):
        raise DataError("photos are colour photographs (3 channels); use --channels 3")
    images, names = _sample_images()
    by_name = dict(zip(names, images))
    content_names, style_names = ["china"], ["flower"]
    content = [by_name[n] for n in content_names]
    style = [by_name[n] for n in style_names]
    crop = options.image_size or PHOTO_CROP
    arrays = []
    for array in content:
        if options.load_size:
            array = _resize_shorter(array, options.load_size)
        if min(array.shape[:2]) < crop:  # too small for the crop: scale it up rather than fail
            array = _resize_shorter(array, crop)
        arrays.append(array)
    train = ArrayImages(arrays, CropFlip(crop, random_crop=True, flip=bool(options.flip)),
                        repeat=PHOTO_CROPS_PER_IMAGE,
                        fingerprint=fingerprint("photos", content_names, *arrays, crop, bool(options.flip)))
    return DataSource(
        ref=ref.text, kind="style", train=train, test=None, channels=3, image_size=crop, in_memory=True,
        fingerprint=train.fingerprint,
        description=f"scikit-learn's photographs: content {', '.join(content_names)}, style {', '.join(style_names)}; "
                    f"random {crop}x{crop} crops of the content",
        extras={
            "content_images": [_as_tensor(a) for a in content], "content_names": content_names,
            "style_images": [_as_tensor(a) for a in style], "style_names": style_names,
        },
    )
