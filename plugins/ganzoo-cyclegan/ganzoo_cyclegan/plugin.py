"""Entry point of the ganzoo-cyclegan plugin: registers the `cyclegan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo: 32 px digits, small networks and 3 + 3 epochs (about 2 CPU minutes, 678 steps).
#: The identity loss is off: it asks G_A(b) = b, which fights an inversion (G_A(b) should be -b).
DIGITS_DEMO = {
    "model": {
        "image_size": 32,
        "load_size": None,
        "flip": False,
        "generator": "resnet_6blocks",
        "ngf": 16,
        "ndf": 16,
        "lambda_identity": 0.0,
        "n_epochs": 3,
        "n_epochs_decay": 3,
    },
    "train": {"batch_size": 4, "log_every": 25, "sample_every": 100, "checkpoint_every": 200},
}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="cyclegan",
            summary="CycleGAN (Zhu et al. 2017): unpaired image-to-image translation, reference numerics.",
            task="image-to-image",
            config="ganzoo_cyclegan.config:CycleGANConfig",
            factory="ganzoo_cyclegan.model:build",
            default_data="digits-invert",
            paper="arXiv:1703.10593",
            train_defaults={"batch_size": 1},
            data_defaults={"digits-invert": DIGITS_DEMO, "digits-colorize": DIGITS_DEMO},
            converters={"cyclegan-reference": "ganzoo_cyclegan.convert:convert"},
        )
    ]
