"""Entry point of the ganzoo-style plugin: registers `neural_style` and `fast_style` (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="neural_style",
            summary="Gatys et al. (2016) style transfer: optimise an image to match content and Gram-matrix style.",
            task="style-transfer",
            config="ganzoo_style.config:NeuralStyleConfig",
            factory=None,
            default_data="photos",
        ),
        ModelSpec(
            name="fast_style",
            summary="Johnson et al. (2016) feed-forward style transfer network with perceptual losses.",
            task="style-transfer",
            config="ganzoo_style.config:FastStyleConfig",
            factory=None,
            default_data="photos",
        ),
    ]
