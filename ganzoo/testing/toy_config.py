"""Config of the toy model used by ganzoo's own tests (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import option


@dataclass
class ToyConfig:
    """A tiny MLP GAN on 8x8 images: fast enough to train in a test."""

    image_size: int = option(8, "Side length of the images.", choices=(8, 16))
    channels: int | None = option(None, "Image channels; none: those of the data set.", choices=(1, 3))
    num_classes: int | None = option(None, "Unused by the toy GAN; filled from labelled data.", cli=False)
    latent_dim: int = option(8, "Latent size.", min=1)
    hidden: int = option(32, "Hidden units.", min=1)
    loss: Literal["bce", "lsgan", "hinge", "wasserstein"] = option("bce", "Adversarial loss.")
    lr: float = option(1e-3, "Adam learning rate.", min=0)
    dropout: float = option(0.0, "Dropout in the generator (exercises RNG restore).", min=0, max=1)
    schedule: bool = option(True, "Decay the learning rate linearly per step (exercises scheduler state).")
    explode_at: int = option(0, "Make the loss non-finite at this step (tests the NaN stop); 0: never.", min=0)
    compile_by_default: bool = option(False, "Compile the networks unless --no-compile is given (tests the "
                                             "per-family compile default).")
