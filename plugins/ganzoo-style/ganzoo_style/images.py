"""Content and style pictures: reading, resizing, and keeping the content's colours.

Images here are 1 x 3 x H x W float tensors with RGB values in [0, 1] (the feature networks' input).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganzoo.errors import DataError


def read_image(path: str | Path) -> torch.Tensor:
    """An image file as a 1 x 3 x H x W tensor in [0, 1]."""
    from PIL import Image, UnidentifiedImageError

    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"image {file} does not exist")
    try:
        with Image.open(file) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as exc:
        raise DataError(f"cannot read image {file}: {exc}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).contiguous()


def as_image(value: Any) -> torch.Tensor:
    """A picture given as a tensor ([-1, 1] float or uint8, C x H x W or 1 x C x H x W), an array, a PIL image or a path."""
    if isinstance(value, (str, Path)):
        return read_image(value)
    if hasattr(value, "convert") and hasattr(value, "size"):  # PIL image
        array = np.asarray(value.convert("RGB"), dtype=np.float32) / 255.0
        return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).contiguous()
    if isinstance(value, np.ndarray):
        array = value.astype(np.float32) / (255.0 if value.dtype == np.uint8 else 1.0)
        if array.ndim == 2:
            array = np.stack([array] * 3, axis=-1)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0).contiguous()
    if isinstance(value, torch.Tensor):
        x = value.detach().cpu()
        if x.dim() == 3:
            x = x.unsqueeze(0)
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
        else:
            x = (x.float() + 1.0) / 2.0  # ganzoo's data convention: [-1, 1]
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return x.clamp(0.0, 1.0).contiguous()
    raise DataError(f"cannot use a {type(value).__name__} as an image")


def fit_size(height: int, width: int, longest: int) -> tuple[int, int]:
    """(h, w) with the longer side `longest`, keeping the aspect ratio."""
    scale = longest / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize a 1 x 3 x H x W image to `size` (area filter when shrinking, bicubic when enlarging)."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    if size[0] <= image.shape[-2] and size[1] <= image.shape[-1]:
        return F.interpolate(image, size=size, mode="area")
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False).clamp(0.0, 1.0)


def resize_longest(image: torch.Tensor, longest: int) -> torch.Tensor:
    return resize(image, fit_size(image.shape[-2], image.shape[-1], longest))


# RGB <-> YIQ (NTSC): luminance Y and two chroma channels.
_RGB2YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", _RGB2YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,bjhw->bihw", torch.linalg.inv(_RGB2YIQ).to(image), image)


def keep_colors(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """The stylised image's luminance with the content image's chroma (Gatys et al. 2016, colour preservation)."""
    content = resize(content, tuple(stylized.shape[-2:]))
    y = rgb_to_yiq(stylized)[:, :1]
    iq = rgb_to_yiq(content)[:, 1:]
    return yiq_to_rgb(torch.cat([y, iq], dim=1)).clamp(0.0, 1.0)


def to_signed(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> ganzoo's [-1, 1] convention."""
    return image.clamp(0.0, 1.0) * 2.0 - 1.0


def _first(images: Any) -> Any:
    return images[0] if isinstance(images, (list, tuple)) else images


def data_images(data: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The (content, style) pictures a data source offers.

    The full pictures of its `extras` (`content_images`/`style_images`, as the built-in `photos`
    provides; or `content`/`style`), else the `content`/`image` and `style` of its first item.
    """
    if data is None:
        return None, None
    extras = getattr(data, "extras", None) or {}
    content = _first(extras.get("content_images")) if extras.get("content_images") else extras.get("content")
    style = _first(extras.get("style_images")) if extras.get("style_images") else extras.get("style")
    if content is None or style is None:
        train = getattr(data, "train", None)
        try:
            item = train[(0, 0)] if train is not None and len(train) else {}
        except Exception:
            item = {}
        if content is None:
            content = item.get("content", item.get("image"))
        if style is None:
            style = item.get("style")
    return (as_image(content) if content is not None else None, as_image(style) if style is not None else None)
