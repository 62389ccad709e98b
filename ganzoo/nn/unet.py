"""The U-Net generator of pix2pix (Isola et al. 2017), laid out key for key as the reference builds it.

`UnetGenerator(in_channels, out_channels, levels, ngf)` has `levels` stride-2 down-sampling steps
(unet_256: 8, so a 256 x 256 input reaches 1 x 1; unet_128: 7), each mirrored by a stride-2
transposed convolution whose output is concatenated with the level's input (the skip connection).
Widths: ngf, 2 ngf, 4 ngf, then 8 ngf for every deeper level. The blocks nest like the reference's
(`model.model.1.model.3.model...`), so the parameter names of a published state dict match.

Each level (positions inside its `model`):

    outermost: conv 4x4 s2 (C -> ngf), [inner levels], ReLU, transposed conv 4x4 s2 (-> C, with bias), tanh
    innermost: LeakyReLU 0.2, conv 4x4 s2, ReLU, transposed conv 4x4 s2, norm
    otherwise: LeakyReLU 0.2, conv 4x4 s2, norm, [inner levels], ReLU, transposed conv 4x4 s2, norm,
               [dropout 0.5: only the `levels - 5` levels just outside the innermost, the decoder's first]

Convolutions before a norm have a bias only with instance norm (`translation_conv_bias`).
"""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn.norm import translation_conv_bias, translation_norm

MIN_LEVELS = 5


class UnetBlock(nn.Module):
    """One level: down-sample, the inner levels, up-sample; all but the outermost concatenate their input."""

    def __init__(self, outer: int, inner: int, *, in_channels: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "instance",
                 dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        bias = translation_conv_bias(norm)
        down = nn.Conv2d(in_channels if in_channels is not None else outer, inner, 4, stride=2, padding=1, bias=bias)
        layers: list[nn.Module]
        if outermost:
            if submodule is None:
                raise ValueError("the outermost level needs the inner levels")
            layers = [down, submodule, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1),
                      nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias), translation_norm(norm, outer)]
        else:
            if submodule is None:
                raise ValueError("a middle level needs the inner levels")
            layers = [nn.LeakyReLU(0.2, True), down, translation_norm(norm, inner), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=bias),
                      translation_norm(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """Images N x in_channels x H x W -> N x out_channels x H x W in [-1, 1]; H, W multiples of 2^levels."""

    def __init__(self, in_channels: int, out_channels: int, levels: int, ngf: int = 64, *,
                 norm: str = "instance", dropout: bool = False) -> None:
        super().__init__()
        if levels < MIN_LEVELS:
            raise ValueError(f"a U-Net needs at least {MIN_LEVELS} levels, not {levels}")
        #: Input sides must be a multiple of this for the output to have the input's size.
        self.size_multiple = 2 ** levels
        self.levels = levels
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(levels - MIN_LEVELS):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
            block = UnetBlock(outer, inner, submodule=block, norm=norm)
        self.model = UnetBlock(out_channels, ngf, in_channels=in_channels, submodule=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
