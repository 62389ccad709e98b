"""`ganzoo sample`, `ganzoo export` and `ganzoo translate`: using trained models."""

from __future__ import annotations

import contextlib
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import click

from ganzoo.configs import SEED_MAX
from ganzoo.errors import ConfigError, DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


def _device_option(f):
    return click.option("--device", default="cpu", show_default=True,
                        help="cpu, cuda, mps or auto.")(f)


def _resolve_device(name: str):
    from ganzoo.engine.precision import resolve_device

    return resolve_device(name)


@click.command("sample")
@click.argument("source")
@click.option("--n", "n", type=click.IntRange(min=1), default=64, show_default=True, help="Number of images.")
@click.option("--label", "--class", "label", type=click.IntRange(min=0), default=None,
              help="Class label (conditional models) [default: labels 0, 1, ..., k-1, 0, ... in turn].")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed of the latents.")
@click.option("--size", type=click.IntRange(min=1), default=None,
              help="Resize outputs to SIZE x SIZE (area down-sampling; e.g. a lower ProGAN resolution).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Images generated per forward pass.")
@click.option("--out", "out", required=True, type=click.Path(),
              help="A .png file for one grid, or a folder (any name without an image suffix) for one PNG per "
                   "image, written as they are generated (a .gif with --interpolate).")
@click.option("--truncation", type=float, default=None, metavar="PSI",
              help="Truncation psi in [0, 1] for models that have it (StyleGAN); 1: none.")
@click.option("--seeds", default=None, metavar="LIST",
              help="One image per seed, e.g. 0-7,12 (the same images on every machine); replaces --n and --seed.")
@click.option("--interpolate", type=click.IntRange(min=1), default=None, metavar="K",
              help="A latent walk: K frames between consecutive keypoints (the --seeds, else up to 8 seeds from "
                   "--seed), written as an animated GIF.")
@_device_option
def sample_cmd(source: str, n: int, label: int | None, seed: int, size: int | None, batch_size: int, out: str,
               truncation: float | None, seeds: str | None, interpolate: int | None, device: str) -> None:
    """Generate images from SOURCE: a checkpoint file, a run folder (or its checkpoints/), or a pretrained NAME.TAG."""
    from ganzoo.cli._sources import an, check_source, task_hint

    checked = check_source(source)  # before torch: a wrong path, file or model fails in milliseconds
    spec = checked.spec
    if spec.task not in ("unconditional", "conditional"):
        raise ConfigError(f"{spec.name!r} is {an(spec.task)} model; use '{task_hint(spec.task)}'")
    extras = seeds is not None or interpolate is not None or Path(out).suffix.lower() == ".gif"
    writer = None if extras else output_for(out, n)
    import torch

    from ganzoo.engine.inference import load

    loaded = load(checked.load_ref, device=_resolve_device(device), channels_last=True)
    from ganzoo.cli.sample_extras import sample_extras

    if sample_extras(loaded, source, out=out, label=label, seed=seed, n=n, size=size, batch_size=batch_size,
                     truncation=truncation, seeds=seeds, interpolate=interpolate):
        return
    assert writer is not None
    labels = sample_labels(loaded.num_classes, n, label, spec.name)
    channels, side = _image_shape(loaded)
    side = size or side
    check_sample_memory(n, channels, side, batch_size, grid=writer.is_grid)
    meta = {"ganzoo:source": source, "ganzoo:model": spec.name, "ganzoo:seed": str(seed),
            "ganzoo:step": str(loaded.checkpoint.step)}
    if label is not None:
        meta["ganzoo:label"] = str(label)
    writer.begin(meta, nrow=grid_columns(n, loaded.num_classes if label is None else None))
    with _sampling_progress(n, batch_size) as advance:
        start = 0
        for images in loaded.iter_generate(n, seed=seed, labels=labels, batch_size=batch_size):
            if size is not None and size != images.shape[-1]:
                images = torch.nn.functional.interpolate(
                    images, size=(size, size), mode="area" if size < images.shape[-1] else "nearest")
            count = images.shape[0]
            writer.add(images, labels[start:start + count] if labels is not None else None, start)
            start += count
            advance(count)
    click.echo(writer.finish(), err=True)


def images_text(n: int) -> str:
    """'1 image', '16 images'."""
    return f"{n} image" if n == 1 else f"{n} images"


def output_for(out: str, n: int) -> GridOutput | FolderOutput:
    """What `--out` asks for, chosen from its name alone: an image file (a grid) or a folder."""
    target = Path(out).expanduser()
    suffix = target.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        if suffix != ".png":
            raise ConfigError(f"--out {out}: ganzoo writes PNG pictures; use {target.with_suffix('.png').name} for one "
                              "grid, or a folder name for one PNG per image")
        if target.is_dir():
            raise ConfigError(f"--out {out} is a folder; give a new .png file name for the grid")
        return GridOutput(target, n)
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for one PNG per image, or a .png name for a grid")
    return FolderOutput(target, n)


