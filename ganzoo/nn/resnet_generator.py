"""The ResNet generator of the image-to-image translation reference (CycleGAN's default), key for key.

Johnson et al.'s transformation network as junyanz/pytorch-CycleGAN-and-pix2pix builds it. Parameter
names follow from attribute names and positions inside `nn.Sequential`, so the layer order keeps
every parameter-free layer (padding, activations, dropout) in its place and a published state dict
loads as it is (`model.1.weight`, `model.10.conv_block.1.weight`, ...).

Layer order (9 blocks: 28 positions, 6 blocks: 25):

    reflect-pad 3, conv 7x7 (C -> ngf), norm, ReLU
    2 x [conv 3x3 stride 2 (doubling the width), norm, ReLU]
    n x residual block at 4 ngf: x + [reflect-pad 1, conv 3x3, norm, ReLU, (dropout 0.5),
                                      reflect-pad 1, conv 3x3, norm]
    2 x [transposed conv 3x3 stride 2, padding 1, output padding 1 (halving the width), norm, ReLU]
    reflect-pad 3, conv 7x7 (ngf -> C, always with bias), tanh
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn.norm import translation_conv_bias, translation_norm


class ResidualBlock(nn.Module):
    """x + F(x), F = reflect-pad, conv 3x3, norm, ReLU, [dropout], reflect-pad, conv 3x3, norm."""

    def __init__(self, width: int, norm: str, dropout: bool) -> None:
        super().__init__()
        bias = translation_conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=bias), translation_norm(norm, width), nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=bias), translation_norm(norm, width)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Images N x in_channels x H x W -> N x out_channels x H x W in [-1, 1] (H, W multiples of 4)."""

    #: Input sides must be a multiple of this for the output to have the input's size.
    size_multiple = 4

    def __init__(self, in_channels: int, out_channels: int, ngf: int = 64, *, norm: str = "instance",
                 dropout: bool = False, n_blocks: int = 9) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError("n_blocks must be >= 0")
        bias = translation_conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), translation_norm(norm, ngf),
            nn.ReLU(True),
        ]
        width = ngf
        for _ in range(2):
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=bias),
                       translation_norm(norm, width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width, norm, dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       translation_norm(norm, width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
