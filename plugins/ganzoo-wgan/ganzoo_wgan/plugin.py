"""Entry point of the ganzoo-wgan plugin: registers `wgan` and `wgan_gp` (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="wgan",
            summary="Wasserstein GAN with weight clipping (Arjovsky et al. 2017).",
            task="unconditional",
            config="ganzoo_wgan.config:WGANConfig",
            factory=None,
            default_data="digits",
            train_defaults={"d_steps": 5},
        ),
        ModelSpec(
            name="wgan_gp",
            summary="Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).",
            task="unconditional",
            config="ganzoo_wgan.config:WGANGPConfig",
            factory=None,
            default_data="digits",
            train_defaults={"d_steps": 5},
        ),
    ]
