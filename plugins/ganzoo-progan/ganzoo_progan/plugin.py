"""Entry point of the ganzoo-progan plugin: registers the `progan` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo: 4 -> 8 -> 16 -> 32 on `digits` in a few CPU minutes. Narrow networks whose
#: widths still halve with resolution as in the paper, and a short schedule; the rest is the paper's.
DIGITS_DEMO = {
    "model": {
        "image_size": 32,
        "latent_dim": 128,
        "fmap_base": 128,  # widths 64, 32, 16, 8 at 4, 8, 16, 32 px
        "fmap_max": 64,
        "fade_images": (8_000,),
        # 60k at 32 px (paper-like 24k before issue 21) with the non-saturating loss and R1 instead of
        # WGAN-GP: the only change measured to give every digit 6% or more on seeds 0-2 within the 8-minute
        # budget (docs/models/progan.md). StyleGAN (Karras et al. 2019) trained its progressive-growing
        # baseline the same way: logistic loss, R1 with gamma 10.
        "stable_images": (8_000, 8_000, 8_000, 60_000),
        "batch_sizes": (32,),
        "loss": "bce",
        "gp_weight": 0.0,
        "drift": 0.0,
        "r1_gamma": 10.0,
    },
    # A run of 3375 steps: the paper's 0.999 would still average in the untrained start.
    "train": {"ema_decay": 0.99, "sample_every": 125, "log_every": 25, "checkpoint_every": 250},
}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="progan",
            summary="Progressive growing of GANs (Karras et al. 2018) from 4x4 with fade-in.",
            task="unconditional",
            config="ganzoo_progan.config:ProGANConfig",
            factory="ganzoo_progan.model:build",
            default_data="digits",
            paper="arXiv:1710.10196",
            train_defaults={"batch_size": 16},
            data_defaults={"digits": DIGITS_DEMO},
            converters={"pgan-pytorch-gan-zoo": "ganzoo_progan.convert:convert"},
        )
    ]
