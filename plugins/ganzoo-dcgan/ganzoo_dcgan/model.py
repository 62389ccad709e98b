"""The DCGAN model: the core's DCGAN networks trained by the standard adversarial update."""

from __future__ import annotations

import torch

from ganzoo.engine import GANModel, StepContext
from ganzoo.losses import get_loss
from ganzoo.nn import DCGANDiscriminator, DCGANGenerator
from ganzoo_dcgan.config import DCGANConfig


class DCGAN(GANModel):
    """Radford et al. (2015): unconditional generator and discriminator, one D update per G update."""

    default_ema_decay = None  # the paper averages nothing

    def discriminator_penalty(
        self, ctx: StepContext, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
        real_scores: torch.Tensor, fake_labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """Lazy R1 on the real batch (`r1_gamma` > 0): every `r1_interval` steps, weighted by the interval."""
        return self.lazy_r1(ctx, real, labels, self.config.r1_gamma, self.config.r1_interval)


def build(config: DCGANConfig, *, training: bool = True) -> DCGAN:
    """Networks, Adam optimizers and loss from `config` (`channels` must be filled in, or 1 is used)."""
    channels = config.channels or 1
    G = DCGANGenerator(config.latent_dim, config.image_size, channels, config.g_width, init_std=config.init_std)
    D = DCGANDiscriminator(config.image_size, channels, config.d_width, init_std=config.init_std,
                           mbstd_group=config.mbstd_group)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=tuple(config.betas_g))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=tuple(config.betas_d))
    return DCGAN(config, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d, loss=get_loss(config.loss),
                 latent_dim=config.latent_dim)
