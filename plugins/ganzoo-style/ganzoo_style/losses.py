"""The losses of style transfer: Gram matrices, content, style and total variation.

Conventions (shared by both models, and those of the classic PyTorch implementations, so their
published weights carry over): the Gram matrix of a B x C x H x W feature map is F F^T / (C H W);
the content loss is the mean squared difference of feature maps; the style loss is the sum over
layers of layer weight times the mean squared difference of Gram matrices; the total variation
loss is the mean squared difference of vertically plus horizontally neighbouring pixels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """B x C x C Gram matrices of B x C x H x W features, divided by C * H * W."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return torch.bmm(flat, flat.transpose(1, 2)) / (c * h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of two feature maps (the target broadcasts over the batch)."""
    return torch.mean((features - target) ** 2)


def style_loss(
    features: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float] | None = None,
) -> torch.Tensor:
    """Sum over layers of weight * mean squared difference between Gram matrices and target Grams."""
    total = None
    for name, target in target_grams.items():
        weight = 1.0 if layer_weights is None else float(layer_weights.get(name, 1.0))
        term = weight * torch.mean((gram_matrix(features[name]) - target) ** 2)
        total = term if total is None else total + term
    if total is None:
        raise ValueError("style_loss needs at least one layer")
    return total


def tv_loss(images: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared vertical plus mean squared horizontal neighbour differences."""
    dh = images[..., 1:, :] - images[..., :-1, :]
    dw = images[..., :, 1:] - images[..., :, :-1]
    return torch.mean(dh * dh) + torch.mean(dw * dw)


def blend_grams(grams: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float]) -> dict[str, torch.Tensor]:
    """The weighted average of several style images' Gram matrices (weights are normalised to sum 1)."""
    if not grams:
        raise ValueError("blend_grams needs at least one style")
    total = float(sum(weights))
    if total <= 0:
        raise ValueError("style blend weights must sum to a positive number")
    out: dict[str, torch.Tensor] = {}
    for name in grams[0]:
        out[name] = sum(g[name] * (w / total) for g, w in zip(grams, weights))  # type: ignore[assignment]
    return out
