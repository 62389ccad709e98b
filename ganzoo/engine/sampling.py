"""What `ganzoo sample` offers beyond a grid: truncation, one image per seed, and latent walks as GIFs.

- Truncation works for models that declare a `truncation_psi` attribute (StyleGAN: w is pulled towards
  the tracked average w by psi); others refuse it in one line.
- `--seeds 0-7,12`: image i comes from a CPU generator seeded with seed i alone, so an image depends on
  its seed (and label), not on how many others are drawn, and is the same on every machine.
- `--interpolate K`: a walk through the latents of the seeds (or of --n keypoints), K frames from each
  keypoint to the next and back to the first, spherical interpolation (latents are Gaussian), for every
  noise-to-image model with a latent vector (`sample_latent` + `run_generator`, or `synthesize`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganzoo.configs import SEED_MAX
from ganzoo.errors import ConfigError

SEEDS_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")
MAX_SEEDS = 100_000


def parse_seeds(text: str) -> list[int]:
    """Seeds from text such as `0-7`, `3,5,9` or `0-3,10`; ranges are inclusive."""
    seeds: list[int] = []
    for part in text.split(","):
        match = SEEDS_RE.match(part)
        if not match:
            raise ConfigError(f"--seeds {text!r}: write numbers and ranges like 0-7,12")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            raise ConfigError(f"--seeds {text!r}: the range {first}-{last} runs backwards")
        if last > SEED_MAX:
            raise ConfigError(f"--seeds {text!r}: seeds go up to {SEED_MAX}")
        if len(seeds) + last - first + 1 > MAX_SEEDS:
            raise ConfigError(f"--seeds {text!r}: more than {MAX_SEEDS} seeds")
        seeds.extend(range(first, last + 1))
    return seeds


def apply_truncation(loaded: Any, psi: float | None) -> None:
    """Set the truncation psi of the loaded model, or refuse when the model has none."""
    if psi is None:
        return
    if not 0.0 <= psi <= 1.0 or not math.isfinite(psi):
        raise ConfigError(f"--truncation {psi}: psi must be between 0 and 1")
    if not hasattr(loaded.model, "truncation_psi"):
        raise ConfigError(f"{loaded.spec.name!r} has no truncation trick; drop --truncation")
    loaded.model.truncation_psi = float(psi)


def seed_latent(model: Any, seed: int) -> torch.Tensor:
    """The latent vector of one seed (1 x latent size), drawn on the CPU."""
    return model.sample_latent(1, torch.Generator().manual_seed(seed)).cpu()


def check_latent_model(loaded: Any, what: str) -> None:
    model = loaded.model
    if not hasattr(model, "sample_latent") or not (hasattr(model, "synthesize") or hasattr(model, "run_generator")):
        raise ConfigError(f"{loaded.spec.name!r} has no latent vector to {what}")


@torch.inference_mode()
def images_from_latents(loaded: Any, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Images in [-1, 1] (on the CPU) of the given latents with the loaded inference networks."""
    model = loaded.model
    z = z.to(model.device)
    if labels is not None:
        labels = labels.to(model.device)
    if hasattr(model, "synthesize"):
        images = model.synthesize(z, labels, nets=loaded.nets)
    else:
        images = model.run_generator(model.net("G", loaded.nets), z, labels)
    return images.float().clamp(-1, 1).cpu()


def generate_for_seeds(loaded: Any, seeds: Sequence[int], labels: torch.Tensor | None,
                       batch_size: int = 64) -> torch.Tensor:
    """One image per seed (with labels[i] for a conditional model)."""
    check_latent_model(loaded, "draw per seed")
    z = torch.cat([seed_latent(loaded.model, s) for s in seeds])
    chunks = []
    for start in range(0, len(seeds), batch_size):
        part = labels[start:start + batch_size] if labels is not None else None
        chunks.append(images_from_latents(loaded, z[start:start + batch_size], part))
    return torch.cat(chunks)


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between rows of a and b (linear when they are parallel)."""
    an, bn = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.acos((an * bn).sum(-1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:
        return a + (b - a) * t
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


def walk_latents(keys: torch.Tensor, frames: int) -> torch.Tensor:
    """`frames` latents from each key to the next, looping back to the first (K x N frames in all)."""
    out = []
    for i in range(len(keys)):
        a, b = keys[i:i + 1], keys[(i + 1) % len(keys):(i + 1) % len(keys) + 1]
        out.extend(slerp(a, b, j / frames) for j in range(frames))
    return torch.cat(out)


def latent_walk(loaded: Any, seeds: Sequence[int], frames: int, label: int | None, batch_size: int = 64) -> torch.Tensor:
    """Frames of a loop through the latents of `seeds` (one class for a conditional model)."""
    check_latent_model(loaded, "walk through")
    if len(seeds) < 2:
        raise ConfigError("--interpolate needs at least two keypoints: --n 2 or more, or two seeds")
    z = walk_latents(torch.cat([seed_latent(loaded.model, s) for s in seeds]), frames)
    labels = None
    if loaded.num_classes is not None:
        labels = torch.full((len(z),), 0 if label is None else label, dtype=torch.long)
    chunks = []
    for start in range(0, len(z), batch_size):
        part = labels[start:start + batch_size] if labels is not None else None
        chunks.append(images_from_latents(loaded, z[start:start + batch_size], part))
    return torch.cat(chunks)


def save_gif(frames: torch.Tensor, path: str | Path, *, fps: float = 12.0) -> Path:
    """Write frames in [-1, 1] (N x C x H x W) as a looping animated GIF, atomically."""
    import numpy as np
    from PIL import Image

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    array = ((frames.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    mode = "L" if array.shape[-1] == 1 else "RGB"
    images = [Image.fromarray(a[..., 0] if mode == "L" else np.ascontiguousarray(a), mode) for a in array]
    tmp = target.with_name(f".{target.name}.tmp")
    images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
    tmp.replace(target)
    return target
