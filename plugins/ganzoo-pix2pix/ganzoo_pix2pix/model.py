"""The pix2pix model (Isola et al. 2017) with the reference implementation's training step and schedule.

Networks (the reference's names): `G` translates the input image into the output image; `D` scores
patches of the input and an output image concatenated along the channels (real: the target, fake:
G's translation). With `direction` AtoB the input is the data's `a` image and the target its `b`
image; BtoA swaps them.

One training step, in the reference's order:
  1. forward: fake = G(input);
  2. discriminator update: 0.5 (GAN(D(input, fake), fake) + GAN(D(input, target), real)), the two
     D calls made separately, fake first (with batch norm each call normalises with its own batch);
  3. generator update, D frozen: GAN(D(input, fake), real) + lambda_l1 |fake - target| (L1 mean).
The GAN criterion is the reference's: cross-entropy on the logits against a target of ones or zeros
(`vanilla`, F.binary_cross_entropy_with_logits) or the squared error to it (`lsgan`). No image pool.
The learning rate is constant for `n_epochs` epochs and then decays linearly over `n_epochs_decay`
epochs (the Trainer steps the schedulers at every epoch end).

Inference (`translate`, and the sample grids) runs the generator in one of two modes:
  * "train" (the default): as the reference's test script runs networks unless given `--eval`:
    training mode, so dropout is active and batch norm normalises with the statistics of the image at
    hand; images go through one at a time (the script's batch size is 1). Dropout masks are drawn from
    a generator seeded by the image's content, so the same image always gives the same translation;
    the global random state and the running statistics are left as they were.
  * "eval": evaluation mode (the reference's `--eval`): no dropout, batch norm with its running
    statistics; images go through in batches.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.engine import Model, StepContext
from ganzoo.engine.schedules import LinearDecay
from ganzoo.errors import ConfigError
from ganzoo.losses import get_loss
from ganzoo.nn import make_discriminator, make_generator, run_padded, size_problem, translation_init_
from ganzoo_pix2pix.config import Pix2PixConfig

PREVIEW_INPUTS = 8
MODES = ("train", "eval")


def gan_criterion(mode: str):
    """The reference's GAN loss `criterion(prediction, target_is_real)` on raw discriminator scores.

    `vanilla`: binary cross-entropy with logits against all ones or all zeros; `lsgan`: mean squared
    error to them. (`ganzoo.losses` states the same objectives with softplus; this form is the
    reference's to the last bit.)
    """
    def vanilla(prediction: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.ones_like(prediction) if real else torch.zeros_like(prediction)
        return F.binary_cross_entropy_with_logits(prediction, target)

    def lsgan(prediction: torch.Tensor, real: bool) -> torch.Tensor:
        target = torch.ones_like(prediction) if real else torch.zeros_like(prediction)
        return F.mse_loss(prediction, target)

    if mode == "vanilla":
        return vanilla
    if mode == "lsgan":
        return lsgan
    raise ValueError(f"unknown gan_mode {mode!r}")


def content_seed(image: torch.Tensor) -> int:
    """A 63-bit seed from an image's float32 pixels: the same image always draws the same dropout masks."""
    data = image.detach().to("cpu", torch.float32).contiguous().numpy().tobytes()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "little") & (2**63 - 1)


@contextlib.contextmanager
def reference_test_mode(net: nn.Module) -> Iterator[None]:
    """`net` in training mode (dropout on, batch statistics), its running statistics and mode restored after."""
    training = net.training
    saved = [buffer.detach().clone() for buffer in net.buffers()]
    net.train()
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in zip(net.buffers(), saved):
                buffer.copy_(value)
        net.train(training)


@contextlib.contextmanager
def evaluation_mode(net: nn.Module) -> Iterator[None]:
    training = net.training
    net.eval()
    try:
        yield
    finally:
        net.train(training)


