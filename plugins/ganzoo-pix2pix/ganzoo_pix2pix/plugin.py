"""Entry point of the ganzoo-pix2pix plugin: registers the `pix2pix` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo: edge maps -> digits at 32 px, a 5-level U-Net (unet_32), small networks, no jitter.
DIGITS_DEMO = {
    "model": {
        "image_size": 32,
        "load_size": None,
        "flip": False,
        "generator": "unet_32",
        "ngf": 32,
        "ndf": 32,
        "discriminator": "n_layers",
        "n_layers_d": 2,
        "n_epochs": 2,
        "n_epochs_decay": 2,
    },
    "train": {"batch_size": 4, "log_every": 25, "sample_every": 150, "checkpoint_every": 300},
}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="pix2pix",
            summary="pix2pix (Isola et al. 2017): paired image-to-image translation, reference numerics.",
            task="image-to-image",
            config="ganzoo_pix2pix.config:Pix2PixConfig",
            factory="ganzoo_pix2pix.model:build",
            default_data="digits-edges",
            paper="arXiv:1611.07004",
            train_defaults={"batch_size": 1},
            data_defaults={"digits-edges": DIGITS_DEMO},
            converters={"pix2pix-reference": "ganzoo_pix2pix.convert:convert"},
        )
    ]
