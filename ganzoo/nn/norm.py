"""Normalisation layers chosen by name: the DCGAN-style families' and the translation networks'."""

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


TRANSLATION_NORMS: tuple[str, ...] = ("instance", "batch", "none")
"""Names `translation_norm` understands (the choices of the CycleGAN/pix2pix reference implementation)."""


def translation_norm(kind: str, channels: int) -> nn.Module:
    """The normalisation layer of the image-to-image translation networks (CycleGAN, pix2pix).

    As the reference implementation defines them: instance norm has no affine parameters and keeps no
    running statistics (it always normalises with the statistics of the image at hand); batch norm is
    affine and tracks running statistics; "none" is an identity that still takes its place in the
    layout, so parameter names stay those of the reference.
    """
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalisation {kind!r}; choose one of {', '.join(TRANSLATION_NORMS)}")


def translation_conv_bias(kind: str) -> bool:
    """Whether a convolution followed by a `kind` translation norm has a bias (the reference's rule).

    Only with instance norm: batch norm has its own shift, and without a norm the reference also
    leaves the bias out.
    """
    return kind == "instance"
