"""WGAN and WGAN-GP options (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import betas_option, option


@dataclass
class WGANConfig:
    """Arjovsky et al. (2017): RMSprop lr 5e-5, weight clipping 0.01, 5 critic steps per generator step."""

    image_size: int = option(32, "Output side length, a power of two from 16 to 256.", choices=(16, 32, 64, 128, 256))
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    latent_dim: int = option(100, "Length of the latent vector z.", min=1)
    g_width: int = option(64, "Generator feature maps before the output layer.", min=1)
    d_width: int = option(64, "Critic feature maps after the input layer.", min=1)
    lr_g: float = option(5e-5, "Generator RMSprop learning rate (paper: 0.00005).", min=0)
    lr_d: float = option(5e-5, "Critic RMSprop learning rate (paper: 0.00005).", min=0)
    clip: float = option(0.01, "Critic weights are clipped to [-clip, clip] after each update (paper: 0.01).", min=0)
    critic_norm: Literal["batch", "none"] = option("batch", "Normalisation in the critic (the paper's DCGAN critic: batch).")
    init_std: float = option(0.02, "Standard deviation of the N(0, std) weight init.", min=0)


@dataclass
class WGANGPConfig:
    """Gulrajani et al. (2017): Adam lr 1e-4 betas (0, 0.9), penalty 10, 5 critic steps, no batch norm in the critic."""

    image_size: int = option(32, "Output side length, a power of two from 16 to 256.", choices=(16, 32, 64, 128, 256))
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    latent_dim: int = option(128, "Length of the latent vector z (paper: 128).", min=1)
    g_width: int = option(64, "Generator feature maps before the output layer.", min=1)
    d_width: int = option(64, "Critic feature maps after the input layer.", min=1)
    lr_g: float = option(1e-4, "Generator Adam learning rate (paper: 0.0001).", min=0)
    lr_d: float = option(1e-4, "Critic Adam learning rate (paper: 0.0001).", min=0)
    betas_g: tuple[float, ...] = betas_option((0.0, 0.9), "Generator Adam betas, two values in [0, 1) (paper: 0, 0.9).")
    betas_d: tuple[float, ...] = betas_option((0.0, 0.9), "Critic Adam betas, two values in [0, 1) (paper: 0, 0.9).")
    gp_weight: float = option(10.0, "Gradient penalty weight lambda (paper: 10).", min=0)
    critic_norm: Literal["none", "layer"] = option("none", "Normalisation in the critic (paper: none or layer norm).")
    init_std: float = option(0.02, "Standard deviation of the N(0, std) weight init.", min=0)
    mbstd_group: int = option(
        1, "Minibatch standard-deviation group size: the critic sees how varied groups of this many images are "
        "(Karras et al. 2018; the largest size up to it that divides the batch); 1: off (paper, and the digits "
        "demo).", min=1)
