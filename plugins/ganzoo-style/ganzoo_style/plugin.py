"""Entry point of the ganzoo-style plugin: registers `neural_style` and `fast_style` (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

NEURAL_STYLE = ModelSpec(
    name="neural_style",
    summary="Gatys et al. (2016) style transfer: optimise an image to match content and Gram-matrix style.",
    task="style-transfer",
    config="ganzoo_style.config:NeuralStyleConfig",
    factory="ganzoo_style.neural:build",
    default_data="photos",
    paper="Gatys, Ecker, Bethge (2016). Image Style Transfer Using Convolutional Neural Networks. CVPR 2016",
    # One step is one L-BFGS iteration on one picture: no batches, frequent previews.
    train_defaults={"steps": 300, "batch_size": 1, "log_every": 10, "sample_every": 50, "checkpoint_every": 100,
                    "keep": 1},
)

FAST_STYLE = ModelSpec(
    name="fast_style",
    summary="Johnson et al. (2016) feed-forward style transfer network with perceptual losses.",
    task="style-transfer",
    config="ganzoo_style.config:FastStyleConfig",
    factory="ganzoo_style.fast:build",
    default_data="photos",
    paper="Johnson, Alahi, Fei-Fei (2016). Perceptual Losses for Real-Time Style Transfer and Super-Resolution. "
          "arXiv:1603.08155",
    train_defaults={"steps": 2000, "batch_size": 4, "log_every": 20, "sample_every": 200, "checkpoint_every": 500},
    converters={"fast-neural-style-examples": "ganzoo_style.convert:convert"},
)


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [NEURAL_STYLE, FAST_STYLE]
