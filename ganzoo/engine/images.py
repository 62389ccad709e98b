"""Image grids and PNG files (written atomically, with text metadata saying how they were made)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] float images (N x C x H x W) to uint8 (N x C x H x W)."""
    x = images.detach().float().cpu().clamp(-1.0, 1.0)
    return ((x + 1.0) * 127.5).round().to(torch.uint8)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2, pad_value: int = 0) -> torch.Tensor:
    """Tile N x C x H x W uint8 (or [-1, 1] float) images into one C x H' x W' uint8 grid, `nrow` per row."""
    if images.dtype != torch.uint8:
        images = to_uint8(images)
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    ncol = min(nrow, n)
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, ncol * (w + padding) + padding), pad_value, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top = padding + r * (h + padding)
        left = padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid


def save_png(image: torch.Tensor, path: str | Path, *, metadata: Mapping[str, str] | None = None,
             scale: int = 1) -> Path:
    """Write a C x H x W uint8 (or [-1, 1] float) image as PNG through a temporary file."""
    from PIL import Image, PngImagePlugin

    if image.dtype != torch.uint8:
        image = to_uint8(image.unsqueeze(0))[0]
    array = image.permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        array = array[:, :, 0]
    pil = Image.fromarray(np.ascontiguousarray(array))
    if scale > 1:
        pil = pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)
    info = PngImagePlugin.PngInfo()
    for key, value in (metadata or {}).items():
        info.add_text(key, str(value))
    from ganzoo.atomic import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        pil.save(tmp, format="PNG", pnginfo=info)
    return target


def save_grid(images: torch.Tensor, path: str | Path, *, nrow: int | None = None,
              metadata: Mapping[str, str] | None = None, min_size: int = 256) -> Path:
    """Save [-1, 1] images as one PNG grid, enlarged (nearest) so small images stay visible."""
    grid = make_grid(images, nrow=nrow)
    scale = max(1, int(min_size // max(grid.shape[1], grid.shape[2], 1)))
    return save_png(grid, path, metadata=metadata, scale=scale)
