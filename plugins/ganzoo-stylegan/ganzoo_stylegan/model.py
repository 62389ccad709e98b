"""The StyleGAN2 model: the paper's training step on ganzoo's engine.

One step is the reference's four phases on one real batch: the generator's main update (non-saturating
logistic loss), every `pl_interval` steps its path-length regularisation, the discriminator's main
update, and every `r1_interval` steps its R1 penalty (lazy regularisation: the penalty is multiplied by
its interval, and Adam's learning rate and betas are scaled by interval / (interval + 1)). Each phase
draws its own latents, mixed across two w's with probability `style_mixing`. The generator's EMA copy
`G_ema` follows the reference's half-life in images with a ramp-up; it is a network of the model (saved
and restored with the run) and the one used to sample. The running path-length mean is family state.

Every image the discriminator sees goes through `discriminate`, the one place where the run's `--augment`
(ADA, DiffAugment) applies; the real scores of the main update feed ADA's controller. R1 is taken with
respect to the non-augmented real images, as in the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.engine import GANModel, StepContext
from ganzoo.engine.compile import eager_graphs
from ganzoo.errors import CheckpointError, ConfigError, DataError
from ganzoo.losses import get_loss
from ganzoo_stylegan.config import (
    StyleGAN2Config,
    auto_channel_base,
    auto_ema_kimg,
    auto_gamma,
    auto_lr,
)
from ganzoo_stylegan.networks import Discriminator, Generator


def lazy_adam(params: Any, lr: float, betas: tuple[float, float], interval: int) -> torch.optim.Adam:
    """Adam with lr and betas scaled for lazy regularisation every `interval` steps."""
    ratio = interval / (interval + 1) if interval > 1 else 1.0
    return torch.optim.Adam(params, lr=lr * ratio, betas=(betas[0] ** ratio, betas[1] ** ratio), eps=1e-8)


class StyleGAN2(GANModel):
    """Karras et al. (2020): StyleGAN2 with lazy R1, path-length regularisation, style mixing and a ramped G EMA."""

    ema_nets = ()  # the family keeps its own EMA (half-life in images, ramp-up): network `G_ema`
    inference_nets = ("G_ema",)

    def __init__(self, config: StyleGAN2Config, *, g_ema: Generator, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.nets["G_ema"] = g_ema
        self.pl_mean = torch.zeros([])
        self.truncation_psi = float(config.truncation_psi)

    # -- helpers --------------------------------------------------------------------------------
    @property
    def generator(self) -> Generator:
        return self.nets["G"]  # type: ignore[return-value]

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> StyleGAN2:
        super().to(device, channels_last=channels_last)
        self.pl_mean = self.pl_mean.to(self.device)
        return self

    def train(self, mode: bool = True) -> StyleGAN2:
        super().train(mode)
        self.nets["G_ema"].eval()  # the average is never trained: its w_avg follows G's
        return self

    def discriminate(self, images: torch.Tensor, labels: torch.Tensor | None,
                     ctx: StepContext | None = None) -> torch.Tensor:
        """D's scores (one per image) of `images`: the single route of every discriminator input, through the
        run's `--augment` (ADA, DiffAugment) when training."""
        if ctx is not None:
            images = ctx.augment(images)
        return self.nets["D"](images, labels).flatten()

    def run_discriminator(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminate(images, labels)

    def mapped(self, G: Generator, z: torch.Tensor, labels: torch.Tensor | None, *, mixing: float = 0.0,
               truncation_psi: float = 1.0) -> torch.Tensor:
        """ws for latents z (with style mixing at probability `mixing`: a second w from a random layer on)."""
        c = G.one_hot(labels, z.shape[0])
        ws = G.mapping(z, c, truncation_psi=truncation_psi)
        if mixing > 0:
            cutoff = torch.empty([], dtype=torch.int64, device=ws.device).random_(1, ws.shape[1])
            cutoff = torch.where(torch.rand([], device=ws.device) < mixing, cutoff, torch.full_like(cutoff, ws.shape[1]))
            other = G.mapping(torch.randn_like(z), c, truncation_psi=truncation_psi, update_w_avg=False)
            layer = torch.arange(ws.shape[1], device=ws.device)
            ws = torch.where((layer >= cutoff)[None, :, None], other, ws)
        return ws

    def run_generator(self, G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return G(z, labels)

    def real_batch(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        images = batch["image"]
        if images.shape[-1] != self.config.image_size or images.shape[-2] != self.config.image_size:
            raise DataError(f"stylegan2 at {self.config.image_size}px got images of {tuple(images.shape[-2:])}; "
                            "train with the model's --image-size")
        if not self.conditional:
            return images, None
        labels = batch.get("label")
        if labels is None:
            raise DataError("this stylegan2 is class-conditional (--classes) but the data has no labels; "
                            "use labelled data or --classes 0")
        if int(labels.max()) >= self.num_classes:
            raise DataError(f"the data has a label {int(labels.max())}, but --classes is {self.num_classes}")
        return images, labels

    def batch_hyperparameters(self, batch: int) -> tuple[float, float]:
        """(R1 gamma, EMA half-life in images) for a batch size: the config's values or the auto rules."""
        cfg = self.config
        gamma = cfg.r1_gamma if cfg.r1_gamma is not None else auto_gamma(cfg.image_size, batch)
        ema_kimg = cfg.ema_kimg if cfg.ema_kimg is not None else auto_ema_kimg(batch)
        return gamma, ema_kimg * 1000

    # -- the step -------------------------------------------------------------------------------
    def on_train_start(self, ctx: StepContext) -> None:
        batch = ctx.stream.batch_size
        if batch % min(self.config.mbstd_group, batch):
            raise ConfigError(f"the batch size {batch} is not a multiple of the minibatch-std group "
                              f"{self.config.mbstd_group}; change --batch-size or --mbstd-group")

    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        cfg = self.config
        G, D, G_ema = self.nets["G"], self.nets["D"], self.nets["G_ema"]
        step = ctx.step
        start_images = ctx.images_seen
        real, labels = self.real_batch(ctx.next_batch())
        n = real.shape[0]
        gamma, ema_nimg = self.batch_hyperparameters(n)
        logs: dict[str, torch.Tensor] = {}

        # Generator: main loss.
        with ctx.frozen(D):
            z, c = self.sample_latent(n), self.sample_labels(n)
            with ctx.autocast():
                fake = G.synthesis(self.mapped(G, z, c, mixing=cfg.style_mixing))
                fake_scores = self.discriminate(fake, c, ctx)
            loss_g = F.softplus(-fake_scores.float()).mean()
        ctx.update("G", loss_g)
        logs["loss_g"] = loss_g.detach()

        # Generator: lazy path-length regularisation.
        if cfg.pl_weight > 0 and step % cfg.pl_interval == 0:
            m = max(n // cfg.pl_batch_shrink, 1)
            z, c = self.sample_latent(m), self.sample_labels(m)
            with ctx.full_precision(), eager_graphs():  # double backward: not through compiled graphs
                ws = self.mapped(G, z, c, mixing=cfg.style_mixing)
                images = G.synthesis(ws)
                noise = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
                (grads,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
                lengths = grads.square().sum(2).mean(1).sqrt()
                pl_mean = self.pl_mean.lerp(lengths.mean(), cfg.pl_decay)
                self.pl_mean.copy_(pl_mean.detach())
                penalty = (lengths - pl_mean).square()
                loss_pl = (images[:, 0, 0, 0] * 0 + penalty * cfg.pl_weight).mean() * cfg.pl_interval
            ctx.update("G", loss_pl)
            logs["pl_penalty"] = penalty.detach().mean()
        logs["pl_mean"] = self.pl_mean.detach().clone()

        # Discriminator: main loss.
        z, c = self.sample_latent(n), self.sample_labels(n)
        with torch.no_grad(), ctx.autocast():
            fake = G.synthesis(self.mapped(G, z, c, mixing=cfg.style_mixing))
        with ctx.autocast():
            fake_scores = self.discriminate(fake, c, ctx)
            real_scores = self.discriminate(real, labels, ctx)
        ctx.observe_real_scores(real_scores.detach())  # ADA's overfitting heuristic: sign of D on reals
        loss_d = F.softplus(fake_scores.float()).mean() + F.softplus(-real_scores.float()).mean()
        ctx.update("D", loss_d)
        acc_real, acc_fake = self.loss.accuracy(real_scores.detach(), fake_scores.detach())
        logs.update(loss_d=loss_d.detach(), d_real=real_scores.detach().float().mean(),
                    d_fake=fake_scores.detach().float().mean(), d_acc_real=acc_real, d_acc_fake=acc_fake)

        # Discriminator: lazy R1.
        if gamma > 0 and step % cfg.r1_interval == 0:
            with ctx.full_precision(), eager_graphs():  # double backward: not through compiled graphs
                real_in = real.detach().requires_grad_(True)
                scores = self.discriminate(real_in, labels, ctx)
                (grads,) = torch.autograd.grad(scores.sum(), real_in, create_graph=True)
                r1 = grads.square().sum([1, 2, 3])
                loss_r1 = (scores * 0 + r1 * (gamma / 2)).mean() * cfg.r1_interval
            ctx.update("D", loss_r1)
            logs["r1"] = r1.detach().mean()

        self.update_ema(G, G_ema, n, start_images, ema_nimg)
        return logs

    @torch.no_grad()
    def update_ema(self, G: nn.Module, G_ema: nn.Module, batch: int, images_before: int, ema_nimg: float) -> None:
        """G_ema <- lerp towards G with beta = 0.5 ** (batch / half-life), the half-life ramped up; buffers copied."""
        if self.config.ema_rampup is not None:
            ema_nimg = min(ema_nimg, images_before * self.config.ema_rampup)
        beta = 0.5 ** (batch / max(ema_nimg, 1e-8))
        for p_ema, p in zip(G_ema.parameters(), G.parameters(), strict=True):
            p_ema.copy_(p.detach().lerp(p_ema, beta))
        for b_ema, b in zip(G_ema.buffers(), G.buffers(), strict=True):
            b_ema.copy_(b)

    # -- previews and sampling ------------------------------------------------------------------
    @torch.no_grad()
    def preview(self, inputs: Mapping[str, Any], nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        G = self.net("G_ema", nets)
        z = inputs["z"].to(self.device)
        labels = inputs["labels"].to(self.device) if inputs.get("labels") is not None else None
        images = G(z, labels, noise_mode="const").float().clamp(-1, 1)
        return images, inputs.get("nrow") or max(1, int(len(z) ** 0.5))

    @torch.no_grad()
    def generate(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
        nets: Mapping[str, nn.Module] | None = None,
        truncation_psi: float | None = None,
    ) -> torch.Tensor:
        """n images from fresh latents (constant noise inputs, so a seed fixes the images), clamped to [-1, 1]."""
        z = self.sample_latent(n, generator)
        if self.conditional and labels is None:
            labels = self.sample_labels(n, generator)
        return self.synthesize(z, labels, nets=nets, truncation_psi=truncation_psi)

    @torch.no_grad()
    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
                   nets: Mapping[str, nn.Module] | None = None, truncation_psi: float | None = None) -> torch.Tensor:
        """Images of given latents z (N x z_dim) with the sampling generator, clamped to [-1, 1]."""
        G = self.net("G_ema", nets)
        psi = self.truncation_psi if truncation_psi is None else float(truncation_psi)
        if labels is not None:
            labels = labels.to(self.device)
        return G(z.to(self.device), labels, truncation_psi=psi, noise_mode="const").float().clamp(-1, 1)

    # -- family state ---------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"pl_mean": self.pl_mean.detach().cpu().clone()}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if "pl_mean" not in state:
            raise CheckpointError("the checkpoint holds no StyleGAN2 state (pl_mean missing); "
                                  "it was not written by ganzoo-stylegan")
        self.pl_mean = torch.as_tensor(state["pl_mean"], dtype=torch.float32).clone().to(self.device)

    def notes(self) -> dict[str, Any]:
        return {"resolution": self.config.image_size, "num_ws": self.generator.num_ws}


def build(config: StyleGAN2Config, *, training: bool = True) -> StyleGAN2:
    """Generator, its EMA copy, discriminator and the lazily regularised Adam optimizers from `config`."""
    channels = config.channels or 3
    res = config.image_size
    base = config.channel_base or auto_channel_base(res)
    if len(config.betas) != 2:
        raise ConfigError(f"betas must be two numbers, got {config.betas!r}")
    betas = (float(config.betas[0]), float(config.betas[1]))
    c_dim = int(config.classes)
    common = dict(channel_base=base, channel_max=config.channel_max, conv_clamp=config.conv_clamp)
    G = Generator(config.z_dim, c_dim, config.w_dim, res, channels, mapping_layers=config.mapping_layers, **common)
    D = Discriminator(c_dim, res, channels, architecture=config.d_architecture, mapping_layers=config.d_mapping_layers,
                      mbstd_group_size=config.mbstd_group, **common)
    G_ema = Generator(config.z_dim, c_dim, config.w_dim, res, channels, mapping_layers=config.mapping_layers, **common)
    G_ema.load_state_dict(G.state_dict())
    G_ema.eval().requires_grad_(False)
    lr = config.lr if config.lr is not None else auto_lr(res)
    opt_g = lazy_adam(G.parameters(), lr, betas, config.pl_interval if config.pl_weight > 0 else 1)
    opt_d = lazy_adam(D.parameters(), lr, betas, config.r1_interval)
    return StyleGAN2(config, g_ema=G_ema, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d,
                     loss=get_loss("bce"), latent_dim=config.z_dim, num_classes=c_dim or None)
