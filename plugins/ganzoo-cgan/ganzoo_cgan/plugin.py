"""Entry point of the ganzoo-cgan plugin: registers the `cgan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="cgan",
            summary="Class-conditional GAN (concatenated label embedding or projection discriminator).",
            task="conditional",
            config="ganzoo_cgan.config:CGANConfig",
            factory=None,
            default_data="digits",
        )
    ]
