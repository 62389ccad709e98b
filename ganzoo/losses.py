"""Adversarial losses and penalties shared by every family.

Each loss maps discriminator outputs (raw scores, no sigmoid) to a discriminator loss and a generator
loss, and says how to read those scores as real/fake decisions (for accuracy diagnostics):

  bce          non-saturating GAN (Goodfellow et al. 2014): D: softplus(-r) + softplus(f); G: softplus(-f)
  lsgan        least squares (Mao et al. 2017): D: (r-1)^2 + f^2; G: (f-1)^2   (means over elements)
  hinge        D: relu(1-r) + relu(1+f); G: -f
  wasserstein  D: f - r; G: -f

`d_loss` returns the sum of the real and fake terms (each a mean); families that average them, as
the reference CycleGAN does, multiply by 0.5 themselves.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ganzoo.engine.compile import eager_graphs
from ganzoo.errors import ConfigError


class AdversarialLoss:
    """A GAN objective on raw discriminator scores."""

    name = ""
    #: A score above this reads as "real" (for discriminator accuracy).
    threshold = 0.0

    def d_real(self, real: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def d_fake(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """Discriminator loss: real term + fake term."""
        return self.d_real(real) + self.d_fake(fake)

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """Generator loss on the discriminator's scores of generated images."""
        raise NotImplementedError

    def accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Fractions of real scored real and of fake scored fake."""
        threshold = self.decision_threshold(real, fake)
        return (real.detach().float() > threshold).float().mean(), (fake.detach().float() <= threshold).float().mean()

    def decision_threshold(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | float:
        return self.threshold


class NonSaturatingBCE(AdversarialLoss):
    name = "bce"

    def d_real(self, real: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real.float()).mean()

    def d_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(fake.float()).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake.float()).mean()


class LeastSquares(AdversarialLoss):
    name = "lsgan"
    threshold = 0.5

    def d_real(self, real: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(real.float(), torch.ones_like(real, dtype=torch.float32))

    def d_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(fake.float(), torch.zeros_like(fake, dtype=torch.float32))

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(fake.float(), torch.ones_like(fake, dtype=torch.float32))


class Hinge(AdversarialLoss):
    name = "hinge"

    def d_real(self, real: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real.float()).mean()

    def d_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 + fake.float()).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.float().mean()


class Wasserstein(AdversarialLoss):
    name = "wasserstein"

    def d_real(self, real: torch.Tensor) -> torch.Tensor:
        return -real.float().mean()

    def d_fake(self, fake: torch.Tensor) -> torch.Tensor:
        return fake.float().mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.float().mean()

    def decision_threshold(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        # A critic has no absolute scale: split at the midpoint of the two means.
        return 0.5 * (real.detach().float().mean() + fake.detach().float().mean())


LOSSES: dict[str, type[AdversarialLoss]] = {
    "bce": NonSaturatingBCE,
    "vanilla": NonSaturatingBCE,
    "lsgan": LeastSquares,
    "hinge": Hinge,
    "wasserstein": Wasserstein,
    "wgan": Wasserstein,
}


def get_loss(name: str) -> AdversarialLoss:
    """The adversarial loss called `name` (bce/vanilla, lsgan, hinge, wasserstein/wgan)."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ConfigError(f"unknown adversarial loss {name!r}; choose one of {', '.join(sorted(LOSSES))}") from None


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    fake: torch.Tensor,
    *,
    target: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty E[(||grad critic(x_hat)||_2 - target)^2] on random interpolates (unweighted).

    Interpolates, their gradients and the norms are fp32; `critic` runs in the precision region it is
    called in (`StepContext.full_precision` or `penalty_precision`), on interpolates that require grad,
    with a graph kept so the penalty back-propagates into the critic's parameters.
    """
    real = real.detach().float()
    fake = fake.detach().float()
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, device=real.device, generator=generator)
    interpolates = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    with eager_graphs():  # a compiled critic's backward cannot be differentiated again
        scores = critic(interpolates).float()
    (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    norms = grads.flatten(1).norm(2, dim=1)
    return ((norms - target) ** 2).mean()


def r1_penalty(real_scores: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """R1 penalty E[||grad D(x)||^2] on real images (Mescheder et al. 2018), unweighted (gamma/2 is yours).

    `real_images` must have `requires_grad=True` when `real_scores` were computed, and a compiled
    discriminator must have computed them eagerly (in `ganzoo.engine.compile.eager_graphs()`).
    """
    (grads,) = torch.autograd.grad(real_scores.float().sum(), real_images, create_graph=True)
    return grads.flatten(1).pow(2).sum(dim=1).mean()


def drift_penalty(real_scores: torch.Tensor) -> torch.Tensor:
    """ProGAN's drift term E[D(x)^2] that keeps critic scores near zero (weight it by epsilon)."""
    return real_scores.float().pow(2).mean()
