"""CycleGAN options (torch-free). Defaults are the reference implementation's (Zhu et al. 2017)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import option


@dataclass
class CycleGANConfig:
    """Reference numerics: ResNet-9 generator, 70x70 PatchGAN, LSGAN, cycle 10, identity 0.5 relative."""

    image_size: int = option(256, "Crop size fed to the networks (reference: 256).", min=8)
    load_size: int | None = option(286, "Resize to this before the random crop (reference: 286); none: image_size.")
    flip: bool = option(True, "Random horizontal flip of training images.")
    channels: int | None = option(None, "Image channels (both domains); none: those of the data set.", choices=(1, 3))
    generator: Literal["resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256"] = option(
        "resnet_9blocks", "Generator architecture.")
    discriminator: Literal["basic", "n_layers", "pixel"] = option(
        "basic", "Discriminator: basic = 70x70 PatchGAN, n_layers = PatchGAN with --n-layers-d, pixel = 1x1.")
    n_layers_d: int = option(3, "Convolution layers of the n_layers PatchGAN.", min=1, max=16)
    ngf: int = option(64, "Generator width: filters of its first and last conv layers.", min=1)
    ndf: int = option(64, "Discriminator width: filters of its first conv layer.", min=1)
    norm: Literal["instance", "batch", "none"] = option("instance", "Normalisation layer.")
    dropout: bool = option(False, "Dropout 0.5 in the generator (ResNet blocks, inner U-Net levels); the reference CycleGAN: off.")
    init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = option("normal", "Weight initialisation.")
    init_gain: float = option(0.02, "Scale of the weight initialisation.", min=0)
    gan_mode: Literal["lsgan", "vanilla", "wgangp"] = option(
        "lsgan", "Adversarial loss: least squares, non-saturating cross-entropy, or Wasserstein.")
    lambda_gp: float = option(
        10.0, "Gradient penalty weight with gan_mode wgangp (the reference CycleGAN applies none: 0).", min=0)
    lambda_a: float = option(10.0, "Cycle loss weight A -> B -> A.", min=0)
    lambda_b: float = option(10.0, "Cycle loss weight B -> A -> B.", min=0)
    lambda_identity: float = option(
        0.5, "Identity loss weight RELATIVE to the cycle weights: |G_B(a) - a| counts lambda_identity x lambda_a "
        "(0.5 x 10 = 5.0 absolute), |G_A(b) - b| lambda_identity x lambda_b; 0 turns it off.", min=0)
    batched_passes: bool = option(
        True, "Run each generator over its translation and identity inputs, and each discriminator over its real "
        "and fake inputs, as one batch (the same per-image arithmetic, fewer and larger convolutions; used with "
        "instance norm or none and no dropout); off: the reference's call order.")
    pool_size: int = option(50, "Image pool of earlier fakes shown to the discriminators; 0 disables it.", min=0)
    lr: float = option(2e-4, "Adam learning rate of the generators (and of the discriminators unless lr_d).", min=0)
    beta1: float = option(0.5, "Adam beta1 of the generators (and of the discriminators unless beta1_d), in [0, 1).", min=0, below=1)
    lr_d: float | None = option(
        None, "Discriminators' Adam learning rate (two time-scale updates); none: lr, as the reference.", min=0)
    beta1_d: float | None = option(None, "Discriminators' Adam beta1, in [0, 1); none: beta1, as the reference.", min=0, below=1)
    n_epochs: int = option(100, "Epochs at the initial learning rate.", min=0)
    n_epochs_decay: int = option(100, "Epochs of linear decay of the learning rate towards zero (after n_epochs).", min=0)
