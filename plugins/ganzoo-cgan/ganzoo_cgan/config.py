"""Conditional GAN options (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import betas_option, option


@dataclass
class CGANConfig:
    """A class-conditional DCGAN; `num_classes` comes from the data set unless given."""

    image_size: int = option(32, "Output side length, a power of two from 16 to 256.", choices=(16, 32, 64, 128, 256))
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    num_classes: int | None = option(None, "Number of classes; none: those of the data set.", min=2)
    conditioning: Literal["concat", "projection"] = option(
        "concat", "How the discriminator sees the label: one-hot label maps concatenated to the image, or a projection.")
    embed_dim: int = option(50, "Size of the label embedding given to the generator.", min=1)
    latent_dim: int = option(100, "Length of the latent vector z.", min=1)
    g_width: int = option(64, "Generator feature maps before the output layer.", min=1)
    d_width: int = option(64, "Discriminator feature maps after the input layer.", min=1)
    loss: Literal["bce", "lsgan", "hinge"] = option("bce", "Adversarial loss (bce = non-saturating).")
    lr_g: float = option(2e-4, "Generator Adam learning rate.", min=0)
    lr_d: float = option(2e-4, "Discriminator Adam learning rate.", min=0)
    betas_g: tuple[float, ...] = betas_option((0.5, 0.999), "Generator Adam betas, two values in [0, 1).")
    betas_d: tuple[float, ...] = betas_option((0.5, 0.999), "Discriminator Adam betas, two values in [0, 1).")
    init_std: float = option(0.02, "Standard deviation of the N(0, std) weight init.", min=0)
