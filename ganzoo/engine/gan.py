"""The standard adversarial update, shared by the noise-to-image families (DCGAN, cGAN, WGAN, ProGAN).

One training step = `d` discriminator updates (each on a fresh real batch), then one generator update,
where `d` comes from the balance policy (`--d-steps`, `--balance`). With one discriminator update
per step, the generator's forward pass is computed once and used for both updates (as in the
reference DCGAN loop). The discriminator's parameters are frozen during the generator update, so no
work is spent on gradients nobody uses.

Every image going into the discriminator (reals and fakes, in both updates) passes through
`ctx.augment` (`--augment`), and the real scores feed ADA's controller; penalties see the
discriminator's actual (augmented) inputs.

A family subclasses `GANModel` and provides the networks, optimizers and loss; optional overrides
add penalties (`discriminator_penalty`), weight clipping (`after_discriminator_update`) or change how
latents and labels are drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ganzoo.engine.compile import eager_graphs
from ganzoo.engine.context import StepContext
from ganzoo.engine.model import Model
from ganzoo.losses import AdversarialLoss, r1_penalty


class GANModel(Model):
    """Generator `G` and discriminator `D` trained with an `AdversarialLoss`."""

    adversarial = True
    augmentable = True
    ema_nets = ("G",)
    inference_nets = ("G",)

    def __init__(
        self,
        config: Any,
        *,
        generator: nn.Module,
        discriminator: nn.Module,
        opt_g: torch.optim.Optimizer,
        opt_d: torch.optim.Optimizer,
        loss: AdversarialLoss,
        latent_dim: int,
        num_classes: int | None = None,
    ) -> None:
        super().__init__(config)
        self.nets = {"G": generator, "D": discriminator}
        self.optimizers = {"G": opt_g, "D": opt_d}
        self.loss = loss
        self.latent_dim = latent_dim
        self._num_classes = num_classes

    @property
    def num_classes(self) -> int | None:
        return self._num_classes

    @property
    def conditional(self) -> bool:
        return self._num_classes is not None

    # -- pieces a family may override -----------------------------------------------------------
    def sample_latent(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Latent vectors z ~ N(0, I)."""
        if generator is not None:
            return torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return torch.randn(n, self.latent_dim, device=self.device)

    def sample_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Uniform class labels for generated images (None when unconditional)."""
        if not self.conditional:
            return None
        if generator is not None:
            return torch.randint(0, self._num_classes, (n,), generator=generator).to(self.device)
        return torch.randint(0, self._num_classes, (n,), device=self.device)

    def run_generator(self, G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return G(z) if labels is None else G(z, labels)

    def run_discriminator(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        D = self.nets["D"]
        return D(images) if labels is None else D(images, labels)

    def real_batch(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        labels = batch.get("label") if self.conditional else None
        return batch["image"], labels

    def discriminator_penalty(
        self, ctx: StepContext, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
        real_scores: torch.Tensor, fake_labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """Extra discriminator loss terms (gradient penalty, drift) and their logs."""
        return None, {}

    def lazy_r1(
        self, ctx: StepContext, real: torch.Tensor, labels: torch.Tensor | None, gamma: float, interval: int = 1,
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """The R1 penalty on the real batch (Mescheder et al. 2018) as a `discriminator_penalty` term:
        gamma/2 E[||grad D(x)||^2], applied on steps where `ctx.step % interval == 0` and weighted by
        `interval` (lazy regularisation, Karras et al. 2020); (None, {}) on the other steps or when gamma
        is 0. Its critic runs under `ctx.penalty_precision()` and eagerly (a double backward); logs `r1`."""
        if gamma <= 0 or ctx.step % interval:
            return None, {}
        images = real.detach().float().requires_grad_(True)
        with ctx.penalty_precision(), eager_graphs():  # double backward: not through compiled graphs
            scores = self.run_discriminator(images, labels)
        r1 = r1_penalty(scores, images)
        return (gamma / 2 * interval) * r1, {"r1": r1.detach()}

    def after_discriminator_update(self) -> None:
        """Called after every discriminator optimizer step (e.g. WGAN weight clipping)."""

    def extra_logs(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
        """Family-specific values to log from the last discriminator update."""
        return {}

    # -- the update -----------------------------------------------------------------------------
    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        G, D = self.nets["G"], self.nets["D"]
        logs: dict[str, torch.Tensor] = {}
        n_d = ctx.balance.plan()
        reuse_fake = n_d == 1
        fake: torch.Tensor | None = None
        fake_labels: torch.Tensor | None = None
        batch_size = ctx.stream.batch_size
        for _ in range(n_d):
            batch = ctx.next_batch()
            real, labels = self.real_batch(batch)
            batch_size = real.shape[0]
            z = self.sample_latent(batch_size)
            fake_labels = self.sample_labels(batch_size)
            with ctx.autocast():
                if reuse_fake:
                    fake = self.run_generator(G, z, fake_labels)
                else:
                    with torch.no_grad():
                        fake = self.run_generator(G, z, fake_labels)
            update = ctx.balance.allow_d_update()
            with torch.set_grad_enabled(update):
                real_in, fake_in = ctx.augment(real), ctx.augment(fake.detach())
                with ctx.autocast():
                    real_scores = self.run_discriminator(real_in, labels)
                    fake_scores = self.run_discriminator(fake_in, fake_labels)
                loss_d = self.loss.d_loss(real_scores, fake_scores)
                penalty, penalty_logs = (None, {})
                if update:
                    penalty, penalty_logs = self.discriminator_penalty(
                        ctx, real_in, fake_in, labels, real_scores, fake_labels)
                total_d = loss_d if penalty is None else loss_d + penalty
            ctx.observe_real_scores(real_scores, self.loss.decision_threshold(real_scores, fake_scores))
            acc_real, acc_fake = self.loss.accuracy(real_scores, fake_scores)
            if update:
                ctx.update("D", total_d)
                self.after_discriminator_update()
            else:
                ctx.count("skipped_d")
            if ctx.balance.observes:
                ctx.balance.observe(float(loss_d.detach()), float(acc_real), float(acc_fake))
            logs.update(
                loss_d=total_d.detach(),
                d_real=real_scores.detach().float().mean(),
                d_fake=fake_scores.detach().float().mean(),
                d_acc_real=acc_real,
                d_acc_fake=acc_fake,
                **{k: v.detach() for k, v in penalty_logs.items()},
                **self.extra_logs(real_scores.detach(), fake_scores.detach()),
            )
        if n_d > ctx.balance.d_steps:
            ctx.count("extra_d", n_d - ctx.balance.d_steps)
        elif n_d < ctx.balance.d_steps:
            ctx.count("skipped_d", ctx.balance.d_steps - n_d)
        if not reuse_fake or fake is None:
            z = self.sample_latent(batch_size)
            fake_labels = self.sample_labels(batch_size)
            with ctx.autocast():
                fake = self.run_generator(G, z, fake_labels)
        with ctx.frozen(D):
            fake_in = ctx.augment(fake)
            with ctx.autocast():
                scores = self.run_discriminator(fake_in, fake_labels)
            loss_g = self.loss.g_loss(scores)
        ctx.update("G", loss_g)
        logs["loss_g"] = loss_g.detach()
        return logs

    # -- previews and sampling ------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data: Any) -> dict[str, torch.Tensor | None]:
        if self.conditional:
            k = self._num_classes
            per_class = max(1, n // k)
            labels = torch.arange(k).repeat_interleave(per_class)
            z = torch.randn(len(labels), self.latent_dim, generator=generator)
            return {"z": z, "labels": labels, "nrow": per_class}
        return {"z": torch.randn(n, self.latent_dim, generator=generator), "labels": None, "nrow": None}

    @torch.no_grad()
    def preview(self, inputs: Mapping[str, Any], nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        G = self.net("G", nets)
        z = inputs["z"].to(self.device)
        labels = inputs["labels"].to(self.device) if inputs.get("labels") is not None else None
        images = self.run_generator(G, z, labels).float()
        nrow = inputs.get("nrow") or max(1, int(len(z) ** 0.5))
        return images, nrow

    @torch.no_grad()
    def generate(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
        nets: Mapping[str, nn.Module] | None = None,
    ) -> torch.Tensor:
        G = self.net("G", nets)
        z = self.sample_latent(n, generator)
        if self.conditional and labels is None:
            labels = self.sample_labels(n, generator)
        if labels is not None:
            labels = labels.to(self.device)
        return self.run_generator(G, z, labels).float()
