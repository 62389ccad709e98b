"""The CycleGAN model (Zhu et al. 2017) with the reference implementation's training step and schedule.

Networks (the reference's names): `G_A` maps domain A to B, `G_B` maps B to A, `D_A` judges images
of domain B (real B against G_A's output), `D_B` judges images of domain A.

One training step, in the reference's order:
  1. forward: fake_b = G_A(a), rec_a = G_B(fake_b), fake_a = G_B(b), rec_b = G_A(fake_a);
  2. generator update (one Adam over both generators, discriminators frozen):
       GAN(D_A(fake_b), real) + GAN(D_B(fake_a), real)
       + lambda_a |rec_a - a| + lambda_b |rec_b - b|                      (L1 means)
       + lambda_identity (lambda_b |G_A(b) - b| + lambda_a |G_B(a) - a|)   (when lambda_identity > 0);
  3. discriminator update (one Adam over both discriminators), each on 0.5 (real term + fake term),
     where the fakes are the step-1 images after the image pools (D_A's pool first, then D_B's).
The learning rate follows the reference's linear policy epoch by epoch (`ganzoo.engine.schedules.LinearDecay`,
shared with pix2pix; the Trainer steps the schedulers at every epoch end).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.engine import Model, StepContext
from ganzoo.engine.schedules import LinearDecay
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.losses import get_loss, gradient_penalty
from ganzoo.nn import make_discriminator, make_generator, run_padded, size_problem, translation_init_
from ganzoo_cyclegan.config import CycleGANConfig
from ganzoo_cyclegan.pool import ImagePool

#: The reference's GAN modes and the core losses with the same arithmetic.
GAN_MODES = {"lsgan": "lsgan", "vanilla": "bce", "wgangp": "wasserstein"}
DIRECTIONS = {"a2b": "G_A", "b2a": "G_B"}
PREVIEW_INPUTS = 8


class CycleGAN(Model):
    """Two generators, two discriminators, two image pools; see the module docstring for the update."""

    scheduler_interval = "epoch"
    ema_nets = ("G_A", "G_B")
    inference_nets = ("G_A", "G_B")
    default_ema_decay = None  # the reference averages nothing
    adversarial = True

    def __init__(self, config: CycleGANConfig, *, training: bool = True) -> None:
        super().__init__(config)
        channels = config.channels or 3
        G_A = make_generator(config.generator, channels, channels, config.ngf, norm=config.norm, dropout=config.dropout)
        G_B = make_generator(config.generator, channels, channels, config.ngf, norm=config.norm, dropout=config.dropout)
        self.nets = {"G_A": translation_init_(G_A, config.init_type, config.init_gain),
                     "G_B": translation_init_(G_B, config.init_type, config.init_gain)}
        if training:
            for name in ("D_A", "D_B"):
                D = make_discriminator(config.discriminator, channels, config.ndf, n_layers=config.n_layers_d,
                                       norm=config.norm)
                self.nets[name] = translation_init_(D, config.init_type, config.init_gain)
            lr_d = config.lr if config.lr_d is None else config.lr_d
            beta1_d = config.beta1 if config.beta1_d is None else config.beta1_d
            self.optimizers = {
                "G": torch.optim.Adam([*self.nets["G_A"].parameters(), *self.nets["G_B"].parameters()],
                                      lr=config.lr, betas=(config.beta1, 0.999)),
                "D": torch.optim.Adam([*self.nets["D_A"].parameters(), *self.nets["D_B"].parameters()],
                                      lr=lr_d, betas=(beta1_d, 0.999)),
            }
            self.schedulers = {
                name: torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(config.n_epochs, config.n_epochs_decay))
                for name, opt in self.optimizers.items()
            }
        self.loss = get_loss(GAN_MODES[config.gan_mode])
        self.pools = {"fake_b": ImagePool(config.pool_size), "fake_a": ImagePool(config.pool_size)}
        self.channels = channels
        # Batched passes need networks that treat every image on its own: batch norm mixes the
        # images' statistics and dropout would draw its masks in another order.
        independent = config.norm in ("instance", "none")
        self.batch_generator_passes = config.batched_passes and independent and not config.dropout
        self.batch_discriminator_passes = config.batched_passes and independent

    # -- run length and life cycle ------------------------------------------------------------
    def total_steps_hint(self, steps_per_epoch: int) -> int | None:
        return max(1, (self.config.n_epochs + self.config.n_epochs_decay) * steps_per_epoch)

    def on_train_start(self, ctx: StepContext) -> None:
        if ctx.balance.kind == "adaptive" or ctx.balance.d_steps != 1:
            raise ConfigError("cyclegan makes one discriminator update per step: --d-steps and --balance adaptive "
                              "do not apply (--balance skip-d:THRESHOLD does)")

    # -- one update -----------------------------------------------------------------------------
    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        cfg = self.config
        G_A, G_B, D_A, D_B = (self.nets[n] for n in ("G_A", "G_B", "D_A", "D_B"))
        batch = ctx.next_batch()
        real_a, real_b = batch["a"], batch["b"]
        logs: dict[str, torch.Tensor] = {}

        identity = cfg.lambda_identity > 0
        with ctx.autocast():
            if identity and self.batch_generator_passes:
                # G_A over a and b, G_B over b and a: each image's arithmetic is what separate calls do.
                n = real_a.shape[0]
                fake_b, idt_a = G_A(torch.cat([real_a, real_b])).split(n)
                fake_a, idt_b = G_B(torch.cat([real_b, real_a])).split(n)
            else:
                fake_b = G_A(real_a)
                fake_a = G_B(real_b)
            rec_a = G_B(fake_b)
            rec_b = G_A(fake_a)

        with ctx.frozen(D_A, D_B):
            loss_g = torch.zeros((), device=real_a.device)
            if identity:
                if not self.batch_generator_passes:
                    with ctx.autocast():
                        idt_a = G_A(real_b)
                        idt_b = G_B(real_a)
                loss_idt_a = F.l1_loss(idt_a.float(), real_b.float()) * cfg.lambda_b * cfg.lambda_identity
                loss_idt_b = F.l1_loss(idt_b.float(), real_a.float()) * cfg.lambda_a * cfg.lambda_identity
                loss_g = loss_g + loss_idt_a + loss_idt_b
                logs.update(idt_a=loss_idt_a.detach(), idt_b=loss_idt_b.detach())
            with ctx.autocast():
                scores_b = D_A(fake_b)
                scores_a = D_B(fake_a)
            loss_g_a = self.loss.g_loss(scores_b)
            loss_g_b = self.loss.g_loss(scores_a)
            loss_cycle_a = F.l1_loss(rec_a.float(), real_a.float()) * cfg.lambda_a
            loss_cycle_b = F.l1_loss(rec_b.float(), real_b.float()) * cfg.lambda_b
            loss_g = loss_g + loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b
        ctx.update("G", loss_g)
        logs.update(loss_g=loss_g.detach(), g_a=loss_g_a.detach(), g_b=loss_g_b.detach(),
                    cycle_a=loss_cycle_a.detach(), cycle_b=loss_cycle_b.detach())

        pooled_b = self.pools["fake_b"].query(fake_b.detach())
        pooled_a = self.pools["fake_a"].query(fake_a.detach())
        update = ctx.balance.allow_d_update()
        with torch.set_grad_enabled(update):
            loss_d_a, acc_a = self._discriminator_loss(ctx, D_A, real_b, pooled_b, update)
            loss_d_b, acc_b = self._discriminator_loss(ctx, D_B, real_a, pooled_a, update)
            loss_d = loss_d_a + loss_d_b
        if update:
            ctx.update("D", loss_d)
        else:
            ctx.count("skipped_d")
        acc_real = 0.5 * (acc_a[0] + acc_b[0])
        acc_fake = 0.5 * (acc_a[1] + acc_b[1])
        if ctx.balance.observes:
            ctx.balance.observe(float(loss_d.detach()), float(acc_real), float(acc_fake))
        logs.update(loss_d=loss_d.detach(), d_a=loss_d_a.detach(), d_b=loss_d_b.detach(),
                    d_acc_real=acc_real, d_acc_fake=acc_fake)
        return logs

    def _discriminator_loss(self, ctx: StepContext, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                            update: bool) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """0.5 (real term + fake term), plus the gradient penalty in wgangp mode, and the accuracies."""
        with ctx.autocast():
            if self.batch_discriminator_passes:  # one pass over real and fake images
                real_scores, fake_scores = D(torch.cat([real, fake.detach()])).split([len(real), len(fake)])
            else:
                real_scores = D(real)
                fake_scores = D(fake.detach())
        loss = 0.5 * self.loss.d_loss(real_scores, fake_scores)
        if update and self.config.gan_mode == "wgangp" and self.config.lambda_gp > 0:
            with ctx.full_precision():
                loss = loss + self.config.lambda_gp * gradient_penalty(D, real, fake)
        return loss, self.loss.accuracy(real_scores, fake_scores)

    # -- family state -----------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"pools": {name: pool.state_dict() for name, pool in self.pools.items()}}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        for name, pool_state in (state.get("pools") or {}).items():
            if name in self.pools:
                self.pools[name].load_state_dict(pool_state)

    # -- previews -------------------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data: Any) -> dict[str, torch.Tensor]:
        """Up to 8 fixed held-out images of each domain (training images when the data has no test split)."""
        dataset = getattr(data, "test", None) or data.train
        k = max(1, min(n, PREVIEW_INPUTS))
        return {"a": _domain_images(dataset, "a", k, generator), "b": _domain_images(dataset, "b", k, generator)}

    @torch.no_grad()
    def preview(self, inputs: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        """One row per input pair: a, G_A(a), G_B(G_A(a)), b, G_B(b), G_A(G_B(b))."""
        G_A, G_B = self.net("G_A", nets), self.net("G_B", nets)
        a = inputs["a"].to(self.device)
        b = inputs["b"].to(self.device)
        fake_b = G_A(a)
        rec_a = G_B(fake_b)
        fake_a = G_B(b)
        rec_b = G_A(fake_a)
        k = min(len(a), len(b))
        columns = [a[:k], fake_b[:k], rec_a[:k], b[:k], fake_a[:k], rec_b[:k]]
        grid = torch.stack([c.float() for c in columns], dim=1).flatten(0, 1)
        return grid, len(columns)

    # -- inference ----------------------------------------------------------------------------
    @torch.no_grad()
    def translate(self, images: torch.Tensor, *, direction: str = "a2b",
                  nets: Mapping[str, nn.Module] | None = None) -> torch.Tensor:
        """Translate images in [-1, 1] (N x C x H x W, any size) from A to B ("a2b") or B to A ("b2a")."""
        if direction not in DIRECTIONS:
            raise ConfigError(f"direction must be a2b or b2a, not {direction!r}")
        name = DIRECTIONS[direction]
        if nets is not None and name not in nets:
            have = ", ".join(f"{d} ({n})" for d, n in DIRECTIONS.items() if n in nets) or "none"
            raise CheckpointError(f"this checkpoint holds no {name} generator, so it cannot translate {direction}; "
                                  f"directions it can: {have}")
        if images.dim() != 4 or images.shape[1] != self.channels:
            raise ConfigError(f"the model translates N x {self.channels} x H x W images, got {tuple(images.shape)}")
        G = self.net(name, nets)
        return run_padded(G, images.to(self.device), getattr(G, "size_multiple", 1)).clamp(-1.0, 1.0)


def _domain_images(dataset: Any, domain: str, k: int, generator: torch.Generator) -> torch.Tensor:
    """k images of one domain of an unpaired or aligned data set, chosen with `generator`."""
    part = getattr(dataset, domain, None)
    if part is not None and hasattr(part, "__getitem__") and hasattr(part, "__len__"):
        order = torch.randperm(len(part), generator=generator)[:k].tolist()
        return torch.stack([part[(i, 0)]["image"] for i in order]).float()
    order = torch.randperm(len(dataset), generator=generator)[:k].tolist()
    return torch.stack([dataset[(i, i)][domain] for i in order]).float()


def check_config(config: CycleGANConfig) -> None:
    """One-line errors for option combinations the networks cannot run with."""
    problem = size_problem(config.generator, config.discriminator, config.n_layers_d, config.norm, config.image_size)
    if problem:
        raise ConfigError(problem)
    if config.load_size is not None and config.load_size < config.image_size:
        raise ConfigError(f"load_size {config.load_size} is smaller than image_size {config.image_size}; "
                          "the random crop must fit inside the loaded image")


def build(config: CycleGANConfig, *, training: bool = True) -> CycleGAN:
    """The CycleGAN model for `config` (`channels` none means 3)."""
    check_config(config)
    return CycleGAN(config, training=training)
