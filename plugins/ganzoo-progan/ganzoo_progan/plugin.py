"""Entry point of the ganzoo-progan plugin: registers the `progan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="progan",
            summary="Progressive growing of GANs (Karras et al. 2018) from 4x4 with fade-in.",
            task="unconditional",
            config="ganzoo_progan.config:ProGANConfig",
            factory=None,
            default_data="digits",
        )
    ]
