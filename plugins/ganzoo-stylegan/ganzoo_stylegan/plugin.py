"""Entry point of the ganzoo-stylegan plugin: registers the `stylegan2` model (imports only ganzoo)."""

from __future__ import annotations

from ganzoo import hookimpl
from ganzoo.specs import ModelSpec

#: The built-in demo: class-conditional 16x16 digits (the data are 8x8 scans) in under 10 CPU minutes.
#: Narrow networks and a 2-layer mapping (the reference's auto config); every regulariser stays on.
#: Two departures from the reference, measured in docs/models/stylegan2.md (issue 21): the discriminator's
#: label mapping has 2 layers too (the reference keeps 8, at a 0.01 learning-rate multiplier; with 8 some
#: seeds end with one class drawing another digit), and the G EMA keeps its full half-life (10k images)
#: without the ramp-up, which in a 64k-image run would cut it to about 3k images at the end and let the
#: last steps' excursions into the samples.
DIGITS_DEMO = {
    "model": {
        "image_size": 16,
        "classes": 10,
        "z_dim": 64,
        "w_dim": 64,
        "mapping_layers": 2,
        "d_mapping_layers": 2,
        "ema_rampup": None,
        "channel_base": 512,  # 32 feature maps at 4, 8 and 16 px
        "channel_max": 32,
    },
    "train": {"steps": 2000, "sample_every": 250, "log_every": 50, "checkpoint_every": 500},
}


@hookimpl
def ganzoo_register_models() -> list[ModelSpec]:
    return [
        ModelSpec(
            name="stylegan2",
            summary="StyleGAN2-ADA (Karras et al. 2020): style-based generator, lazy R1, path-length reg.",
            task="unconditional",
            config="ganzoo_stylegan.config:StyleGAN2Config",
            factory="ganzoo_stylegan.model:build",
            default_data="digits",
            aliases=("stylegan",),
            paper="arXiv:2006.06676",
            train_defaults={"batch_size": 32},
            data_defaults={"digits": DIGITS_DEMO},
            converters={"stylegan2-ada-pickle": "ganzoo_stylegan.convert:convert"},
        )
    ]
