"""The DCGAN generator and discriminator (Radford et al. 2015) for any power-of-two image size.

Both networks are all-convolutional and their depth follows from the image size: the generator
starts from a 4 x 4 map and doubles the side with each stride-2 transposed convolution; the
discriminator halves the side with each stride-2 convolution down to 4 x 4 and ends with a 4 x 4
convolution to one score. Widths double towards the 4 x 4 end, as in the paper (at 64 x 64 and
width 64: 512-256-128-64 in the generator, 64-128-256-512 in the discriminator).

The generator has batch norm and ReLU in every hidden layer and tanh at the output; the
discriminator has LeakyReLU(0.2) everywhere, and its normalisation (batch norm in the paper) is
selectable because WGAN-GP critics must not use batch norm. Neither network contains a sigmoid: the
discriminator returns raw scores for `ganzoo.losses`. The discriminator can add a minibatch
standard-deviation channel (`ganzoo.nn.minibatch_std`, Karras et al. 2018; not in the paper, off by
default) before its last stride-2 convolution.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from ganzoo.nn.init import normal_init_
from ganzoo.nn.minibatch_std import MinibatchStdDev
from ganzoo.nn.norm import norm2d

MIN_SIZE = 16
MAX_SIZE = 256


def dcgan_depth(image_size: int) -> int:
    """Number of stride-2 layers between 4 x 4 and `image_size` (a power of two from 16 to 256)."""
    if image_size < MIN_SIZE or image_size > MAX_SIZE or image_size & (image_size - 1):
        raise ValueError(f"DCGAN image size must be a power of two from {MIN_SIZE} to {MAX_SIZE}, got {image_size}")
    return int(math.log2(image_size)) - 2


def stage_widths(image_size: int, width: int, max_width: int | None = None) -> list[int]:
    """Feature maps of the hidden layers from the full-resolution end to the 4 x 4 end.

    `width`, 2 x `width`, 4 x `width`, ... (one per stride-2 layer), each capped at `max_width`.
    """
    depth = dcgan_depth(image_size)
    widths = [width * 2 ** i for i in range(depth)]
    return [min(w, max_width) if max_width else w for w in widths]


class DCGANGenerator(nn.Module):
    """z (N x in_features) -> images N x channels x image_size x image_size in [-1, 1].

    `in_features` is the length of the input vector (the latent size, plus a label embedding for a
    conditional generator that concatenates one).
    """

    def __init__(
        self,
        in_features: int,
        image_size: int,
        channels: int,
        width: int = 64,
        *,
        max_width: int | None = None,
        norm: str = "batch",
        init_std: float | None = 0.02,
    ) -> None:
        super().__init__()
        widths = stage_widths(image_size, width, max_width)[::-1]  # 4 x 4 end first
        self.in_features = in_features
        self.image_size = image_size
        self.channels = channels
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_features, widths[0], 4, 1, 0, bias=bias), norm2d(norm, widths[0]), nn.ReLU(True),
        ]
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias), norm2d(norm, c_out), nn.ReLU(True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        if init_std is not None:
            normal_init_(self, init_std)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z.reshape(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """Images N x (channels + extra_channels) x S x S -> raw scores N.

    `features(x)` returns the last 4 x 4 feature map (for a projection discriminator's inner
    product), `score(features)` the final 4 x 4 convolution; `forward` chains them. The first layer
    is never normalised (as in the paper).

    `mbstd_group` > 1 inserts a `MinibatchStdDev` layer with that group size before the last stride-2
    convolution (at 8 x 8), so one nonlinear layer and the score see how varied the batch is; 1 (the
    default) leaves the network as the paper has it, parameter names included.
    """

    def __init__(
        self,
        image_size: int,
        channels: int,
        width: int = 64,
        *,
        max_width: int | None = None,
        norm: str = "batch",
        extra_channels: int = 0,
        init_std: float | None = 0.02,
        mbstd_group: int = 1,
    ) -> None:
        super().__init__()
        widths = stage_widths(image_size, width, max_width)
        self.image_size = image_size
        self.channels = channels
        self.feature_channels = widths[-1]
        self.mbstd_group = mbstd_group
        bias = norm == "none"
        layers: list[nn.Module] = [nn.Conv2d(channels + extra_channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        pairs = list(itertools.pairwise(widths))
        for i, (c_in, c_out) in enumerate(pairs):
            if i == len(pairs) - 1 and mbstd_group > 1:
                mbstd = MinibatchStdDev(mbstd_group)
                layers.append(mbstd)
                c_in += mbstd.extra_channels
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), norm2d(norm, c_out), nn.LeakyReLU(0.2, True)]
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(widths[-1], 1, 4, 1, 0)
        if init_std is not None:
            normal_init_(self, init_std)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The N x feature_channels x 4 x 4 map before the final convolution."""
        return self.body(x)

    def score(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features).reshape(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(x))
