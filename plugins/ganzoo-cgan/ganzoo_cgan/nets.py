"""Class-conditional DCGAN networks: label embedding concatenated, or a projection discriminator."""

from __future__ import annotations

import torch
from torch import nn

from ganzoo.nn import DCGANDiscriminator, DCGANGenerator, normal_init_


class ConditionalGenerator(nn.Module):
    """G(z, y): the latent vector concatenated with a learned embedding of the label, into a DCGAN generator."""

    def __init__(self, num_classes: int, embed_dim: int, latent_dim: int, image_size: int, channels: int,
                 width: int, *, init_std: float) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)  # on the scale of z, so the label is heard from the start
        self.body = DCGANGenerator(latent_dim + embed_dim, image_size, channels, width, init_std=init_std)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([z.reshape(z.shape[0], -1), self.embed(labels)], dim=1))


class ConcatDiscriminator(nn.Module):
    """D(x, y): one-hot label maps concatenated to the image channels (Mirza and Osindero's conditioning)."""

    def __init__(self, num_classes: int, image_size: int, channels: int, width: int, *, init_std: float) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.body = DCGANDiscriminator(image_size, channels, width, extra_channels=num_classes, init_std=init_std)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        n, _, h, w = images.shape
        maps = torch.zeros(n, self.num_classes, h, w, device=images.device, dtype=images.dtype)
        maps[torch.arange(n, device=images.device), labels] = 1.0
        return self.body(torch.cat([images, maps], dim=1))


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = psi(phi(x)) + <embed(y), sum-pooled phi(x)> (Miyato and Koyama 2018).

    phi is the DCGAN discriminator's last 4 x 4 feature map and psi its final convolution.
    """

    def __init__(self, num_classes: int, image_size: int, channels: int, width: int, *, init_std: float) -> None:
        super().__init__()
        self.body = DCGANDiscriminator(image_size, channels, width, init_std=init_std)
        self.embed = nn.Embedding(num_classes, self.body.feature_channels)
        normal_init_(self.embed, init_std)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        features = self.body.features(images)
        pooled = features.sum(dim=(2, 3))
        return self.body.score(features) + (self.embed(labels) * pooled).sum(dim=1)
