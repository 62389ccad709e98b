"""ProGAN options (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import betas_option, option


@dataclass
class ProGANConfig:
    """Karras et al. (2018): growth from 4x4, fade-in, equalised lr, pixel norm, minibatch stddev, WGAN-GP + drift."""

    image_size: int = option(32, "Final resolution, a power of two from 8 to 1024.",
                             choices=(8, 16, 32, 64, 128, 256, 512, 1024))
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    latent_dim: int = option(512, "Latent vector length (paper: 512).", min=1)
    fmap_base: int = option(8192, "Feature maps at resolution r are min(2 * fmap_base / r, fmap_max): the official "
                                  "code's nf(log2(r) - 1) (paper: 8192, giving 512 up to 32x32, then 256, ..., 16).",
                            min=1)
    fmap_max: int = option(512, "Cap on feature maps per layer (paper: 512).", min=1)
    widths: tuple[int, ...] | None = option(None, "Feature maps per resolution 4, 8, 16, ... given explicitly "
                                                  "(overrides fmap_base/fmap_max; set by converted weights).")
    fade_images: tuple[int, ...] = option((800_000,), "Real images shown while resolution 8, 16, 32, ... fades in, "
                                                     "alpha rising linearly from 0 to 1 (last value repeats; paper: 800k).",
                                          min=0)
    stable_images: tuple[int, ...] = option((800_000,), "Real images shown at resolution 4, 8, 16, ... once faded in "
                                                       "(last value repeats; paper: 800k).", min=0)
    batch_sizes: tuple[int, ...] = option((16, 16, 16, 16, 16, 16, 14, 6, 3),
                                          "Batch size per resolution 4, 8, 16, ... (last value repeats; paper: 16 "
                                          "up to 128x128, then 14, 6, 3).")
    lr: float = option(1e-3, "Adam learning rate of the generator (and of the critic unless lr_d; paper: 0.001).",
                       min=0)
    betas: tuple[float, ...] = betas_option((0.0, 0.99), "Adam betas of the generator (and of the critic unless betas_d), "
                                     "two values in [0, 1) (paper: 0, 0.99).")
    lr_d: float | None = option(None, "Critic's Adam learning rate (two time-scale updates); none: lr, as the paper.",
                                min=0)
    betas_d: tuple[float, ...] | None = betas_option(None, "Critic's Adam betas, two values in [0, 1); none: betas, as the paper.")
    reset_optimizer: bool = option(True, "Reset Adam's moments when a fade-in starts and ends (official code).")
    loss: Literal["wgan", "bce"] = option(
        "wgan", "Adversarial loss: wgan (the paper's, regularised by gp_weight and drift) or bce (non-saturating "
                "logistic, the StyleGAN paper's choice for progressive growing on FFHQ, regularised by r1_gamma).")
    gp_weight: float = option(10.0, "WGAN-GP gradient penalty weight (paper: 10).", min=0)
    drift: float = option(0.001, "Drift penalty epsilon on the critic's real outputs (paper: 0.001).", min=0)
    r1_gamma: float = option(0.0, "R1 penalty weight gamma on real images, gamma/2 E||grad D(x)||^2 (Mescheder et "
                                  "al. 2018; StyleGAN: 10 with the bce loss); 0: off (paper).", min=0)
    r1_interval: int = option(4, "Apply the R1 penalty every N steps, weighted by N (lazy regularisation, Karras "
                                 "et al. 2020).", min=1)
    mbstd_group: int = option(4, "Minibatch standard deviation group size (paper: 4; 1 turns the layer off).", min=1)
    lrelu_slope: float = option(0.2, "Negative slope of the leaky ReLUs of both networks (paper: 0.2; converted "
                                     "weights set their own).", min=0, max=1)
    output_activation: str = option("linear", "The generator's last activation: linear (paper), or tanh as in "
                                              "pytorch_GAN_zoo models trained with their DCGAN or MSE loss (set by "
                                              "converted weights).", choices=("linear", "tanh"))
