"""ProGAN's building blocks: equalised-learning-rate layers, pixel norm, minibatch stddev, resampling.

Equalised learning rate (Karras et al. 2018, section 4.1): weights are stored with a N(0, 1)
initialisation and multiplied at run time by He's constant `gain / sqrt(fan_in)`, so Adam's
per-parameter step sizes act on every layer at the same scale. Biases start at zero and are added
after the scaled weights.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.nn import minibatch_stddev as core_minibatch_stddev
from ganzoo.nn.minibatch_std import divisor_group

SQRT2 = math.sqrt(2.0)
LEAK = 0.2
EPSILON = 1e-8


class EqualizedLinear(nn.Module):
    """A dense layer y = x (w * c)^T + b with c = gain / sqrt(in_features)."""

    def __init__(self, in_features: int, out_features: int, *, gain: float = SQRT2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.scale = gain / math.sqrt(in_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.scale, self.bias)


class EqualizedConv2d(nn.Module):
    """A stride-1 'same' convolution with weights scaled by c = gain / sqrt(in_channels * k * k)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, gain: float = SQRT2) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.scale = gain / math.sqrt(in_channels * kernel_size * kernel_size)
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)


def lrelu(x: torch.Tensor, slope: float = LEAK) -> torch.Tensor:
    return F.leaky_relu(x, slope)


def pixel_norm(x: torch.Tensor) -> torch.Tensor:
    """Normalise each pixel's feature vector to unit average square (section 4.2), over dimension 1."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + EPSILON)


def upscale2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Nearest-neighbour up-sampling by an integer factor."""
    if factor == 1:
        return x
    return F.interpolate(x, scale_factor=factor, mode="nearest")


def downscale2d(x: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """Box-filter (average pooling) down-sampling by an integer factor."""
    if factor == 1:
        return x
    return F.avg_pool2d(x, factor)


group_size_for = divisor_group
"""The largest group size <= `group` that divides `batch` (the core's `ganzoo.nn.divisor_group`)."""
minibatch_stddev = core_minibatch_stddev
"""Append one feature map holding the average standard deviation of features over groups (section 3;
the core's `ganzoo.nn.minibatch_stddev`: sample i groups with i + M, i + 2M, ..., M = N / group)."""
