"""CycleGAN's networks, laid out so that state dicts use the reference implementation's key names.

The reference is junyanz/pytorch-CycleGAN-and-pix2pix (Zhu et al. 2017). Parameter names follow
from module attribute names and positions inside `nn.Sequential`, so each network here keeps the
same attribute names (`model`, `conv_block`, `net`) and the same layer order, parameter-free layers
(padding, activations, dropout) included. A generator file published by the authors therefore
loads with `load_state_dict` as it is (`model.1.weight`, `model.10.conv_block.1.weight`, ...).

Layer order of the ResNet generator (9 blocks: 28 positions, 6 blocks: 25):

    reflect-pad 3, conv 7x7 (C -> ngf), norm, ReLU
    2 x [conv 3x3 stride 2 (doubling the width), norm, ReLU]
    n x residual block at 4 ngf: x + [reflect-pad 1, conv 3x3, norm, ReLU, (dropout 0.5),
                                      reflect-pad 1, conv 3x3, norm]
    2 x [transposed conv 3x3 stride 2, padding 1, output padding 1 (halving the width), norm, ReLU]
    reflect-pad 3, conv 7x7 (ngf -> C, always with bias), tanh

Convolutions before a normalisation layer carry a bias only with instance norm (batch norm has its
own shift; with no normalisation the reference also leaves the bias out).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Norm = Literal["instance", "batch", "none"]
NORM_KINDS: tuple[str, ...] = ("instance", "batch", "none")
GENERATORS: dict[str, tuple[str, int]] = {
    "resnet_9blocks": ("resnet", 9),
    "resnet_6blocks": ("resnet", 6),
    "unet_128": ("unet", 7),
    "unet_256": ("unet", 8),
}
"""Generator name -> (family, residual blocks or down-sampling steps)."""


def norm_layer(kind: str, channels: int) -> nn.Module:
    """The normalisation layer `kind` for `channels` feature maps.

    Instance norm has no affine parameters and keeps no running statistics (it always normalises
    with the statistics of the image at hand, in training and in evaluation); batch norm is affine
    and tracks running statistics; "none" is an identity that still takes its place in the layout.
    """
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; choose one of {', '.join(NORM_KINDS)}")


def conv_bias(kind: str) -> bool:
    """Whether convolutions followed by a `kind` normalisation layer have a bias (the reference's rule)."""
    return kind == "instance"


class ResidualBlock(nn.Module):
    """x + F(x), F = reflect-pad, conv 3x3, norm, ReLU, [dropout], reflect-pad, conv 3x3, norm."""

    def __init__(self, width: int, norm: str, dropout: bool) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=bias), norm_layer(norm, width), nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(width, width, 3, bias=bias), norm_layer(norm, width)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """Johnson et al.'s transformation network as CycleGAN uses it (see the module docstring)."""

    #: Input sides must be a multiple of this for the output to have the input's size.
    size_multiple = 4

    def __init__(self, in_channels: int, out_channels: int, ngf: int = 64, *, norm: str = "instance",
                 dropout: bool = False, n_blocks: int = 9) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError("n_blocks must be >= 0")
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias), norm_layer(norm, ngf), nn.ReLU(True),
        ]
        width = ngf
        for _ in range(2):
            layers += [nn.Conv2d(width, width * 2, 3, stride=2, padding=1, bias=bias),
                       norm_layer(norm, width * 2), nn.ReLU(True)]
            width *= 2
        layers += [ResidualBlock(width, norm, dropout) for _ in range(n_blocks)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       norm_layer(norm, width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetBlock(nn.Module):
    """One level of the U-Net: down-sample, the inner levels, up-sample; the skip concatenates the input.

    Layouts (positions inside `model`):
      outermost: conv 4x4 s2, [inner], ReLU, transposed conv 4x4 s2 (with bias), tanh
      innermost: LeakyReLU 0.2, conv 4x4 s2, ReLU, transposed conv 4x4 s2, norm
      otherwise: LeakyReLU 0.2, conv 4x4 s2, norm, [inner], ReLU, transposed conv 4x4 s2, norm, [dropout 0.5]
    """

    def __init__(self, outer: int, inner: int, *, in_channels: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "instance",
                 dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        bias = conv_bias(norm)
        down = nn.Conv2d(in_channels if in_channels is not None else outer, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            assert submodule is not None
            layers = [down, submodule, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1),
                      nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer)]
        else:
            assert submodule is not None
            layers = [nn.LeakyReLU(0.2, True), down, norm_layer(norm, inner), submodule, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, stride=2, padding=1, bias=bias), norm_layer(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """The pix2pix U-Net with `num_downs` stride-2 levels (7: unet_128, 8: unet_256); widths capped at 8 ngf."""

    def __init__(self, in_channels: int, out_channels: int, num_downs: int, ngf: int = 64, *,
                 norm: str = "instance", dropout: bool = False) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("a U-Net needs at least 5 levels")
        self.size_multiple = 2 ** num_downs
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        for outer, inner in ((ngf * 4, ngf * 8), (ngf * 2, ngf * 4), (ngf, ngf * 2)):
            block = UnetBlock(outer, inner, submodule=block, norm=norm)
        self.model = UnetBlock(out_channels, ngf, in_channels=in_channels, submodule=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN: `n_layers` stride-2 4x4 convolutions, one stride-1 4x4 convolution, then a 1-channel map.

    With n_layers = 3 (the "basic" discriminator) each output score sees a 70 x 70 input patch.
    Widths ndf, 2 ndf, 4 ndf, 8 ndf (capped at 8 ndf); LeakyReLU 0.2; no normalisation on the first layer.
    """

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, *, norm: str = "instance") -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        width = ndf
        for n in range(1, n_layers + 1):
            out = ndf * min(2 ** n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(width, out, 4, stride=stride, padding=1, bias=bias), norm_layer(norm, out),
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
    """A 1x1 PatchGAN: a real/fake score per pixel (conv 1x1 ndf, LeakyReLU, conv 1x1 2 ndf, norm, LeakyReLU, conv 1x1)."""

    def __init__(self, in_channels: int, ndf: int = 64, *, norm: str = "instance") -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, 1, bias=bias), norm_layer(norm, ndf * 2), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, 1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def init_weights(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise `net` in place as the reference does and return it.

    Weights of (transposed) convolutions and linear layers: N(0, gain) for "normal", Xavier normal
    with `gain`, Kaiming normal (fan-in, a = 0; `gain` unused) or orthogonal with `gain`; their
    biases 0. Batch-norm scales N(1, gain) and shifts 0. Uses the global torch generator.
    """
    def visit(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            elif kind == "orthogonal":
                nn.init.orthogonal_(m.weight, gain=gain)
            else:
                raise ValueError(f"unknown initialisation {kind!r}")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    with torch.no_grad():
        net.apply(visit)
    return net


def make_generator(name: str, in_channels: int, out_channels: int, ngf: int, *, norm: str, dropout: bool) -> nn.Module:
    """The generator called `name` (resnet_9blocks, resnet_6blocks, unet_128, unet_256), not initialised."""
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
    raise ValueError(f"unknown discriminator {name!r}")
