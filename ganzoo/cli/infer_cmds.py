"""`ganzoo sample`, `ganzoo export` and `ganzoo translate`: using trained models."""

from __future__ import annotations

import math
from pathlib import Path

import click

from ganzoo.configs import SEED_MAX
from ganzoo.errors import ConfigError, DataError, GanzooError

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
              help="Class label (conditional models).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed of the latents.")
@click.option("--size", type=click.IntRange(min=1), default=None,
              help="Resize outputs to SIZE x SIZE (area down-sampling; e.g. a lower ProGAN resolution).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Images generated per forward pass.")
@click.option("--out", "out", required=True, type=click.Path(),
              help="A .png path for one grid, or a folder for one PNG per image (a .gif with --interpolate).")
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
    """Generate images from SOURCE: a checkpoint file, a run folder, or a pretrained NAME.TAG."""
    import torch

    from ganzoo.engine.images import save_grid, save_png
    from ganzoo.engine.inference import load

    loaded = load(source, device=_resolve_device(device), channels_last=True)
    if loaded.spec.task not in ("unconditional", "conditional"):
        raise ConfigError(
            f"{loaded.spec.name!r} is a {loaded.spec.task} model; use "
            + ("'ganzoo translate'" if loaded.spec.task == "image-to-image" else "'ganzoo stylize'")
        )
    from ganzoo.cli.sample_extras import sample_extras

    if sample_extras(loaded, source, out=out, label=label, seed=seed, n=n, size=size, batch_size=batch_size,
                     truncation=truncation, seeds=seeds, interpolate=interpolate):
        return
    k = loaded.num_classes
    labels = None
    nrow = None
    target = Path(out)
    as_grid = target.suffix.lower() == ".png"
    if label is not None:
        if k is None:
            raise ConfigError(f"{loaded.spec.name!r} is not class-conditional; drop --label")
        if label >= k:
            raise ConfigError(f"--label {label} is out of range: the model has {k} classes (0..{k - 1})")
        labels = torch.full((n,), label, dtype=torch.long)
    elif k is not None and as_grid:
        per_class = max(1, n // k)
        labels = torch.arange(k).repeat_interleave(per_class)
        n, nrow = len(labels), per_class
    elif k is not None:
        labels = torch.arange(n) % k
    images = _generate_with_progress(loaded, n, seed=seed, labels=labels, batch_size=batch_size)
    if size is not None and size != images.shape[-1]:
        images = torch.nn.functional.interpolate(images, size=(size, size), mode="area" if size < images.shape[-1]
                                                 else "nearest")
    meta = {"ganzoo:source": source, "ganzoo:model": loaded.spec.name, "ganzoo:seed": str(seed),
            "ganzoo:step": str(loaded.checkpoint.step)}
    if label is not None:
        meta["ganzoo:label"] = str(label)
    if as_grid:
        path = save_grid(images, target, nrow=nrow or max(1, math.ceil(math.sqrt(n))), metadata=meta)
        click.echo(f"Wrote a grid of {n} images to {path}", err=True)
        return
    target.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        suffix = f"-label{int(labels[i])}" if labels is not None else ""
        save_png(image, target / f"{i:05d}{suffix}.png", metadata=meta)
    click.echo(f"Wrote {n} images to {target}/", err=True)


def _generate_with_progress(loaded, n: int, *, seed: int, labels, batch_size: int):
    import torch
    from rich.progress import Progress

    generator = torch.Generator().manual_seed(seed)
    chunks = []
    with torch.inference_mode(), Progress(transient=True, disable=n <= batch_size) as progress:
        task = progress.add_task("sampling", total=n)
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            chunk_labels = labels[start:start + count] if labels is not None else None
            chunks.append(loaded.model.generate(count, generator=generator, labels=chunk_labels,
                                                nets=loaded.nets).float().cpu())
            progress.advance(task, count)
    return torch.cat(chunks)


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


def read_image(path: Path, channels: int, size: int):
    """An image file as a 1 x C x size x size tensor in [-1, 1]."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            img = img.resize((size, size), Image.BICUBIC)
            array = np.asarray(img, dtype=np.float32) / 127.5 - 1.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    tensor = torch.from_numpy(array)
    tensor = tensor.unsqueeze(0) if channels == 1 else tensor.permute(2, 0, 1)
    return tensor.unsqueeze(0)


@click.command("translate")
@click.argument("source")
@click.option("--input", "inputs", multiple=True, required=True, type=click.Path(),
              help="Image file or folder (repeatable).")
@click.option("--direction", type=click.Choice(["a2b", "b2a"]), default="a2b", show_default=True,
              help="Translate domain A to B, or B to A.")
@click.option("--size", type=click.IntRange(min=8), default=None,
              help="Resize inputs to SIZE x SIZE first [default: the model's image size].")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--mode", default=None, metavar="MODE",
              help="How the networks run, for models that offer a choice (pix2pix: train = as the reference's "
                   "test script runs them by default, eval = its --eval) [default: the model's first].")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@_device_option
def translate_cmd(source: str, inputs: tuple[str, ...], direction: str, size: int | None, batch_size: int,
                  mode: str | None, out: str, device: str) -> None:
    """Translate images with an image-to-image model (SOURCE: a checkpoint or NAME.TAG); keeps file names."""
    import torch
    from rich.progress import Progress

    from ganzoo.engine.images import save_png
    from ganzoo.engine.inference import load

    loaded = load(source, device=_resolve_device(device), channels_last=True)
    if loaded.spec.task != "image-to-image":
        raise ConfigError(f"{loaded.spec.name!r} is a {loaded.spec.task} model, not an image-to-image model")
    used_mode = loaded.translate_mode(mode)
    files = collect_images(inputs)
    config = loaded.run_config.model
    channels = getattr(config, "channels", None) or 3
    size = size or getattr(config, "image_size", None) or 256
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    names = _output_names(files)
    meta = {"ganzoo:source": source, "ganzoo:model": loaded.spec.name, "ganzoo:direction": direction}
    if used_mode is not None:
        meta["ganzoo:mode"] = used_mode
    with torch.inference_mode(), Progress(transient=False) as progress:
        task = progress.add_task(f"translating {direction}", total=len(files))
        for start in range(0, len(files), batch_size):
            chunk = files[start:start + batch_size]
            batch = torch.cat([read_image(p, channels, size) for p in chunk]).contiguous(
                memory_format=torch.channels_last)
            try:
                outputs = loaded.translate(batch, direction=direction, mode=mode)
            except GanzooError:
                raise
            for path, image in zip(chunk, outputs):
                save_png(image, target / names[path], metadata={**meta, "ganzoo:input": path.name})
            progress.advance(task, len(chunk))
    click.echo(f"Wrote {len(files)} images to {target}/", err=True)


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
