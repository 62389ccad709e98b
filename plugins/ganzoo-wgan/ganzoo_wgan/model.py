"""WGAN (weight clipping) and WGAN-GP (gradient penalty) on the core's DCGAN networks."""

from __future__ import annotations

from typing import Any

import torch

from ganzoo.engine import GANModel, StepContext
from ganzoo.losses import get_loss, gradient_penalty
from ganzoo.nn import DCGANDiscriminator, DCGANGenerator
from ganzoo_wgan.config import WGANConfig, WGANGPConfig


class WassersteinGAN(GANModel):
    """A generator and a critic trained on the Wasserstein loss; logs the estimate E[D(real)] - E[D(fake)]."""

    default_d_steps = 5
    default_ema_decay = None

    def extra_logs(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"wasserstein": real_scores.float().mean() - fake_scores.float().mean()}


class WGAN(WassersteinGAN):
    """Arjovsky et al. (2017): critic weights clipped to [-clip, clip] after every critic update."""

    @torch.no_grad()
    def after_discriminator_update(self) -> None:
        clip = self.config.clip
        for p in self.nets["D"].parameters():
            p.clamp_(-clip, clip)


class WGANGP(WassersteinGAN):
    """Gulrajani et al. (2017): gradient penalty lambda * E[(||grad D(x_hat)|| - 1)^2] on interpolates."""

    def discriminator_penalty(
        self, ctx: StepContext, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
        real_scores: torch.Tensor, fake_labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        with ctx.penalty_precision():  # bf16 in bf16 runs
            penalty = gradient_penalty(self.nets["D"], real, fake)
        return self.config.gp_weight * penalty, {"gp": penalty.detach()}


def _networks(config: Any, critic_norm: str) -> tuple[DCGANGenerator, DCGANDiscriminator]:
    channels = config.channels or 1
    G = DCGANGenerator(config.latent_dim, config.image_size, channels, config.g_width, init_std=config.init_std)
    D = DCGANDiscriminator(config.image_size, channels, config.d_width, norm=critic_norm, init_std=config.init_std,
                           mbstd_group=getattr(config, "mbstd_group", 1))
    return G, D


def build_wgan(config: WGANConfig, *, training: bool = True) -> WGAN:
    """WGAN with weight clipping: RMSprop on both networks."""
    G, D = _networks(config, config.critic_norm)
    opt_g = torch.optim.RMSprop(G.parameters(), lr=config.lr_g)
    opt_d = torch.optim.RMSprop(D.parameters(), lr=config.lr_d)
    model = WGAN(config, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d, loss=get_loss("wasserstein"),
                 latent_dim=config.latent_dim)
    model.after_discriminator_update()  # the critic starts inside the clipping box
    return model


def build_wgan_gp(config: WGANGPConfig, *, training: bool = True) -> WGANGP:
    """WGAN-GP: Adam on both networks, no batch norm in the critic."""
    G, D = _networks(config, config.critic_norm)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=tuple(config.betas_g))
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=tuple(config.betas_d))
    return WGANGP(config, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d, loss=get_loss("wasserstein"),
                  latent_dim=config.latent_dim)
