"""The PatchGAN discriminators of the image-to-image translation reference (CycleGAN and pix2pix).

`NLayerDiscriminator` scores overlapping patches: with 3 layers (the "basic" discriminator) each
score sees a 70 x 70 input patch. pix2pix feeds it the input and the output image concatenated
along the channels (a conditional discriminator); CycleGAN feeds it one image. `PixelDiscriminator`
scores every pixel (1 x 1 patches). Layouts and parameter names are the reference's, and neither
network ends in a sigmoid: they return raw scores for `ganzoo.losses`.
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn.norm import translation_conv_bias, translation_norm


class NLayerDiscriminator(nn.Module):
    """PatchGAN: `n_layers` stride-2 4x4 convolutions, one stride-1 4x4 convolution, then a 1-channel map.

    Widths ndf, 2 ndf, 4 ndf, 8 ndf (capped at 8 ndf); LeakyReLU 0.2; no normalisation on the first
    layer. Positions in `model`: conv, LeakyReLU, then (conv, norm, LeakyReLU) per layer, then the
    output conv.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, *, norm: str = "instance") -> None:
        super().__init__()
        bias = translation_conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(width, out, 4, stride=stride, padding=1, bias=bias), translation_norm(norm, out),
                       nn.LeakyReLU(0.2, True)]
            width = out
        layers.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def patch_output_sizes(image_size: int, n_layers: int) -> list[int]:
    """Spatial sides after each convolution of an `NLayerDiscriminator` on `image_size` inputs."""
    sides = []
    side = image_size
    for n in range(n_layers + 2):
        stride = 2 if n < n_layers else 1
        side = (side + 2 - 4) // stride + 1
        sides.append(side)
    return sides


class PixelDiscriminator(nn.Module):
    """A 1x1 PatchGAN: conv 1x1 ndf, LeakyReLU, conv 1x1 2 ndf, norm, LeakyReLU, conv 1x1 to one score per pixel."""

    def __init__(self, in_channels: int, ndf: int = 64, *, norm: str = "instance") -> None:
        super().__init__()
        bias = translation_conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), translation_norm(norm, ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
