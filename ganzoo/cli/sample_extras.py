"""`ganzoo sample --truncation / --seeds / --interpolate`: the options beyond a grid of random latents."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from ganzoo.errors import ConfigError

MAX_WALK_KEYS = 8


def _labels_for(loaded: Any, label: int | None, count: int):
    import torch

    k = loaded.num_classes
    if label is not None:
        if k is None:
            raise ConfigError(f"{loaded.spec.name!r} is not class-conditional; drop --class")
        if label >= k:
            raise ConfigError(f"--class {label} is out of range: the model has {k} classes (0..{k - 1})")
        return torch.full((count,), label, dtype=torch.long)
    return torch.arange(count) % k if k is not None else None


def _resize(images: Any, size: int | None) -> Any:
    import torch

    if size is None or size == images.shape[-1]:
        return images
    mode = "area" if size < images.shape[-1] else "nearest"
    return torch.nn.functional.interpolate(images, size=(size, size), mode=mode)


def sample_extras(loaded: Any, source: str, *, out: str, label: int | None, seed: int, n: int, size: int | None,
                  batch_size: int, truncation: float | None, seeds: str | None, interpolate: int | None) -> bool:
    """Apply --truncation; write the output of --seeds or --interpolate and return True (False: a plain sample)."""
    from ganzoo.engine import sampling

    sampling.apply_truncation(loaded, truncation)
    target = Path(out)
    suffix = target.suffix.lower()
    if interpolate is None and suffix == ".gif":
        raise ConfigError("--out ends in .gif: add --interpolate K for a latent walk, or write a .png grid")
    if seeds is None and interpolate is None:
        return False
    seed_list = sampling.parse_seeds(seeds) if seeds is not None else None
    meta = {"ganzoo:source": source, "ganzoo:model": loaded.spec.name, "ganzoo:step": str(loaded.checkpoint.step)}
    if truncation is not None:
        meta["ganzoo:truncation"] = str(truncation)
    if interpolate is not None:
        if suffix != ".gif":
            raise ConfigError("--interpolate writes an animated GIF: give --out WALK.gif")
        keys = seed_list if seed_list is not None else list(range(seed, seed + max(2, min(n, MAX_WALK_KEYS))))
        _labels_for(loaded, label, 1)  # checks --class
        frames = _resize(sampling.latent_walk(loaded, keys, interpolate, label, batch_size=batch_size), size)
        path = sampling.save_gif(frames, target)
        click.echo(f"Wrote a walk of {len(frames)} frames through seeds {keys[0]}..{keys[-1]} to {path}", err=True)
        return True
    assert seed_list is not None
    from ganzoo.engine.images import save_grid, save_png

    labels = _labels_for(loaded, label, len(seed_list))
    images = _resize(sampling.generate_for_seeds(loaded, seed_list, labels, batch_size=batch_size), size)
    if suffix == ".png":
        path = save_grid(images, target, nrow=max(1, math.ceil(math.sqrt(len(images)))),
                         metadata={**meta, "ganzoo:seeds": seeds or ""})
        click.echo(f"Wrote a grid of {len(images)} images (seeds {seeds}) to {path}", err=True)
        return True
    target.mkdir(parents=True, exist_ok=True)
    for i, (s, image) in enumerate(zip(seed_list, images)):
        tag = f"-class{int(labels[i])}" if labels is not None else ""
        save_png(image, target / f"seed{s:04d}{tag}.png", metadata={**meta, "ganzoo:seed": str(s)})
    click.echo(f"Wrote {len(images)} images (seeds {seeds}) to {target}/", err=True)
    return True
