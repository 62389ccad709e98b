"""The conditional GAN model: labels from the batch for real images, uniform labels for generated ones."""

from __future__ import annotations

import torch

from ganzoo.engine import GANModel
from ganzoo.errors import ConfigError
from ganzoo.losses import get_loss
from ganzoo_cgan.config import CGANConfig
from ganzoo_cgan.nets import ConcatDiscriminator, ConditionalGenerator, ProjectionDiscriminator


class CGAN(GANModel):
    """A class-conditional DCGAN; sample grids have one row per class."""

    default_ema_decay = None


def build(config: CGANConfig, *, training: bool = True) -> CGAN:
    """Networks, Adam optimizers and loss from `config`; `num_classes` must be known (it is filled from the data)."""
    if config.num_classes is None:
        raise ConfigError("cgan needs the number of classes: train on a labelled data set or give --num-classes")
    channels = config.channels or 1
    k = config.num_classes
    G = ConditionalGenerator(k, config.embed_dim, config.latent_dim, config.image_size, channels, config.g_width,
                             init_std=config.init_std)
    disc = ProjectionDiscriminator if config.conditioning == "projection" else ConcatDiscriminator
    D = disc(k, config.image_size, channels, config.d_width, init_std=config.init_std)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=tuple(config.betas_g))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=tuple(config.betas_d))
    return CGAN(config, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d, loss=get_loss(config.loss),
                latent_dim=config.latent_dim, num_classes=k)
