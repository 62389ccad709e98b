"""StyleGAN2 options and the reference's `auto` rules (torch-free: imported to build the command line)."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo.configs import betas_option, option

RESOLUTIONS = (4, 8, 16, 32, 64, 128, 256, 512, 1024)


def auto_batch(resolution: int, gpus: int = 1) -> int:
    """The `auto` config's total batch: max(min(gpus * min(4096 // res, 32), 64), gpus)."""
    return max(min(gpus * min(4096 // resolution, 32), 64), gpus)


def auto_channel_base(resolution: int) -> int:
    """The `auto` config's width constant: 32768 (fmaps 1) from 512 px up, else 16384 (fmaps 0.5)."""
    return 32768 if resolution >= 512 else 16384


def auto_lr(resolution: int) -> float:
    """The `auto` config's learning rate: 0.002 at 1024 px and above, else 0.0025."""
    return 0.002 if resolution >= 1024 else 0.0025


def auto_gamma(resolution: int, batch: int) -> float:
    """The `auto` config's R1 weight: 0.0002 * res**2 / batch."""
    return 0.0002 * resolution**2 / batch


def auto_ema_kimg(batch: int) -> float:
    """The `auto` config's G EMA half-life in thousands of images: batch * 10 / 32."""
    return batch * 10 / 32


@dataclass
class StyleGAN2Config:
    """Karras et al. (2020): StyleGAN2 networks and training (lazy R1, path-length regularisation, style mixing)."""

    image_size: int = option(64, "Output resolution, a power of two from 4 to 1024.", choices=RESOLUTIONS)
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    classes: int = option(0, "Class labels to condition on (the reference's c_dim); 0: unconditional. Labelled "
                             "data must have exactly this many classes.", min=0)
    z_dim: int = option(512, "Latent z length (paper: 512).", min=1)
    w_dim: int = option(512, "Intermediate latent w length (paper: 512).", min=1)
    mapping_layers: int = option(8, "Dense layers of the mapping network (paper: 8; the reference's auto config: 2).",
                                 min=1)
    d_mapping_layers: int = option(8, "Dense layers of the conditional discriminator's label mapping (reference: "
                                      "8).", min=1)
    channel_base: int | None = option(None, "Feature maps at resolution r are min(channel_base / r, channel_max); "
                                            "none: the auto rule (16384 below 512 px, else 32768).", min=1)
    channel_max: int = option(512, "Cap on feature maps per layer (paper: 512).", min=1)
    conv_clamp: float | None = option(256.0, "Clamp of convolution outputs (reference: 256); none: no clamp.", min=0)
    d_architecture: str = option("resnet", "Discriminator: resnet (paper) or orig (the reference's cifar config).",
                                 choices=("resnet", "orig"))
    mbstd_group: int = option(4, "Minibatch standard deviation group size (auto: min(batch, 4)); must divide the "
                                 "batch.", min=1)
    lr: float | None = option(None, "Adam learning rate of both networks; none: the auto rule (0.0025, 0.002 at "
                                    "1024 px).", min=0)
    betas: tuple[float, ...] = betas_option((0.0, 0.99), "Adam betas of both networks (paper: 0, 0.99).")
    r1_gamma: float | None = option(None, "R1 weight gamma; none: the auto rule 0.0002 * res^2 / batch.", min=0)
    r1_interval: int = option(16, "Lazy R1: apply it every this many steps, scaled up to match (paper: 16).", min=1)
    pl_weight: float = option(2.0, "Path-length regularisation weight (paper: 2; 0: off).", min=0)
    pl_interval: int = option(4, "Lazy path-length regularisation interval (paper: 4).", min=1)
    pl_batch_shrink: int = option(2, "Path-length batch = batch / this (paper: 2).", min=1)
    pl_decay: float = option(0.01, "Decay of the running path-length mean (paper: 0.01).", min=0, max=1)
    style_mixing: float = option(0.9, "Probability of style mixing regularisation (paper: 0.9; 0: off).", min=0,
                                 max=1)
    ema_kimg: float | None = option(None, "G EMA half-life in thousands of images; none: the auto rule batch * 10 / "
                                          "32.", min=0)
    ema_rampup: float | None = option(0.05, "EMA ramp-up: half-life at most this fraction of the images shown "
                                            "(auto: 0.05; none: off).", min=0)
    truncation_psi: float = option(1.0, "Truncation of samples drawn from this model (1: none; `ganzoo sample "
                                        "--truncation` overrides it).", min=0, max=1)
