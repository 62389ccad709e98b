"""pix2pix options (torch-free). Defaults are the reference implementation's (Isola et al. 2017)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import option


@dataclass
class Pix2PixConfig:
    """Reference numerics: U-Net 256 with dropout and batch norm, 70x70 PatchGAN on (input, output), GAN + 100 L1."""

    image_size: int = option(256, "Crop size fed to the networks (reference: 256).", min=8)
    load_size: int | None = option(
        286, "Resize both images of a pair to this before the random crop (reference: 286); none: image_size.")
    flip: bool = option(True, "Random horizontal flip, the same for both images of a pair.")
    channels: int | None = option(None, "Image channels (input and output); none: those of the data set.",
                                  choices=(1, 3))
    direction: Literal["AtoB", "BtoA"] = option(
        "AtoB", "Learn to translate the data's A images into its B images, or B into A (the reference trains "
        "facades and cityscapes labels-to-photo with BtoA).")
    generator: Literal["unet_256", "unet_128", "unet_64", "unet_32", "resnet_9blocks", "resnet_6blocks"] = option(
        "unet_256", "Generator: U-Net with 8, 7, 6 or 5 levels (image sides a multiple of 256, 128, 64, 32), or ResNet.")
    discriminator: Literal["basic", "n_layers", "pixel"] = option(
        "basic", "Discriminator on input and output concatenated: basic = 70x70 PatchGAN, n_layers = PatchGAN "
        "with --n-layers-d, pixel = 1x1.")
    n_layers_d: int = option(3, "Convolution layers of the n_layers PatchGAN.", min=1)
    ngf: int = option(64, "Generator width: filters of its first conv layer.", min=1)
    ndf: int = option(64, "Discriminator width: filters of its first conv layer.", min=1)
    norm: Literal["batch", "instance", "none"] = option("batch", "Normalisation layer (reference pix2pix: batch).")
    dropout: bool = option(
        True, "Dropout 0.5 in the generator: the U-Net levels next to the innermost (three at 256 px, none with "
        "unet_32) or the ResNet blocks; the reference pix2pix: on.")
    init_type: Literal["normal", "xavier", "kaiming", "orthogonal"] = option("normal", "Weight initialisation.")
    init_gain: float = option(0.02, "Scale of the weight initialisation.", min=0)
    gan_mode: Literal["vanilla", "lsgan"] = option(
        "vanilla", "Adversarial loss: cross-entropy on the discriminator's logits (the paper's), or least squares.")
    lambda_l1: float = option(100.0, "Weight of the L1 distance between the translation and the target.", min=0)
    lr: float = option(2e-4, "Adam learning rate of both networks.", min=0)
    beta1: float = option(0.5, "Adam beta1 of both networks, in [0, 1).", min=0, below=1)
    n_epochs: int = option(100, "Epochs at the initial learning rate.", min=0)
    n_epochs_decay: int = option(100, "Epochs of linear decay of the learning rate towards zero (after n_epochs).",
                                 min=0)
