"""The plain DCGAN training loop a PyTorch user would write: pytorch/examples' `dcgan` update.

Networks: written here as plain `nn.Sequential` stacks in the example's layer order (transposed
convolutions, batch norm, ReLU, tanh; convolutions, batch norm, LeakyReLU 0.2, sigmoid). Three
layers carry a bias in ganzoo's DCGAN and not in the example (the discriminator's first and last
convolutions, the generator's output layer); here they follow ganzoo, so both sides compute exactly
the same layers on the same parameter set (3 + 64 + 1 extra numbers out of 6.3 million) and
weights can be copied from one to the other. The example's sigmoid followed by `nn.BCELoss` is
the same function as ganzoo's softplus form of the non-saturating loss.

Update, in the example's order: zero D's gradients; D(real) against label 1, backward; draw noise,
G(noise); D(fake.detach()) against label 0, backward; step D; zero G's gradients; D(fake) against
label 1 (D's parameters still require gradients: the example computes and discards them), backward;
step G. The example reads three values back with `.item()` every step; so does this loop.
Adam (lr 2e-4, betas 0.5, 0.999) with PyTorch's default implementation, as in the example.
"""

from __future__ import annotations

import contextlib
import itertools

import torch
from torch import nn


def generator(latent: int = 100, ngf: int = 64, channels: int = 3, image_size: int = 64) -> nn.Sequential:
    """The example's netG for `image_size` (64 in the example), deeper or shallower by powers of two."""
    depth = image_size.bit_length() - 3  # stride-2 layers after the 4 x 4 start
    widths = [ngf * 2 ** i for i in reversed(range(depth))]
    layers: list[nn.Module] = [nn.ConvTranspose2d(latent, widths[0], 4, 1, 0, bias=False),
                               nn.BatchNorm2d(widths[0]), nn.ReLU(True)]
    for c_in, c_out in itertools.pairwise(widths):
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=True), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(ndf: int = 64, channels: int = 3, image_size: int = 64) -> nn.Sequential:
    """The example's netD (ending in a sigmoid) for `image_size`."""
    depth = image_size.bit_length() - 3
    widths = [ndf * 2 ** i for i in range(depth)]
    layers: list[nn.Module] = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=True), nn.LeakyReLU(0.2, True)]
    for c_in, c_out in itertools.pairwise(widths):
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=True), nn.Sigmoid()]
    return nn.Sequential(*layers)


def init_weights(module: nn.Module) -> None:
    """The example's initialisation: convolutions N(0, 0.02), batch-norm scales N(1, 0.02), shifts 0."""
    name = type(module).__name__
    if "Conv" in name:
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif "BatchNorm" in name:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter and buffer of `source` into `target`, matched by order and shape."""
    src = [t for _, t in source.state_dict().items()]
    dst = target.state_dict()
    if len(src) != len(dst):
        raise ValueError(f"different layouts: {len(src)} tensors vs {len(dst)}")
    with torch.no_grad():
        for (key, value), new in zip(dst.items(), src):
            if value.shape != new.shape:
                raise ValueError(f"{key}: shape {tuple(value.shape)} vs {tuple(new.shape)}")
            value.copy_(new)


class ReferenceDCGAN:
    """netG, netD, their Adam optimizers and the example's update (`step(real)`)."""

    def __init__(self, *, latent: int = 100, image_size: int = 64, channels: int = 3, width: int = 64,
                 device: torch.device | str = "cpu", precision: str = "fp32") -> None:
        self.device = torch.device(device)
        self.latent = latent
        self.netG = generator(latent, width, channels, image_size).to(self.device)
        self.netD = discriminator(width, channels, image_size).to(self.device)
        self.netG.apply(init_weights)
        self.netD.apply(init_weights)
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _score(self, images: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            return self.netD(images).view(-1).float()

    def step(self, real: torch.Tensor, noise: torch.Tensor | None = None) -> dict[str, float]:
        """One update on the batch `real`; `noise` (N x latent) fixes the latents (for comparisons)."""
        real = real.to(self.device)
        n = real.size(0)
        self.netD.zero_grad()
        label = torch.full((n,), 1.0, dtype=torch.float32, device=self.device)
        output = self._score(real)
        err_d_real = self.criterion(output, label)
        err_d_real.backward()
        d_x = output.mean().item()
        if noise is None:
            noise = torch.randn(n, self.latent, 1, 1, device=self.device)
        with self._autocast():
            fake = self.netG(noise.reshape(n, self.latent, 1, 1).to(self.device))
        label.fill_(0.0)
        output = self._score(fake.detach())
        err_d_fake = self.criterion(output, label)
        err_d_fake.backward()
        d_g_z1 = output.mean().item()
        self.optimizerD.step()
        self.netG.zero_grad()
        label.fill_(1.0)
        output = self._score(fake)
        err_g = self.criterion(output, label)
        err_g.backward()
        d_g_z2 = output.mean().item()
        self.optimizerG.step()
        return {"loss_d": (err_d_real + err_d_fake).item(), "loss_g": err_g.item(), "d_x": d_x,
                "d_g_z1": d_g_z1, "d_g_z2": d_g_z2}
