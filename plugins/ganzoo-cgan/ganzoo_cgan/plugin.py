"""Entry point of the ganzoo-cgan plugin: registers the `cgan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo (32 px digits): half the DCGAN widths, measured to draw the asked-for digit in
#: about two CPU minutes (docs/models/cgan.md has the measurements).
DIGITS_DEMO = {"model": {"g_width": 32, "d_width": 32}}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="cgan",
            summary="Class-conditional GAN (concatenated label embedding or projection discriminator).",
            task="conditional",
            config="ganzoo_cgan.config:CGANConfig",
            factory="ganzoo_cgan.model:build",
            default_data="digits",
            paper="arXiv:1411.1784; arXiv:1802.05637",
            train_defaults={"batch_size": 64, "steps": 1200},
            data_defaults={"digits": DIGITS_DEMO},
        )
    ]