class Pix2Pix(Model):
    """One generator, one conditional discriminator; see the module docstring for the update and inference."""

    scheduler_interval = "epoch"
    ema_nets = ("G",)
    inference_nets = ("G",)
    default_ema_decay = None  # the reference averages nothing
    adversarial = True
    translate_modes = MODES

    def __init__(self, config: Pix2PixConfig, *, training: bool = True) -> None:
        super().__init__(config)
        channels = config.channels or 3
        G = make_generator(config.generator, channels, channels, config.ngf, norm=config.norm, dropout=config.dropout)
        self.nets = {"G": translation_init_(G, config.init_type, config.init_gain)}
        if training:
            D = make_discriminator(config.discriminator, 2 * channels, config.ndf, n_layers=config.n_layers_d,
                                   norm=config.norm)
            self.nets["D"] = translation_init_(D, config.init_type, config.init_gain)
            self.optimizers = {
                name: torch.optim.Adam(self.nets[name].parameters(), lr=config.lr, betas=(config.beta1, 0.999))
                for name in ("G", "D")
            }
            self.schedulers = {
                name: torch.optim.lr_scheduler.LambdaLR(opt, LinearDecay(config.n_epochs, config.n_epochs_decay))
                for name, opt in self.optimizers.items()
            }
        self.criterion = gan_criterion(config.gan_mode)
        self.accuracy = get_loss("bce" if config.gan_mode == "vanilla" else "lsgan").accuracy
        self.channels = channels

    # -- data, run length and life cycle --------------------------------------------------------
    def attach_data(self, data: Any) -> None:
        kind = getattr(data, "kind", "")
        if kind == "paired":
            return
        ref = getattr(data, "ref", "the data")
        hint = ("A and B images are not pairs there" if kind == "unpaired" else f"it is {kind} data")
        raise ConfigError(f"pix2pix trains on aligned pairs and {ref!r} has none ({hint}); use a paired set "
                          "(e.g. facades-paired, edges2shoes, digits-edges) or paired:PATH for a folder of "
                          "side-by-side AB images or trainA/trainB files that pair by name")

    def total_steps_hint(self, steps_per_epoch: int) -> int | None:
        return max(1, (self.config.n_epochs + self.config.n_epochs_decay) * steps_per_epoch)

    def on_train_start(self, ctx: StepContext) -> None:
        if ctx.balance.kind == "adaptive" or ctx.balance.d_steps != 1:
            raise ConfigError("pix2pix makes one discriminator update per step: --d-steps and --balance adaptive "
                              "do not apply (--balance skip-d:THRESHOLD does)")

    def pair(self, batch: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """(input, target) of a batch of pairs, following `direction`."""
        if self.config.direction == "AtoB":
            return batch["a"], batch["b"]
        return batch["b"], batch["a"]

    # -- one update -----------------------------------------------------------------------------
    def train_step(self, ctx: StepContext) -> dict[str, torch.Tensor]:
        G, D = self.nets["G"], self.nets["D"]
        source, target = self.pair(ctx.next_batch())
        with ctx.autocast():
            fake = G(source)

        update = ctx.balance.allow_d_update()
        with torch.set_grad_enabled(update):
            with ctx.autocast():
                fake_scores = D(torch.cat([source, fake.detach()], 1))
                real_scores = D(torch.cat([source, target], 1))
            loss_d_fake = self.criterion(fake_scores.float(), False)
            loss_d_real = self.criterion(real_scores.float(), True)
            loss_d = (loss_d_fake + loss_d_real) * 0.5
        if update:
            ctx.update("D", loss_d)
        else:
            ctx.count("skipped_d")
        acc_real, acc_fake = self.accuracy(real_scores, fake_scores)
        if ctx.balance.observes:
            ctx.balance.observe(float(loss_d.detach()), float(acc_real), float(acc_fake))

        with ctx.frozen(D):
            with ctx.autocast():
                scores = D(torch.cat([source, fake], 1))
            loss_g_gan = self.criterion(scores.float(), True)
            loss_g_l1 = F.l1_loss(fake.float(), target.float()) * self.config.lambda_l1
            loss_g = loss_g_gan + loss_g_l1
        ctx.update("G", loss_g)
        return {
            "loss_d": loss_d.detach(), "d_fake": loss_d_fake.detach(), "d_real": loss_d_real.detach(),
            "loss_g": loss_g.detach(), "g_gan": loss_g_gan.detach(), "g_l1": loss_g_l1.detach(),
            "d_acc_real": acc_real, "d_acc_fake": acc_fake,
        }

    # -- previews -------------------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data: Any) -> dict[str, torch.Tensor]:
        """Up to 8 fixed held-out pairs (training pairs when the data has no test split)."""
        dataset = getattr(data, "test", None) or data.train
        k = max(1, min(n, PREVIEW_INPUTS, len(dataset)))
        order = torch.randperm(len(dataset), generator=generator)[:k].tolist()
        items = [dataset[(i, 0)] for i in order]
        source, target = self.pair({key: torch.stack([item[key] for item in items]) for key in ("a", "b")})
        return {"source": source.float(), "target": target.float()}

    @torch.no_grad()
    def preview(self, inputs: Mapping[str, torch.Tensor], nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        """One row per pair: input, translation (in the default mode, as `ganzoo translate`), target."""
        source = inputs["source"].to(self.device)
        fake = self.translate(source, nets=nets)
        columns = [source, fake, inputs["target"].to(self.device)]
        return torch.stack([c.float() for c in columns], dim=1).flatten(0, 1), len(columns)

    # -- inference ----------------------------------------------------------------------------
    def translate(self, images: torch.Tensor, *, direction: str = "a2b", nets: Mapping[str, nn.Module] | None = None,
                  mode: str | None = None) -> torch.Tensor:
        """Translate images in [-1, 1] (N x C x H x W, any size) the way G was trained.

        pix2pix has one generator: `direction` "a2b" (the default) runs it, whatever `direction` it
        was trained with; "b2a" is refused. `mode` "train" (default) or "eval": see the module docstring.
        """
        if direction != "a2b":
            src, dst = ("A", "B") if self.config.direction == "AtoB" else ("B", "A")
            raise ConfigError(f"pix2pix has one generator, trained to turn the data's {src} images into {dst} images "
                              f"(--direction {self.config.direction}); it translates only that way: use "
                              "--direction a2b (the default)")
        mode = mode or MODES[0]
        if mode not in MODES:
            raise ConfigError(f"pix2pix translates in mode train or eval, not {mode!r}")
        if images.dim() != 4 or images.shape[1] != self.channels:
            raise ConfigError(f"the model translates N x {self.channels} x H x W images, got {tuple(images.shape)}")
        G = self.net("G", nets)
        multiple = getattr(G, "size_multiple", 1)
        images = images.to(self.device)
        with torch.no_grad():
            if mode == "eval":
                with evaluation_mode(G):
                    return run_padded(G, images, multiple).clamp(-1.0, 1.0)
            outputs = []
            with reference_test_mode(G):
                for image in images:
                    devices = [images.device] if images.device.type == "cuda" else []
                    with torch.random.fork_rng(devices=devices):
                        torch.manual_seed(content_seed(image))
                        outputs.append(run_padded(G, image.unsqueeze(0), multiple))
            return torch.cat(outputs).clamp(-1.0, 1.0)


def check_config(config: Pix2PixConfig) -> None:
    """One-line errors for option combinations the networks cannot run with."""
    problem = size_problem(config.generator, config.discriminator, config.n_layers_d, config.norm, config.image_size)
    if problem:
        raise ConfigError(problem)
    if config.load_size is not None and config.load_size < config.image_size:
        raise ConfigError(f"load_size {config.load_size} is smaller than image_size {config.image_size}; "
                          "the random crop must fit inside the loaded image")


def build(config: Pix2PixConfig, *, training: bool = True) -> Pix2Pix:
    """The pix2pix model for `config` (`channels` none means 3)."""
    check_config(config)
    return Pix2Pix(config, training=training)