class GridOutput:
    """All images in one PNG grid (kept in memory as 8-bit pictures until written)."""

    is_grid = True

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.n = path, n
        self.chunks: list = []
        self.meta: dict[str, str] = {}
        self.nrow = 1

    def begin(self, meta: dict[str, str], *, nrow: int) -> None:
        self.meta, self.nrow = meta, nrow

    def add(self, images, labels, start: int) -> None:
        from ganzoo.engine.images import to_uint8

        self.chunks.append(to_uint8(images))

    def finish(self) -> str:
        import torch

        from ganzoo.engine.images import save_grid

        self.path.parent.mkdir(parents=True, exist_ok=True)
        path = save_grid(torch.cat(self.chunks), self.path, nrow=self.nrow, metadata=self.meta)
        return f"Wrote a grid of {images_text(self.n)} to {path}"


class FolderOutput:
    """One PNG per image, written chunk by chunk (memory stays bounded whatever --n is)."""

    is_grid = False

    def __init__(self, folder: Path, n: int) -> None:
        self.folder, self.n = folder, n
        self.meta: dict[str, str] = {}
        self.digits = max(5, len(str(n - 1)))

    def begin(self, meta: dict[str, str], *, nrow: int) -> None:
        self.meta = meta
        self.folder.mkdir(parents=True, exist_ok=True)

    def add(self, images, labels, start: int) -> None:
        from ganzoo.engine.images import save_png, to_uint8

        pictures = to_uint8(images)
        for i, image in enumerate(pictures):
            suffix = f"-label{int(labels[i])}" if labels is not None else ""
            save_png(image, self.folder / f"{start + i:0{self.digits}d}{suffix}.png", metadata=self.meta)

    def finish(self) -> str:
        return f"Wrote {images_text(self.n)} to {self.folder}/"


def sample_labels(k: int | None, n: int, label: int | None, name: str):
    """The class of each image: `label` for all, else 0, 1, ..., k-1, 0, ... in turn; None if unconditional."""
    import torch

    if label is not None:
        if k is None:
            raise ConfigError(f"{name!r} is not class-conditional; drop --label")
        if label >= k:
            raise ConfigError(f"--label {label} is out of range: the model has {k} classes (0..{k - 1})")
        return torch.full((n,), label, dtype=torch.long)
    return torch.arange(n) % k if k is not None else None


def grid_columns(n: int, k: int | None) -> int:
    """Grid width: one column per class when the labels fill whole rows, else about square."""
    if k is not None and n >= k and n % k == 0 and n // k <= 2 * k:
        return k
    return max(1, math.ceil(math.sqrt(n)))


def _image_shape(loaded) -> tuple[int, int]:
    config = loaded.run_config.model
    return int(getattr(config, "channels", None) or 3), int(getattr(config, "image_size", None) or 64)


def check_sample_memory(n: int, channels: int, side: int, batch_size: int, *, grid: bool) -> None:
    """Refuse, before generating, a --size, --batch-size or grid whose pictures exceed the memory available."""
    from ganzoo.engine.footprint import ENV, _size, memory_limit

    limit = memory_limit()
    if not limit:
        return
    image = channels * side * side * 4  # float32, as generated
    if image > limit:
        raise ConfigError(f"--size {side}: one {side}x{side} image needs about {_size(image)}, more than the "
                          f"{_size(limit)} of memory available; use a smaller --size, or set {ENV} to lift the limit")
    if image * min(batch_size, n) > limit:
        raise ConfigError(f"--batch-size {batch_size}: a batch of {side}x{side} images needs about "
                          f"{_size(image * min(batch_size, n))}, more than the {_size(limit)} of memory available; "
                          f"use a smaller --batch-size, or set {ENV} to lift the limit")
    if grid and 2 * n * image // 4 > limit:  # 8-bit pictures and the grid they are tiled into
        raise ConfigError(f"--n {n}: a grid of {n} {side}x{side} images needs about {_size(2 * n * image // 4)}, more "
                          f"than the {_size(limit)} of memory available; give --out a folder (images are then "
                          "written as they are generated)")


@contextlib.contextmanager
def _sampling_progress(n: int, batch_size: int):
    """A transient progress bar when there is more than one batch; yields `advance(count)`."""
    from rich.progress import Progress

    from ganzoo.cli._output import stderr_console

    console = stderr_console()
    with Progress(transient=True, disable=n <= batch_size or not console.is_terminal, console=console) as progress:
        task = progress.add_task("sampling", total=n)
        yield lambda count: progress.advance(task, count)


