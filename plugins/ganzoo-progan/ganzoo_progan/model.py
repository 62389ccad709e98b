"""The ProGAN model: growing networks trained by the standard adversarial update with WGAN-GP and drift.

Each training step first reads the growth schedule at the number of real images shown so far
(`ctx.images_seen`, restored on resume): that gives the stage (resolution), the fade-in weight
alpha and the batch size (`ctx.set_batch_size`). The generator stores stage and alpha in buffers,
which its EMA copy and checkpoints carry, so sampling from a checkpoint uses the resolution it
reached. Real batches arrive at the final size and are box-filtered down to the current resolution
(the paper's mipmaps); during a fade-in they are blended with their half-resolution version by the
same alpha as the generator's output, as in the official code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ganzoo.engine import GANModel, StepContext
from ganzoo.errors import CheckpointError, ConfigError, DataError
from ganzoo.losses import drift_penalty, get_loss, gradient_penalty
from ganzoo_progan.config import ProGANConfig
from ganzoo_progan.layers import downscale2d, upscale2d
from ganzoo_progan.networks import Discriminator, Generator, hidden_width, stage_widths
from ganzoo_progan.schedule import GrowthSchedule, Position


class ProGAN(GANModel):
    """Karras et al. (2018): progressive growing, WGAN-GP loss with drift, Adam (0, 0.99), generator EMA."""

    #: The paper's generator averaging (`--ema-decay` overrides it).
    default_ema_decay = 0.999

    def __init__(self, config: ProGANConfig, *, schedule: GrowthSchedule, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.schedule = schedule
        self._phase: int | None = None  # phase of the last step (None before the first)
        self._step_images = 0  # real images shown when the last step began
        self._resumed: dict[str, Any] | None = None

    # -- where the growth is --------------------------------------------------------------------
    @property
    def generator(self) -> Generator:
        return self.nets["G"]  # type: ignore[return-value]

    @property
    def stage(self) -> int:
        """The current (or, for a loaded checkpoint, reached) stage: resolution 4 * 2**stage."""
        return int(self.generator.stage)

    @property
    def alpha(self) -> float:
        return float(self.generator.alpha)

    @property
    def resolution(self) -> int:
        """The resolution `generate` returns: the one training reached (the final size for converted weights)."""
        return self.generator.resolution

    def reached_resolution(self, nets: Mapping[str, nn.Module] | None = None) -> int:
        """The resolution of the generator in `nets` (or this model's own)."""
        return int(self.net("G", nets).resolution)

    def position(self, images_seen: int) -> Position:
        """The schedule's stage, alpha and phase after `images_seen` real images."""
        return self.schedule.at(images_seen)

    def total_steps_hint(self, steps_per_epoch: int) -> int | None:
        return self.schedule.total_steps()

    # -- life cycle -----------------------------------------------------------------------------
    def on_train_start(self, ctx: StepContext) -> None:
        if self._resumed is not None:
            self._check_resumed(self._resumed, ctx.images_seen)
            self._resumed = None
        ctx.set_batch_size(self.schedule.batch_size(self.schedule.at(ctx.images_seen).stage))

    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        pos = self.schedule.at(ctx.images_seen)
        if self._phase is not None and pos.phase != self._phase and self.config.reset_optimizer:
            # The official code resets Adam's moments when a fade-in starts and when it ends.
            for optimizer in self.optimizers.values():
                optimizer.state.clear()
        self._phase = pos.phase
        self._step_images = ctx.images_seen
        self.generator.set_position(pos.stage, pos.alpha)
        ctx.set_batch_size(self.schedule.batch_size(pos.stage))
        logs = super().train_step(ctx)
        logs["resolution"] = torch.tensor(float(pos.resolution))
        logs["alpha"] = torch.tensor(self.alpha)
        return logs

    # -- the pieces of the standard update ------------------------------------------------------
    def to_resolution(self, images: torch.Tensor, resolution: int | None = None) -> torch.Tensor:
        """Box-filter `images` (square, a power-of-two multiple of `resolution`) down to `resolution`."""
        resolution = resolution or self.resolution
        size = images.shape[-1]
        if size == resolution:
            return images
        if size < resolution or size % resolution or images.shape[-2] != size:
            raise DataError(f"ProGAN at {resolution}x{resolution} needs square images of a multiple of that size, "
                            f"got {tuple(images.shape[-2:])}; train with the model's --image-size")
        return downscale2d(images, size // resolution)

    def real_batch(self, batch: Mapping[str, Any]) -> tuple[torch.Tensor, torch.Tensor | None]:
        real = self.to_resolution(batch["image"])
        alpha = self.alpha
        if self.stage > 0 and alpha < 1.0:
            low = upscale2d(downscale2d(real))
            real = low + alpha * (real - low)
        return real, None

    def run_generator(self, G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return G(z)

    def run_discriminator(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.nets["D"](self.to_resolution(images), self.stage, self.alpha)

    def discriminator_penalty(
        self, ctx: StepContext, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
        real_scores: torch.Tensor, fake_labels: torch.Tensor | None,
    ) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        cfg = self.config
        logs: dict[str, torch.Tensor] = {}
        total: torch.Tensor | None = None
        if cfg.gp_weight > 0:
            with ctx.penalty_precision():  # bf16 in bf16 runs: 30% off a 32x32 critic step (AMX Xeon)
                gp = gradient_penalty(lambda x: self.run_discriminator(x, None), real, fake)
            total = cfg.gp_weight * gp
            logs["gp"] = gp.detach()
        if cfg.drift > 0:
            drift = drift_penalty(real_scores)
            total = cfg.drift * drift if total is None else total + cfg.drift * drift
            logs["drift"] = drift.detach()
        r1, r1_logs = self.lazy_r1(ctx, real, None, cfg.r1_gamma, cfg.r1_interval)
        if r1 is not None:
            total = r1 if total is None else total + r1
            logs.update(r1_logs)
        return total, logs

    # -- previews and sampling ------------------------------------------------------------------
    @torch.no_grad()
    def preview(self, inputs: Mapping[str, Any], nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        """The grid at the current resolution, enlarged (nearest) to the final size."""
        images, nrow = super().preview(inputs, nets)
        images = images.clamp(-1.0, 1.0)
        factor = self.config.image_size // images.shape[-1]
        return upscale2d(images, factor), nrow

    def preview_tag(self) -> str | None:
        r = self.resolution
        return f"{r}x{r}"

    @torch.no_grad()
    def generate(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
        nets: Mapping[str, nn.Module] | None = None,
    ) -> torch.Tensor:
        """`n` images at the resolution the generator reached (its stage buffer), clamped to [-1, 1]."""
        return super().generate(n, generator=generator, labels=labels, nets=nets).clamp(-1.0, 1.0)

    # -- family state ---------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {
            "phase": -1 if self._phase is None else self._phase,
            "stage": self.stage,
            "alpha": self.alpha,
            "step_images": self._step_images,
            "resolution": self.resolution,
        }

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        missing = [k for k in ("phase", "stage", "alpha", "step_images") if k not in state]
        if missing:
            raise CheckpointError(f"the checkpoint holds no ProGAN growth state ({', '.join(missing)} missing); "
                                  "it was not written by ganzoo-progan")
        stage = int(state["stage"])
        if not 0 <= stage < self.schedule.stages:
            raise CheckpointError(f"the checkpoint is at stage {stage}, but this model grows only to stage "
                                  f"{self.schedule.stages - 1} ({self.config.image_size}x{self.config.image_size})")
        phase = int(state["phase"])
        self._phase = None if phase < 0 else phase
        self._step_images = int(state["step_images"])
        self._resumed = dict(state)

    def _check_resumed(self, state: Mapping[str, Any], images_seen: int) -> None:
        if self._phase is None:
            return
        pos = self.schedule.at(int(state["step_images"]))
        saved_alpha = float(state["alpha"])
        alpha32 = float(torch.tensor(pos.alpha, dtype=torch.float32))
        if (pos.phase, pos.stage) != (int(state["phase"]), int(state["stage"])) or alpha32 != saved_alpha:
            raise CheckpointError(
                f"the checkpoint's growth state (stage {state['stage']}, alpha {saved_alpha:.6g}) does not match "
                f"the schedule at {state['step_images']} images (stage {pos.stage}, alpha {pos.alpha:.6g}); "
                "resume with the options it was trained with")
        if int(state["step_images"]) > images_seen:
            raise CheckpointError("the checkpoint's growth state is ahead of its image count; the file is inconsistent")
        if self.stage != int(state["stage"]):
            raise CheckpointError(f"the checkpoint's generator is at stage {self.stage}, its growth state at "
                                  f"stage {state['stage']}; the file is inconsistent")

    def notes(self) -> dict[str, Any]:
        """Written into checkpoint headers: the resolution reached."""
        return {"resolution": self.resolution, "stage": self.stage, "alpha": self.alpha}


def build(config: ProGANConfig, *, training: bool = True) -> ProGAN:
    """Networks for every resolution, Adam optimizers, the loss and the growth schedule from `config`."""
    channels = config.channels or 1
    if len(config.betas) != 2:
        raise ConfigError(f"betas must be two numbers, got {config.betas!r}")
    if config.betas_d is not None and len(config.betas_d) != 2:
        raise ConfigError(f"betas_d must be two numbers, got {config.betas_d!r}")
    try:
        widths = stage_widths(config.image_size, config.fmap_base, config.fmap_max, config.widths)
        schedule = GrowthSchedule(config.image_size, config.fade_images, config.stable_images, config.batch_sizes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    G = Generator(config.latent_dim, widths, channels, slope=config.lrelu_slope, output=config.output_activation)
    D = Discriminator(widths, channels, hidden_width(config.fmap_base, config.fmap_max, config.widths),
                      config.mbstd_group, slope=config.lrelu_slope)
    betas = (float(config.betas[0]), float(config.betas[1]))
    betas_d = betas if config.betas_d is None else (float(config.betas_d[0]), float(config.betas_d[1]))
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr, betas=betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr if config.lr_d is None else config.lr_d, betas=betas_d)
    return ProGAN(config, schedule=schedule, generator=G, discriminator=D, opt_g=opt_g, opt_d=opt_d,
                  loss=get_loss(config.loss), latent_dim=config.latent_dim)
