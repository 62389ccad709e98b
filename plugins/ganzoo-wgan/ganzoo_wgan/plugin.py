"""Entry point of the ganzoo-wgan plugin: registers `wgan` and `wgan_gp` (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo: digits at 16 px (the scans are 8 x 8), half the DCGAN widths. Five critic
#: updates per generator update (two with the penalty's double backward) make a 32 px step about four
#: times dearer; 16 px is what fits the two-minute CPU budget (docs/models/wgan_gp.md).
DIGITS_DEMO = {"model": {"image_size": 16, "g_width": 32, "d_width": 32}}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="wgan",
            summary="Wasserstein GAN with weight clipping (Arjovsky et al. 2017).",
            task="unconditional",
            config="ganzoo_wgan.config:WGANConfig",
            factory="ganzoo_wgan.model:build_wgan",
            default_data="digits",
            paper="arXiv:1701.07875",
            train_defaults={"d_steps": 5, "batch_size": 32, "steps": 3000},
            data_defaults={"digits": DIGITS_DEMO},
        ),
        ModelSpec(
            name="wgan_gp",
            summary="Wasserstein GAN with gradient penalty (Gulrajani et al. 2017).",
            task="unconditional",
            config="ganzoo_wgan.config:WGANGPConfig",
            factory="ganzoo_wgan.model:build_wgan_gp",
            default_data="digits",
            paper="arXiv:1704.00028",
            train_defaults={"d_steps": 5, "batch_size": 32, "steps": 2000},
            data_defaults={"digits": DIGITS_DEMO},
        ),
    ]
