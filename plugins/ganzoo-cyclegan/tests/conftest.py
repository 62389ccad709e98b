"""Test helpers: state dicts in the reference CycleGAN's key layout and its forward pass, written independently.

The layout is the published ResnetGenerator of junyanz/pytorch-CycleGAN-and-pix2pix: an
`nn.Sequential` called `model` whose positions hold reflect-pad, conv 7x7, norm, ReLU, two stride-2
convs (each with norm and ReLU), residual blocks at positions 10.. (each a `conv_block` Sequential:
pad, conv, norm, ReLU, pad, conv, norm), two transposed convs (each with norm and ReLU), reflect-pad,
conv 7x7 and tanh.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F


def reference_resnet_state(channels: int, ngf: int, n_blocks: int, *, seed: int = 0,
                           stale_stats: bool = False) -> dict[str, torch.Tensor]:
    """Random weights under the reference ResnetGenerator's keys (instance norm, no dropout)."""
    g = torch.Generator().manual_seed(seed)

    def t(*shape: int, scale: float = 0.1) -> torch.Tensor:
        return torch.randn(*shape, generator=g) * scale

    sd: dict[str, torch.Tensor] = {"model.1.weight": t(ngf, channels, 7, 7), "model.1.bias": t(ngf)}
    sd.update({"model.4.weight": t(2 * ngf, ngf, 3, 3), "model.4.bias": t(2 * ngf),
               "model.7.weight": t(4 * ngf, 2 * ngf, 3, 3), "model.7.bias": t(4 * ngf)})
    norms = [2, 5, 8]
    for b in range(n_blocks):
        for pos in (1, 5):
            sd[f"model.{10 + b}.conv_block.{pos}.weight"] = t(4 * ngf, 4 * ngf, 3, 3)
            sd[f"model.{10 + b}.conv_block.{pos}.bias"] = t(4 * ngf)
    up = 10 + n_blocks
    # Transposed convolutions store (in, out, kH, kW).
    sd[f"model.{up}.weight"] = t(4 * ngf, 2 * ngf, 3, 3)
    sd[f"model.{up}.bias"] = t(2 * ngf)
    sd[f"model.{up + 3}.weight"] = t(2 * ngf, ngf, 3, 3)
    sd[f"model.{up + 3}.bias"] = t(ngf)
    sd[f"model.{up + 7}.weight"] = t(channels, ngf, 7, 7)
    sd[f"model.{up + 7}.bias"] = t(channels)
    norms += [up + 1, up + 4]
    if stale_stats:  # what PyTorch 0.4-era files carry for instance-norm layers
        widths = {2: ngf, 5: 2 * ngf, 8: 4 * ngf, up + 1: 2 * ngf, up + 4: ngf}
        for pos, width in widths.items():
            sd[f"model.{pos}.running_mean"] = torch.zeros(width)
            sd[f"model.{pos}.running_var"] = torch.ones(width)
        for b in range(n_blocks):
            for pos in (2, 6):
                sd[f"model.{10 + b}.conv_block.{pos}.running_mean"] = torch.zeros(4 * ngf)
                sd[f"model.{10 + b}.conv_block.{pos}.running_var"] = torch.ones(4 * ngf)
    return sd


def reference_resnet_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, n_blocks: int) -> torch.Tensor:
    """The reference ResnetGenerator's computation, spelled out with functional calls."""
    def inorm(h: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(h, eps=1e-5)

    h = F.pad(x, (3, 3, 3, 3), mode="reflect")
    h = F.relu(inorm(F.conv2d(h, sd["model.1.weight"], sd["model.1.bias"])))
    for pos in (4, 7):
        h = F.relu(inorm(F.conv2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=2, padding=1)))
    for b in range(n_blocks):
        p = f"model.{10 + b}.conv_block"
        r = F.pad(h, (1, 1, 1, 1), mode="reflect")
        r = F.relu(inorm(F.conv2d(r, sd[f"{p}.1.weight"], sd[f"{p}.1.bias"])))
        r = F.pad(r, (1, 1, 1, 1), mode="reflect")
        r = inorm(F.conv2d(r, sd[f"{p}.5.weight"], sd[f"{p}.5.bias"]))
        h = h + r
    up = 10 + n_blocks
    for pos in (up, up + 3):
        h = F.conv_transpose2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=2, padding=1,
                               output_padding=1)
        h = F.relu(inorm(h))
    h = F.pad(h, (3, 3, 3, 3), mode="reflect")
    return torch.tanh(F.conv2d(h, sd[f"model.{up + 7}.weight"], sd[f"model.{up + 7}.bias"]))


@pytest.fixture
def reference() -> SimpleNamespace:
    """`resnet_state(channels, ngf, n_blocks, seed=, stale_stats=)` and `resnet_forward(state, x, n_blocks)`."""
    return SimpleNamespace(resnet_state=reference_resnet_state, resnet_forward=reference_resnet_forward)
