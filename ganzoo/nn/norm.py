"""Normalisation layers chosen by name."""

from __future__ import annotations

from torch import nn

NORMS: tuple[str, ...] = ("batch", "layer", "instance", "none")
"""Names `norm2d` understands: batch norm, layer norm over (C, H, W), instance norm, or nothing."""


def norm2d(kind: str, channels: int) -> nn.Module:
    """A normalisation layer for N x `channels` x H x W activations (`nn.Identity` for "none").

    "layer" normalises each example over channels and positions together (a one-group GroupNorm with
    a per-channel affine), the layer normalisation Gulrajani et al. (2017) suggest for critics.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; choose one of {', '.join(NORMS)}")
