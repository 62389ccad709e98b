"""Entry point of the ganzoo-cyclegan plugin: registers the `cyclegan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="cyclegan",
            summary="CycleGAN (Zhu et al. 2017): unpaired image-to-image translation, reference numerics.",
            task="image-to-image",
            config="ganzoo_cyclegan.config:CycleGANConfig",
            factory=None,
            default_data="digits-invert",
            paper="arXiv:1703.10593",
            train_defaults={"batch_size": 1},
        )
    ]