@click.command("export")
@click.argument("checkpoint")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The .safetensors file to write.")
def export_cmd(checkpoint: str, out: str) -> None:
    """Write a weights-only, self-describing safetensors file (EMA weights when present)."""
    from ganzoo.engine.inference import export_weights

    if not out.endswith(".safetensors"):
        raise ConfigError("--out must end in .safetensors")
    path = export_weights(checkpoint, out)
    size = path.stat().st_size / 1e6
    click.echo(f"Wrote {path} ({size:.1f} MB)", err=True)


def collect_images(inputs: tuple[str, ...]) -> list[Path]:
    """Image files named directly or found (recursively) in folders, in a stable order."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise DataError(f"input {path} does not exist")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not found:
                raise DataError(f"input folder {path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            files.extend(found)
        else:
            files.append(path)
    return files


def read_image(path: Path, channels: int, size: int | tuple[int, int] | None = None):
    """An image file as a 1 x C x H x W tensor in [-1, 1], and a note when it was converted or resized.

    `size`: an int for SIZE x SIZE, a (width, height) pair, or None to keep the file's own size.
    """
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    notes = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # image_sizes checked it already
            with Image.open(path) as img:
                mode = "L" if channels == 1 else "RGB"
                if img.mode != mode:
                    grey = img.mode in ("1", "L", "LA", "I", "I;16", "F")
                    if mode == "RGB" and grey:
                        notes.append("grey converted to RGB")
                    elif mode == "L" and not grey:
                        notes.append(f"{'colour' if img.mode != 'P' else 'palette'} converted to grey")
                img = img.convert(mode)
                wanted = (size, size) if isinstance(size, int) else tuple(size) if size is not None else img.size
                if tuple(wanted) != img.size:
                    notes.append(f"resized from {img.width}x{img.height} to {wanted[0]}x{wanted[1]}")
                    img = img.resize(tuple(wanted), Image.BICUBIC)
                array = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    except Image.DecompressionBombError:
        raise DataError(f"cannot read image {path}: it is too large to decode safely; shrink it first") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    tensor = torch.from_numpy(array)
    tensor = tensor.unsqueeze(0) if channels == 1 else tensor.permute(2, 0, 1)
    return tensor.unsqueeze(0), "; ".join(notes)


#: Conversion notes printed one line each; the rest are counted in one more line.
MAX_NOTES = 10


@click.command("translate")
@click.argument("source")
@click.option("--input", "inputs", multiple=True, required=True, type=click.Path(),
              help="Image file or folder (repeatable).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="Translate domain A to B, or B to A.")
@click.option("--size", type=click.IntRange(min=8), default=None,
              help="Resize inputs to SIZE x SIZE first [default: each image's own size for fully convolutional "
                   "generators, else the model's image size].")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--mode", default=None, metavar="MODE",
              help="How the networks run, for models that offer a choice (pix2pix: train = as the reference's "
                   "test script runs them by default, eval = its --eval) [default: the model's first].")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@_device_option
def translate_cmd(source: str, inputs: tuple[str, ...], direction: str, size: int | None, batch_size: int,
                  mode: str | None, out: str, device: str) -> None:
    """Translate images with an image-to-image model (SOURCE: a checkpoint, a run folder or NAME.TAG); keeps file names.

    Fully convolutional generators (CycleGAN's, pix2pix's) translate each image at its own size; one
    line says when an image is resized or converted (grey to RGB, colour to grey).
    """
    from ganzoo.cli._sources import an, check_source, task_hint

    checked = check_source(source)  # before torch: a wrong path, file or model fails in milliseconds
    spec = checked.spec
    if spec.task != "image-to-image":
        raise ConfigError(f"{spec.name!r} is {an(spec.task)} model, not an image-to-image model; "
                          f"use '{task_hint(spec.task)}'")
    files = collect_images(inputs)
    target = Path(out).expanduser()
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder")
    sizes = image_sizes(files)  # every header read before torch: a bad file fails fast, nothing written
    import torch
    from rich.progress import Progress

    from ganzoo.cli._output import stderr_console
    from ganzoo.engine.images import save_png
    from ganzoo.engine.inference import load

    loaded = load(checked.load_ref, device=_resolve_device(device), channels_last=True)
    used_mode = loaded.translate_mode(mode)
    config = loaded.run_config.model
    channels = getattr(config, "channels", None) or 3
    if size is None and not loaded.fully_convolutional:
        size = getattr(config, "image_size", None) or 256
    names = _output_names(files)
    meta = {"ganzoo:source": source, "ganzoo:model": spec.name, "ganzoo:direction": direction}
    if used_mode is not None:
        meta["ganzoo:mode"] = used_mode
    groups = list(_same_size_batches(files, sizes, size, batch_size))
    check_translate_memory(groups, sizes, size,
                           lambda: loaded.translation_bytes_per_pixel(channels=channels, direction=direction, mode=mode))
    notes = 0
    console = stderr_console()
    with torch.inference_mode(), Progress(transient=False, console=console, disable=not console.is_terminal) as progress:
        task = progress.add_task(f"translating {direction}", total=len(files))
        for group in groups:
            pictures = []
            for path in group:
                picture, note = read_image(path, channels, size)
                if note:
                    notes += 1
                    if notes <= MAX_NOTES:
                        console.print(f"{path.name}: {note}", markup=False, highlight=False, soft_wrap=True)
                pictures.append(picture)
            batch = torch.cat(pictures).contiguous(memory_format=torch.channels_last)
            outputs = loaded.translate(batch, direction=direction, mode=mode)
            target.mkdir(parents=True, exist_ok=True)  # only once there is something to write
            for path, image in zip(group, outputs):
                save_png(image, target / names[path], metadata={**meta, "ganzoo:input": path.name})
            progress.advance(task, len(group))
    if notes > MAX_NOTES:
        click.echo(f"({notes - MAX_NOTES} more images resized or converted)", err=True)
    click.echo(f"Wrote {images_text(len(files))} to {target}/", err=True)


def image_sizes(files: list[Path]) -> dict[Path, tuple[int, int]]:
    """Width and height of every input from its header, so an unreadable or oversized file is refused before
    anything is translated or written."""
    from PIL import Image, UnidentifiedImageError

    sizes = {}
    for path in files:
        try:
            with warnings.catch_warnings():  # between PIL's warning and its refusal: the memory check decides
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as img:
                    sizes[path] = img.size
        except Image.DecompressionBombError as exc:
            pixels = re.search(r"\((\d+) pixels\)", str(exc))
            what = f" ({int(pixels.group(1)) / 1e6:.0f} million pixels)" if pixels else ""
            raise DataError(f"cannot read image {path}: it is too large to decode safely{what}; "
                            "shrink it with an image editor first") from None
        except (UnidentifiedImageError, OSError) as exc:
            raise DataError(f"cannot read image {path}: {exc}") from None
    return sizes


def _same_size_batches(files: list[Path], sizes: dict[Path, tuple[int, int]], size: int | None, batch_size: int):
    """Consecutive files in batches of at most `batch_size` that share one size (all alike when `size` is set)."""
    group: list[Path] = []
    group_size = None
    for path in files:
        this = (size, size) if size is not None else sizes[path]
        if group and (this != group_size or len(group) >= batch_size):
            yield group
            group = []
        group.append(path)
        group_size = this
    if group:
        yield group


def check_translate_memory(groups: list[list[Path]], sizes: dict[Path, tuple[int, int]], size: int | None,
                           bytes_per_pixel: Callable[[], float]) -> None:
    """Refuse, before translating, a batch of images whose translation needs more than the memory available.

    `bytes_per_pixel` is measured only when a batch is large enough to matter (a few million pixels)."""
    from ganzoo.engine.footprint import ENV, _size, memory_limit

    limit = memory_limit()
    if not limit:
        return

    def pixels(path: Path) -> int:
        w, h = (size, size) if size is not None else sizes[path]
        return w * h

    totals = [(sum(pixels(p) for p in g), g) for g in groups]
    total, group = max(totals, key=lambda item: item[0], default=(0, []))
    if total * UPPER_BYTES_PER_PIXEL <= limit:
        return
    per_pixel = bytes_per_pixel()
    need = total * per_pixel
    if need <= limit:
        return
    largest = max(group, key=pixels)
    w, h = (size, size) if size is not None else sizes[largest]
    if pixels(largest) * per_pixel > limit:
        side = int(math.sqrt(limit / per_pixel) * 0.9)
        fix = f"use --size {max(8, side)} or smaller" if size is not None else f"pass --size {max(8, side)} (or smaller) to resize it"
        raise ConfigError(f"{largest.name} at {w}x{h} needs about {_size(pixels(largest) * per_pixel)} to translate, "
                          f"more than the {_size(limit)} of memory available; {fix}, or set {ENV} to lift the limit")
    raise ConfigError(f"a batch of {len(group)} {w}x{h} images needs about {_size(need)} to translate, more than the "
                      f"{_size(limit)} of memory available; use --batch-size 1, or set {ENV} to lift the limit")


#: Translation needs fewer bytes than this per input pixel for every first-party network (CycleGAN's
#: ResNet generator: about 1 KiB), so smaller batches are not measured.
UPPER_BYTES_PER_PIXEL = 8192


def _output_names(files: list[Path]) -> dict[Path, str]:
    """Output PNG names that keep input names, disambiguated when two inputs share a stem."""
    names: dict[Path, str] = {}
    used: set[str] = set()
    for path in files:
        name = f"{path.stem}.png"
        k = 1
        while name in used:
            name = f"{path.stem}-{k}.png"
            k += 1
        used.add(name)
        names[path] = name
    return names
