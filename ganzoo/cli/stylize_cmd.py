"""`ganzoo stylize`: apply a style to a content picture.

The method follows from `--style`: style *images* run `neural_style` (the picture is optimised by the
one Trainer, so it shows progress and, with `--run-dir`, can be resumed); a checkpoint, a run folder or
a pretrained `NAME.TAG` of a style-transfer model (e.g. `fast_style.candy`) stylises the content with
that model's `stylize` in one forward pass. This module is core code: it reaches the models only
through the registry, the training engine and `Model.stylize`, never by importing a plugin.

The result is written atomically (temporary file, then rename) as PNG or JPEG, with text metadata
saying how it was made: method, feature weights and their sha256 (or "random features", degraded),
steps and sizes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from ganzoo.configs import SEED_MAX
from ganzoo.errors import ConfigError, DataError, GanzooError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
OUTPUT_SUFFIXES = {".png", ".jpg", ".jpeg"}
NEURAL = "neural_style"

# Options that only make sense when the picture is optimised (style images, neural_style).
_NEURAL_ONLY = ("steps", "random_features", "weights", "backbone", "init", "optimizer", "scales", "blend",
                "set_items", "run_dir")


@click.command("stylize")
@click.option("--content", type=click.Path(dir_okay=False), default=None,
              help="Content image [default: the built-in photos' content picture, china.jpg].")
@click.option("--style", "styles", multiple=True, metavar="IMG|NAME.TAG|CKPT",
              help="Style image(s) (repeatable; optimised with neural_style), or a style-transfer checkpoint, run "
                   "folder or pretrained NAME.TAG such as fast_style.candy (one forward pass) "
                   "[default: the built-in photos' style picture, flower.jpg].")
@click.option("--style-blend", "blend", multiple=True, type=float,
              help="Weight of each --style image when several are given (repeatable) [default: equal].")
@click.option("--size", type=click.IntRange(min=16), default=None,
              help="Longest edge of the result [default: neural_style's image_size, 512; with a model: the "
                   "content's own size].")
@click.option("--steps", type=click.IntRange(min=1), default=None,
              help="Optimisation steps (one L-BFGS iteration each) [default: 300].")
@click.option("--random-features", is_flag=True, default=False,
              help="Run without pretrained feature weights (degraded; recorded in the result's metadata).")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Feature network weights file (torchvision's vgg19-dcbb9e9d.pth, or a timm model file).")
@click.option("--backbone", default=None, help="Feature network: vgg19, vgg16 or timm:NAME [default: vgg19].")
@click.option("--init", type=click.Choice(["content", "noise", "style"]), default=None,
              help="Starting picture [default: content].")
@click.option("--optimizer", type=click.Choice(["lbfgs", "adam"]), default=None,
              help="Optimiser of the picture [default: lbfgs].")
@click.option("--scales", type=click.IntRange(min=1, max=6), default=None,
              help="Coarse-to-fine scales, halving the size per scale [default: 1].")
@click.option("--preserve-color/--no-preserve-color", default=None,
              help="Keep the content's colours (luminance-only transfer) [default: off].")
@click.option("--set", "set_items", multiple=True, metavar="KEY=VALUE",
              help="Any other neural_style option, e.g. --set style_weight=1e5 --set tv_weight=0 (repeatable).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed (noise initialisation).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Keep the optimisation's run folder here (checkpoints, previews; rerun to resume) "
                   "[default: a temporary folder, removed afterwards].")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The picture to write (.png or .jpg).")
def stylize_cmd(content: str | None, styles: tuple[str, ...], blend: tuple[float, ...], size: int | None,
                steps: int | None, random_features: bool, weights: str | None, backbone: str | None,
                init: str | None, optimizer: str | None, scales: int | None, preserve_color: bool | None,
                set_items: tuple[str, ...], seed: int, device: str, run_dir: str | None, out: str) -> None:
    """Apply a style to a content picture: optimise it (style images) or run a trained model (NAME.TAG, CKPT).

    \b
      ganzoo stylize --style starry.jpg --content me.jpg --size 256 --out me-starry.png
      ganzoo stylize --style fast_style.candy --content me.jpg --out me-candy.jpg
      ganzoo stylize --random-features --size 128 --out demo.png     (offline demo, degraded)
    """
    target = Path(out)
    if target.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--out {out}: write a .png or .jpg file")
    if content is not None and not Path(content).is_file():
        raise DataError(f"--content {content}: no such image file")
    checkpoint = _model_source(styles)
    if checkpoint is not None:
        given = {"steps": steps, "random_features": random_features or None, "weights": weights,
                 "backbone": backbone, "init": init, "optimizer": optimizer, "scales": scales,
                 "blend": blend or None, "set_items": set_items or None, "run_dir": run_dir}
        extra = [name for name in _NEURAL_ONLY if given.get(name) is not None]
        if extra:
            flag = "--" + extra[0].replace("_", "-").replace("blend", "style-blend").replace("set-items", "set")
            raise ConfigError(f"{flag} applies to optimising with style images (neural_style), not to a trained "
                              f"model such as {checkpoint}")
        if preserve_color is not None:
            raise ConfigError("--preserve-color applies to neural_style; a trained model keeps its own colours")
        picture, meta = _with_model(checkpoint, content, size, device)
    else:
        flags = {"content": content, "style": styles, "style_blend": blend, "image_size": size,
                 "random_features": random_features, "weights": weights, "backbone": backbone, "init": init,
                 "optimizer": optimizer, "scales": scales, "preserve_color": preserve_color}
        picture, meta = _optimise(flags, steps=steps, set_items=set_items, seed=seed, device=device,
                                  run_dir=run_dir)
    path = save_picture(picture, target, meta)
    h, w = picture.shape[-2:]
    click.echo(f"Wrote {path} ({w}x{h}, {meta['ganzoo:method']})", err=True)
    if meta.get("ganzoo:degraded"):
        click.echo(f"Note: degraded result: {meta['ganzoo:degraded']}", err=True)


# -- which method ---------------------------------------------------------------------------------
def _model_source(styles: tuple[str, ...]) -> str | None:
    """The checkpoint/run folder/NAME.TAG named by --style, or None when --style names images."""
    if len(styles) != 1:
        for style in styles:
            _check_style_image(style)
        return None
    style = styles[0]
    path = Path(style)
    if path.is_dir() or path.suffix == ".safetensors":
        if not path.exists():
            raise ConfigError(f"--style {style}: no such checkpoint")
        return style
    if path.suffix.lower() in IMAGE_SUFFIXES or path.exists() or os.sep in style or "/" in style:
        _check_style_image(style)
        return None
    from ganzoo.registry import get_registry

    resolved = get_registry().resolve_model(style)  # an unknown name says so, with suggestions
    if resolved.tag is None:
        tags = get_registry().checkpoint_tags(resolved.spec.name)
        hint = f", e.g. {resolved.spec.name}.{tags[0]}" if tags else ""
        raise ConfigError(f"--style {style}: name pretrained weights as NAME.TAG{hint}, or give a style image")
    if resolved.spec.task != "style-transfer":
        raise ConfigError(f"--style {style}: {resolved.spec.name!r} is a {resolved.spec.task} model, not style transfer")
    return style


def _check_style_image(style: str) -> None:
    path = Path(style)
    if not path.is_file():
        raise DataError(f"--style {style}: no such image file (or checkpoint, or NAME.TAG)")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"--style {style}: not an image ({', '.join(sorted(IMAGE_SUFFIXES))})")


# -- a trained model: one forward pass ------------------------------------------------------------
def _with_model(source: str, content: str | None, size: int | None, device: str) -> tuple[Any, dict[str, str]]:
    import torch
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from ganzoo.engine.inference import load
    from ganzoo.engine.precision import resolve_device

    loaded = load(source, device=resolve_device(device))
    spec = loaded.spec
    if spec.task != "style-transfer":
        raise ConfigError(f"{source} is a {spec.task} model ({spec.name}), not a style-transfer model")
    stylize = getattr(loaded.model, "stylize", None)
    if stylize is None:
        raise ConfigError(f"{spec.name} ({spec.plugin}) has no stylize method; upgrade the plugin")
    notes = dict(loaded.checkpoint.meta.get("notes") or {})
    meta = _base_meta(spec.name, notes)
    meta["ganzoo:source"] = source
    meta["ganzoo:steps"] = str(loaded.checkpoint.step)
    meta["ganzoo:trained_on"] = str(loaded.checkpoint.meta.get("data") or "")
    if spec.name == NEURAL:  # a finished optimisation: its picture is the result
        if content is not None or size is not None:
            raise ConfigError(f"{source} is a neural_style run: its picture is fixed; drop --content and --size")
        with torch.inference_mode():
            picture = stylize(None, nets=loaded.nets).float().cpu()
        meta["ganzoo:method"] = NEURAL
    else:
        picture_in, content_name = _content_picture(content, spec.default_data)
        if size is not None:
            picture_in = _resize_longest(picture_in, size)
        meta["ganzoo:content"] = content_name
        meta["ganzoo:content_size"] = _wxh(picture_in)
        meta["ganzoo:features"] = "none needed: one forward pass of the transformation network"
        trained_with = notes.get("features")
        if trained_with:
            meta["ganzoo:trained_with"] = str(trained_with)
        with torch.inference_mode(), Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                                              TimeElapsedColumn(), transient=True) as progress:
            task = progress.add_task(f"stylizing with {spec.name}", total=1)
            picture = stylize(picture_in.to(loaded.device), nets=loaded.nets).float().cpu()
            progress.advance(task)
    meta["ganzoo:size"] = _wxh(picture)
    return picture, meta


def _content_picture(content: str | None, data_ref: str) -> tuple[Any, str]:
    """The content picture as a 1 x 3 x H x W tensor in [-1, 1], and how to name it in metadata."""
    if content is not None:
        return _read_picture(Path(content)), content
    from ganzoo.data import resolve_data
    from ganzoo.data.source import DataOptions

    ref = data_ref or "photos"
    data = resolve_data(ref, DataOptions(channels=3))
    pictures = data.extras.get("content_images") or []
    if not pictures:
        raise DataError(f"data {ref!r} has no content picture; give --content IMG")
    names = data.extras.get("content_names") or ["content"]
    picture = pictures[0]
    return (picture.unsqueeze(0) if picture.dim() == 3 else picture).float(), f"{ref}: {names[0]} (built-in)"


def _read_picture(path: Path) -> Any:
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.float32) / 127.5 - 1.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).contiguous()


def _resize_longest(picture: Any, longest: int) -> Any:
    import torch.nn.functional as F

    h, w = picture.shape[-2:]
    scale = longest / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    if size == (h, w):
        return picture
    mode = "area" if scale < 1 else "bicubic"
    out = F.interpolate(picture, size=size, mode=mode, **({} if mode == "area" else {"align_corners": False}))
    return out.clamp(-1.0, 1.0)


# -- style images: optimise the picture with neural_style -----------------------------------------
def _optimise(flags: Mapping[str, Any], *, steps: int | None, set_items: tuple[str, ...], seed: int, device: str,
              run_dir: str | None) -> tuple[Any, dict[str, str]]:
    import torch

    from ganzoo.engine.inference import load
    from ganzoo.engine.run import train
    from ganzoo.engine.trainer import Interrupted
    from ganzoo.registry import get_registry
    from ganzoo.run_config import resolve

    registry = get_registry()
    spec = registry.resolve_model(NEURAL).spec
    entry = registry.catalogue.models.get(spec.name)
    model_flags: dict[str, Any] = {}
    if flags["content"]:
        model_flags["content"] = str(Path(flags["content"]).resolve())
    if flags["style"]:
        model_flags["style"] = tuple(str(Path(s).resolve()) for s in flags["style"])
    if flags["style_blend"]:
        model_flags["style_blend"] = tuple(flags["style_blend"])
    if flags["random_features"]:
        model_flags["random_features"] = True
    if flags["weights"]:
        model_flags["feature_weights"] = str(Path(flags["weights"]).resolve())
    for key in ("image_size", "backbone", "init", "optimizer", "scales", "preserve_color"):
        if flags[key] is not None:
            model_flags[key] = flags[key]
    train_flags: dict[str, Any] = {"device": device, "seed": seed}
    if steps is not None:
        train_flags["steps"] = steps
    run = resolve(spec, catalogue_defaults=entry.defaults if entry else None, set_items=set_items,
                  model_flags=model_flags, train_flags=train_flags)
    folder = Path(run_dir) if run_dir else Path(tempfile.mkdtemp(prefix="ganzoo-stylize-"))
    try:
        try:
            result, _ = train(run, out=folder, resume=True, progress=True, announce=bool(run_dir))
        except Interrupted as stop:
            where = f"; rerun the same command to continue from {stop.checkpoint}" if run_dir else ""
            raise GanzooError(f"stopped at step {stop.step}{where}", exit_code=stop.exit_code) from None
        loaded = load(str(result.last_checkpoint))
        with torch.inference_mode():
            picture = loaded.model.stylize(None, nets=loaded.nets).float().cpu()
        notes = dict(loaded.checkpoint.meta.get("notes") or {})
        model_cfg = run.to_dict()["model"]
        meta = _base_meta(NEURAL, notes)
        meta["ganzoo:content"] = flags["content"] or f"{run.train.data or spec.default_data}: content picture (built-in)"
        meta["ganzoo:style"] = ", ".join(flags["style"]) or f"{run.train.data or spec.default_data}: style picture (built-in)"
        meta["ganzoo:steps"] = str(loaded.checkpoint.step)
        meta["ganzoo:size"] = _wxh(picture)
        for key in ("content_size", "style_sizes"):
            if notes.get(key):
                meta[f"ganzoo:{key}"] = str(notes[key])
        meta["ganzoo:seed"] = str(seed)
        meta["ganzoo:config"] = json.dumps(model_cfg, sort_keys=True)
        if run_dir:
            meta["ganzoo:run"] = str(folder)
        return picture, meta
    finally:
        if not run_dir:
            shutil.rmtree(folder, ignore_errors=True)


# -- metadata and writing -------------------------------------------------------------------------
def _base_meta(model: str, notes: Mapping[str, Any]) -> dict[str, str]:
    from ganzoo import __version__

    meta = {"ganzoo:method": str(notes.get("method") or model), "ganzoo:model": model,
            "ganzoo:version": __version__}
    if notes.get("features"):
        meta["ganzoo:features"] = str(notes["features"])
    if notes.get("feature_weights_sha256"):
        meta["ganzoo:feature_weights_sha256"] = str(notes["feature_weights_sha256"])
    if notes.get("degraded"):
        meta["ganzoo:degraded"] = str(notes["degraded"])
    for key in ("converted_from", "source_url", "source_sha256"):
        if notes.get(key):
            meta[f"ganzoo:{key}"] = str(notes[key])
    return meta


def _wxh(picture: Any) -> str:
    return f"{int(picture.shape[-1])}x{int(picture.shape[-2])}"


def save_picture(picture: Any, path: str | Path, metadata: Mapping[str, str]) -> Path:
    """Write a 1 x 3 x H x W [-1, 1] picture as PNG (text chunks) or JPEG (comment + EXIF description), atomically."""
    target = Path(path)
    image = picture[0] if picture.dim() == 4 else picture
    if target.suffix.lower() == ".png":
        from ganzoo.engine.images import save_png

        return save_png(image, target, metadata=metadata)
    import numpy as np
    from PIL import Image

    from ganzoo.engine.images import to_uint8

    array = to_uint8(image.unsqueeze(0))[0].permute(1, 2, 0).numpy()
    pil = Image.fromarray(np.ascontiguousarray(array))
    text = json.dumps(dict(metadata), sort_keys=True)
    exif = Image.Exif()
    exif[0x010E] = text  # ImageDescription
    exif[0x0131] = f"ganzoo {metadata.get('ganzoo:version', '')}".strip()  # Software
    from ganzoo.atomic import atomic_path

    with atomic_path(target) as tmp:
        pil.save(tmp, format="JPEG", quality=95, comment=text.encode("utf-8"), exif=exif.tobytes())
    return target
