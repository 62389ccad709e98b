"""Weight initialisation shared by several families: DCGAN-style and image-to-image translation networks."""

from __future__ import annotations

import torch
from torch import nn

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, nn.InstanceNorm2d)


def normal_init_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise `module` in place as Radford et al. (2015) do and return it.

    Convolution, linear and embedding weights ~ N(0, std); affine scales of normalisation layers
    ~ N(1, std); every bias 0. Uses the global torch generator (seed it for reproducible weights).
    """
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and getattr(m, "weight", None) is not None:
            nn.init.normal_(m.weight, 1.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


TRANSLATION_INITS: tuple[str, ...] = ("normal", "xavier", "kaiming", "orthogonal")
"""Initialisations `translation_init_` understands."""


def translation_init_(net: nn.Module, kind: str = "normal", gain: float = 0.02) -> nn.Module:
    """Initialise an image-to-image translation network in place as the CycleGAN/pix2pix reference does.

    Weights of (transposed) convolutions and linear layers: N(0, gain) for "normal", Xavier normal
    with `gain`, Kaiming normal (fan-in, a = 0; `gain` unused) or orthogonal with `gain`; their
    biases 0. Batch-norm scales N(1, gain) and shifts 0. Modules are visited in registration order,
    drawing from the global torch generator, so a seeded run gives the reference's initial weights.
    """
    if kind not in TRANSLATION_INITS:
        raise ValueError(f"unknown initialisation {kind!r}; choose one of {', '.join(TRANSLATION_INITS)}")

    def visit(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            if kind == "normal":
                nn.init.normal_(m.weight, 0.0, gain)
            elif kind == "xavier":
                nn.init.xavier_normal_(m.weight, gain=gain)
            elif kind == "kaiming":
                nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(m.weight, gain=gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)

    with torch.no_grad():
        net.apply(visit)
    return net
