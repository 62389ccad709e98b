"""Entry point of the ganzoo-dcgan plugin: registers the `dcgan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo (32 px digits): half the paper's widths, measured to give recognisable digits in
#: about two CPU minutes, and a lazy R1 penalty (gamma 1, every 4 steps) that keeps every digit drawn
#: (docs/models/dcgan.md has the measurements).
DIGITS_DEMO = {"model": {"g_width": 32, "d_width": 32, "r1_gamma": 1.0}}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="dcgan",
            summary="Deep convolutional GAN (Radford et al. 2015) for unconditional image generation.",
            task="unconditional",
            config="ganzoo_dcgan.config:DCGANConfig",
            factory="ganzoo_dcgan.model:build",
            default_data="digits",
            paper="arXiv:1511.06434",
            train_defaults={"batch_size": 32, "steps": 2500},
            data_defaults={"digits": DIGITS_DEMO},
        )
    ]
