"""Minibatch standard deviation (Karras et al. 2018, section 3): a discriminator layer that lets it see
how varied a batch is, so a generator that draws too few kinds of image is penalised.

    from ganzoo.nn import MinibatchStdDev, minibatch_stddev

    y = minibatch_stddev(x, group=4)   # N x (C + 1) x H x W
    layer = MinibatchStdDev(group=4)   # the same as a module (group 1: the input unchanged)
"""

from __future__ import annotations

import torch
from torch import nn

EPSILON = 1e-8
"""Added to the variance under the square root (keeps the gradient finite for identical samples)."""


def divisor_group(batch: int, group: int) -> int:
    """The largest group size that is at most `group` and divides `batch` (groups must be equal)."""
    size = max(1, min(group, batch))
    while batch % size:
        size -= 1
    return size


def minibatch_stddev(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """`x` (N x C x H x W) with one more channel: the spread of the sample's group, constant over the map.

    The batch is split into `divisor_group(N, group)` interleaved groups (sample i with i + M, i + 2M, ...;
    M = N / group size). For each group, the standard deviation over its members of every feature at
    every position (biased, `EPSILON` under the root), averaged over features and positions, fills the
    new channel of each member. Computed in float32 and returned in `x`'s dtype.
    """
    n, c, h, w = x.shape
    g = divisor_group(n, group)
    y = x.float().reshape(g, n // g, c, h, w)
    y = y - y.mean(dim=0, keepdim=True)
    spread = torch.sqrt(y.pow(2).mean(dim=0) + EPSILON).mean(dim=(1, 2, 3)).to(x.dtype)  # one per group
    return torch.cat([x, spread.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)], dim=1)


class MinibatchStdDev(nn.Module):
    """`minibatch_stddev` as a layer; `group` 1 (or less) passes the input through unchanged."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    @property
    def extra_channels(self) -> int:
        """Channels this layer adds (1 when on, 0 when off)."""
        return 1 if self.group > 1 else 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return minibatch_stddev(x, self.group) if self.group > 1 else x

    def extra_repr(self) -> str:
        return f"group={self.group}"
