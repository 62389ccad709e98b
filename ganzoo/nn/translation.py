"""Building and running the image-to-image translation networks by name (CycleGAN and pix2pix share them).

    G = make_generator("unet_256", 3, 3, 64, norm="batch", dropout=True)
    D = make_discriminator("basic", 6, 64, n_layers=3, norm="batch")   # pix2pix: input and output concatenated
    problem = size_problem("unet_256", "basic", 3, "batch", 256)        # None, or one line saying what cannot run
    out = run_padded(G, images, G.size_multiple)                        # any input size

Generator names are the reference implementation's (`resnet_9blocks`, `resnet_6blocks`, `unet_128`,
`unet_256`) plus `unet_32` and `unet_64` (5 and 6 levels), U-Nets sized for small images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.nn.patchgan import NLayerDiscriminator, PixelDiscriminator, patch_output_sizes
from ganzoo.nn.resnet_generator import ResnetGenerator
from ganzoo.nn.unet import UnetGenerator

GENERATORS: dict[str, tuple[str, int]] = {
    "resnet_9blocks": ("resnet", 9),
    "resnet_6blocks": ("resnet", 6),
    "unet_32": ("unet", 5),
    "unet_64": ("unet", 6),
    "unet_128": ("unet", 7),
    "unet_256": ("unet", 8),
}
"""Generator name -> (family, residual blocks or U-Net levels)."""

DISCRIMINATORS: tuple[str, ...] = ("basic", "n_layers", "pixel")
"""basic = 70x70 PatchGAN (3 layers), n_layers = PatchGAN with a given depth, pixel = 1x1 PatchGAN."""


def make_generator(name: str, in_channels: int, out_channels: int, ngf: int, *, norm: str,
                   dropout: bool) -> nn.Module:
    """The generator called `name` (see GENERATORS), not initialised (use `translation_init_`)."""
    if name not in GENERATORS:
        raise ValueError(f"unknown generator {name!r}; choose one of {', '.join(GENERATORS)}")
    family, depth = GENERATORS[name]
    if family == "resnet":
        return ResnetGenerator(in_channels, out_channels, ngf, norm=norm, dropout=dropout, n_blocks=depth)
    return UnetGenerator(in_channels, out_channels, depth, ngf, norm=norm, dropout=dropout)


def make_discriminator(name: str, in_channels: int, ndf: int, *, n_layers: int, norm: str) -> nn.Module:
    """basic (70x70 PatchGAN), n_layers (PatchGAN with `n_layers`) or pixel, not initialised."""
    if name == "basic":
        return NLayerDiscriminator(in_channels, ndf, 3, norm=norm)
    if name == "n_layers":
        return NLayerDiscriminator(in_channels, ndf, n_layers, norm=norm)
    if name == "pixel":
        return PixelDiscriminator(in_channels, ndf, norm=norm)
    raise ValueError(f"unknown discriminator {name!r}; choose one of {', '.join(DISCRIMINATORS)}")


def size_multiple(generator: str) -> int:
    """Image sides `generator` needs to be a multiple of (4 for a ResNet, 2^levels for a U-Net)."""
    family, depth = GENERATORS[generator]
    return 4 if family == "resnet" else 2 ** depth


def size_problem(generator: str, discriminator: str, n_layers: int, norm: str, image_size: int) -> str | None:
    """One line saying why these networks cannot train on `image_size` crops, or None when they can.

    A generator needs sides that are a multiple of `size_multiple`; a PatchGAN needs every
    normalised feature map to keep at least 2 x 2 values (instance and batch norm of one image
    need more than one value per channel) and its output at least 1 x 1.
    """
    multiple = size_multiple(generator)
    if image_size % multiple:
        hint = "; use a smaller U-Net (unet_32, unet_64) or a resnet generator" if multiple > 4 else ""
        return f"{generator} needs an image size that is a multiple of {multiple}, not {image_size}{hint}"
    if discriminator in ("basic", "n_layers"):
        layers = 3 if discriminator == "basic" else n_layers
        sides = patch_output_sizes(image_size, layers)
        smallest = min(sides[:-1]) if norm != "none" else sides[-1]
        if sides[-1] < 1 or smallest < 2:
            return (f"a PatchGAN with {layers} layers needs larger images than {image_size} px; lower "
                    "--n-layers-d (with --discriminator n_layers) or raise --image-size")
    return None


def run_padded(G: nn.Module, images: torch.Tensor, multiple: int) -> torch.Tensor:
    """G(images) for any image size: pad right and bottom to a multiple of `multiple`, then crop back.

    Reflection padding where the image is large enough, replication otherwise.
    """
    height, width = images.shape[-2:]
    pad_h = (-height) % multiple
    pad_w = (-width) % multiple
    if not pad_h and not pad_w:
        return G(images)
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    padded = F.pad(images, (0, pad_w, 0, pad_h), mode=mode)
    return G(padded)[..., :height, :width]
