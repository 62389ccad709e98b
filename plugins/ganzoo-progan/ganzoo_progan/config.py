"""ProGAN options (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass

from ganzoo.configs import option


@dataclass
class ProGANConfig:
    """Karras et al. (2018): growth from 4x4, fade-in, equalised lr, pixel norm, minibatch stddev, WGAN-GP + drift."""

    image_size: int = option(32, "Final resolution, a power of two from 8 to 1024.",
                             choices=(8, 16, 32, 64, 128, 256, 512, 1024))
    channels: int | None = option(None, "Image channels, 1 or 3; none: those of the data set.", choices=(1, 3))
    latent_dim: int = option(512, "Latent vector length (paper: 512).", min=1)
    fmap_base: int = option(8192, "Feature maps at resolution r are min(fmap_base / r, fmap_max) (paper: 8192).", min=1)
    fmap_max: int = option(512, "Cap on feature maps per layer (paper: 512).", min=1)
    fade_images: int = option(800_000, "Real images shown while a new resolution fades in (paper: 800k).", min=0)
    stable_images: int = option(800_000, "Real images shown at each resolution once faded in (paper: 800k).", min=0)
    batch_sizes: tuple[int, ...] = option((16, 16, 16, 16, 16, 16, 14, 6, 3),
                                          "Batch size per resolution 4, 8, 16, ... (last value repeats).")
    lr: float = option(1e-3, "Adam learning rate of both networks (paper: 0.001).", min=0)
    betas: tuple[float, ...] = option((0.0, 0.99), "Adam betas (paper: 0, 0.99).")
    gp_weight: float = option(10.0, "WGAN-GP gradient penalty weight (paper: 10).", min=0)
    drift: float = option(0.001, "Drift penalty epsilon on the critic's real outputs (paper: 0.001).", min=0)
    ema_decay: float = option(0.999, "Generator EMA decay used for samples (paper: 0.999).", min=0, max=1)
