"""DCGAN options (torch-free: imported by `ganzoo train dcgan --help`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import betas_option, option


@dataclass
class DCGANConfig:
    """Radford et al. (2015) defaults; `image_size` 32 suits the built-in digits (the paper used 64)."""

    image_size: int = option(32, "Output side length, a power of two from 16 to 256 (layers follow).",
                             choices=(16, 32, 64, 128, 256))
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    latent_dim: int = option(100, "Length of the latent vector z (paper: 100).", min=1)
    g_width: int = option(64, "Generator feature maps before the output layer (ngf).", min=1)
    d_width: int = option(64, "Discriminator feature maps after the input layer (ndf).", min=1)
    loss: Literal["bce", "lsgan", "hinge"] = option(
        "bce", "Adversarial loss from the core library (bce = non-saturating).")
    lr_g: float = option(2e-4, "Generator Adam learning rate (paper: 0.0002).", min=0)
    lr_d: float = option(2e-4, "Discriminator Adam learning rate (paper: 0.0002).", min=0)
    betas_g: tuple[float, ...] = betas_option((0.5, 0.999), "Generator Adam betas, two values in [0, 1) (paper: beta1 0.5).")
    betas_d: tuple[float, ...] = betas_option((0.5, 0.999), "Discriminator Adam betas, two values in [0, 1) (paper: beta1 0.5).")
    init_std: float = option(0.02, "Standard deviation of the N(0, std) weight init (paper: 0.02).", min=0)
    mbstd_group: int = option(
        1, "Minibatch standard-deviation group size: the discriminator sees how varied groups of this many "
        "images are (Karras et al. 2018; the largest size up to it that divides the batch); 1: off (paper).", min=1)
    r1_gamma: float = option(
        0.0, "R1 penalty weight gamma: the discriminator's loss gains gamma/2 E||grad D(x)||^2 on real images "
        "(Mescheder et al. 2018); 0: off (paper; the digits demo uses 1).", min=0)
    r1_interval: int = option(
        4, "Apply the R1 penalty every N steps, weighted by N (lazy regularisation, Karras et al. 2020).", min=1)
