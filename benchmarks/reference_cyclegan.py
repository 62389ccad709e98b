"""The reference CycleGAN training step (Zhu et al. 2017), written plainly for side-by-side timing.

The networks are the cyclegan plugin's (the reference's architectures, ported layer for layer), so
both sides run the same layers; here they are deep copies of the networks ganzoo built, which also
gives both sides the same initial weights. What is written here is the update, in the reference
implementation's order:

  forward:  fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A)
  G step:   D_A and D_B stop requiring gradients; zero G's gradients;
            identity idt_A = G_A(B), idt_B = G_B(A) (weights lambda_B * lambda_idt, lambda_A * lambda_idt);
            GAN terms MSE(D_A(fake_B), 1) + MSE(D_B(fake_A), 1); cycle L1 terms (weights lambda_A, lambda_B);
            one backward of the sum; step the generators' Adam
  D step:   D_A and D_B require gradients again; zero D's gradients;
            D_A on real B and on fake_B drawn through pool A, 0.5 (MSE(real, 1) + MSE(fake, 0)), backward;
            D_B likewise with real A and pool B, backward; step the discriminators' Adam

with LSGAN targets built as tensors of ones and zeros the shape of the prediction, as the reference's
GANLoss does, and Adam (lr 2e-4, betas 0.5, 0.999) with PyTorch's default implementation.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import random

import torch
from torch import nn


class HistoryPool:
    """The reference's image buffer: fill up to `size`; then each image is, with probability 1/2,
    exchanged for a stored one picked uniformly (Python's `random`, as the reference)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.stored: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        chosen = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.stored) < self.size:
                self.stored.append(image)
                chosen.append(image)
            elif random.uniform(0, 1) > 0.5:
                slot = random.randint(0, self.size - 1)
                chosen.append(self.stored[slot].clone())
                self.stored[slot] = image
            else:
                chosen.append(image)
        return torch.cat(chosen, 0)


def lsgan(prediction: torch.Tensor, real: bool) -> torch.Tensor:
    """MSE against a target of ones (real) or zeros (fake) the shape of `prediction`."""
    target = torch.tensor(1.0 if real else 0.0, device=prediction.device).expand_as(prediction)
    return nn.functional.mse_loss(prediction, target)


class ReferenceCycleGAN:
    """Copies of G_A, G_B, D_A, D_B with their own Adam optimizers and pools; `step(real_a, real_b)`."""

    def __init__(self, nets: dict[str, nn.Module], *, lambda_a: float = 10.0, lambda_b: float = 10.0,
                 lambda_identity: float = 0.5, pool_size: int = 50, precision: str = "fp32") -> None:
        self.G_A, self.G_B, self.D_A, self.D_B = (copy.deepcopy(nets[n]) for n in ("G_A", "G_B", "D_A", "D_B"))
        for net in (self.G_A, self.G_B, self.D_A, self.D_B):
            net.train()
        self.lambda_a, self.lambda_b, self.lambda_identity = lambda_a, lambda_b, lambda_identity
        self.optimizer_G = torch.optim.Adam(itertools.chain(self.G_A.parameters(), self.G_B.parameters()),
                                            lr=2e-4, betas=(0.5, 0.999))
        self.optimizer_D = torch.optim.Adam(itertools.chain(self.D_A.parameters(), self.D_B.parameters()),
                                            lr=2e-4, betas=(0.5, 0.999))
        self.pool_a = HistoryPool(pool_size)  # fakes of domain B, shown to D_A
        self.pool_b = HistoryPool(pool_size)  # fakes of domain A, shown to D_B
        self.l1 = nn.L1Loss()
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        self.device = next(self.G_A.parameters()).device

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @staticmethod
    def _requires_grad(nets: list[nn.Module], flag: bool) -> None:
        for net in nets:
            for p in net.parameters():
                p.requires_grad = flag

    def _d_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            pred_real = D(real)
            pred_fake = D(fake.detach())
        loss = 0.5 * (lsgan(pred_real.float(), True) + lsgan(pred_fake.float(), False))
        loss.backward()
        return loss.detach()

    def step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, float]:
        real_a, real_b = real_a.to(self.device), real_b.to(self.device)
        with self._autocast():
            fake_b = self.G_A(real_a)
            rec_a = self.G_B(fake_b)
            fake_a = self.G_B(real_b)
            rec_b = self.G_A(fake_a)
        self._requires_grad([self.D_A, self.D_B], False)
        self.optimizer_G.zero_grad()
        loss_idt = torch.zeros((), device=self.device)
        if self.lambda_identity > 0:
            with self._autocast():
                idt_a = self.G_A(real_b)
                idt_b = self.G_B(real_a)
            loss_idt = (self.l1(idt_a.float(), real_b) * self.lambda_b * self.lambda_identity
                        + self.l1(idt_b.float(), real_a) * self.lambda_a * self.lambda_identity)
        with self._autocast():
            pred_b = self.D_A(fake_b)
            pred_a = self.D_B(fake_a)
        loss_g = (lsgan(pred_b.float(), True) + lsgan(pred_a.float(), True)
                  + self.l1(rec_a.float(), real_a) * self.lambda_a + self.l1(rec_b.float(), real_b) * self.lambda_b
                  + loss_idt)
        loss_g.backward()
        loss_g = loss_g.detach()
        self.optimizer_G.step()
        self._requires_grad([self.D_A, self.D_B], True)
        self.optimizer_D.zero_grad()
        loss_d_a = self._d_loss(self.D_A, real_b, self.pool_a.query(fake_b))
        loss_d_b = self._d_loss(self.D_B, real_a, self.pool_b.query(fake_a))
        self.optimizer_D.step()
        return {"loss_g": loss_g.item(), "loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}
