"""Weight initialisation shared by the DCGAN-style families."""

from __future__ import annotations

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
