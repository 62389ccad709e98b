"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

Every image gets every transform of the policy, with its own random parameters:
  color        brightness + U(-0.5, 0.5); saturation: deviation from the channel mean times U(0, 2);
               contrast: deviation from the image mean times U(0.5, 1.5)
  translation  a shift by a whole number of pixels, up to 1/8 of the side each way, zeros coming in
  cutout       a square of half the side (rounded) set to zero, centred anywhere in the image
All are plain tensor arithmetic, so gradients reach the generator through them.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def diff_augment(images: torch.Tensor, policy: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """`images` (N x C x H x W in [-1, 1]) through the transforms of `policy`, in order."""
    for name in policy:
        images = TRANSFORMS[name](images, generator)
    return images


def _uniform(generator: torch.Generator, n: int, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=generator).to(device=like.device, dtype=like.dtype)


def color(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random brightness, saturation and contrast."""
    n = images.shape[0]
    images = images + (_uniform(generator, n, images) - 0.5)
    mean = images.mean(dim=1, keepdim=True)
    images = (images - mean) * (_uniform(generator, n, images) * 2.0) + mean
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return (images - mean) * (_uniform(generator, n, images) + 0.5) + mean


def translation(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A random whole-pixel shift of each image (up to 1/8 of the side), filled with zeros."""
    n, _, h, w = images.shape
    sy, sx = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
    ty = torch.randint(-sy, sy + 1, (n,), generator=generator)
    tx = torch.randint(-sx, sx + 1, (n,), generator=generator)
    padded = F.pad(images, [sx, sx, sy, sy])
    # Output pixel (y, x) reads input pixel (y - ty, x - tx): offset by the padding.
    rows = (torch.arange(h)[None, :] - ty[:, None] + sy).to(images.device)  # N x H
    cols = (torch.arange(w)[None, :] - tx[:, None] + sx).to(images.device)  # N x W
    batch = torch.arange(n, device=images.device)[:, None, None]
    shifted = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # N x H x W x C
    return shifted.permute(0, 3, 1, 2).contiguous(memory_format=torch.contiguous_format)


def cutout(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Zero a square of half the side (rounded) at a random place in each image (clipped at the edges)."""
    n, _, h, w = images.shape
    ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
    # Centres range so that a square of odd size can touch either edge, as in the paper's code.
    cy = torch.randint(0, h + (1 - ch % 2), (n,), generator=generator)
    cx = torch.randint(0, w + (1 - cw % 2), (n,), generator=generator)
    y0, x0 = cy - ch // 2, cx - cw // 2
    ys, xs = torch.arange(h)[None, :], torch.arange(w)[None, :]
    inside_y = (ys >= y0[:, None]) & (ys < (y0 + ch)[:, None])  # N x H
    inside_x = (xs >= x0[:, None]) & (xs < (x0 + cw)[:, None])  # N x W
    keep = ~(inside_y[:, :, None] & inside_x[:, None, :])  # N x H x W
    return images * keep[:, None].to(device=images.device, dtype=images.dtype)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}
