"""Entry point of the ganzoo-dcgan plugin: registers the `dcgan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="dcgan",
            summary="Deep convolutional GAN (Radford et al. 2015) for unconditional image generation.",
            task="unconditional",
            config="ganzoo_dcgan.config:DCGANConfig",
            factory=None,
            default_data="digits",
            paper="arXiv:1511.06434",
            train_defaults={"batch_size": 64, "steps": 1500},
        )
    ]
