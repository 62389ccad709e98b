"""The model object a plugin's factory returns, and what the Trainer asks of it.

A plugin's factory is `build(config, *, training: bool) -> Model`. The Model owns what is specific to
its family: networks, optimizers, schedulers, one update (`train_step`) and any family state (image
pools, growth stage). The core Trainer owns the loop, devices, precision, EMA, checkpoints, resume,
sample grids, logging and signals, and drives every family the same way.

Capabilities beyond training are methods a family implements when they make sense:
`generate` (unconditional/conditional sampling), `translate` (image-to-image), `stylize` (style
transfer). The CLI commands `sample`, `translate` and `stylize` call them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

if TYPE_CHECKING:
    from ganzoo.data.source import DataSource
    from ganzoo.engine.context import StepContext


class Model:
    """Base class of every family: networks, optimizers, schedulers and one training update."""

    #: When the Trainer steps `schedulers`: after every training step, or at the end of every epoch.
    scheduler_interval: Literal["step", "epoch"] = "step"
    #: Networks the Trainer keeps an exponential moving average of (when EMA is on).
    ema_nets: tuple[str, ...] = ()
    #: EMA decay used when `--ema-decay` is not given; None turns EMA off by default.
    default_ema_decay: float | None = None
    #: Networks written by `ganzoo export` and needed for inference (their EMA copy is preferred).
    inference_nets: tuple[str, ...] = ()
    #: Discriminator updates per generator update when `--d-steps` is not given.
    default_d_steps: int = 1
    #: Whether the networks are compiled (`torch.compile`) when `--compile/--no-compile` is not given: on
    #: only where compiling was measured to win over the family's default run (docs/benchmarks.md).
    default_compile: bool = False
    #: True for families with a discriminator (balance policies and health diagnostics apply).
    adversarial: bool = False
    #: True when `train_step` sends every discriminator input through `ctx.augment` (then `--augment` applies).
    augmentable: bool = False
    #: Ways `translate` can run the networks (`ganzoo translate --mode`); the first is the default, () for one way.
    translate_modes: tuple[str, ...] = ()

    def __init__(self, config: Any) -> None:
        self.config = config
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        self.device = torch.device("cpu")

    # -- set-up ---------------------------------------------------------------------------------
    def to(self, device: torch.device | str, *, channels_last: bool = False) -> Model:
        """Move every network (and optimizer state, if any) to `device`."""
        self.device = torch.device(device)
        for net in self.nets.values():
            net.to(self.device)
            if channels_last:
                net.to(memory_format=torch.channels_last)
        for opt in self.optimizers.values():
            for state in opt.state.values():
                for key, value in state.items():
                    if isinstance(value, torch.Tensor) and key != "step":
                        state[key] = value.to(self.device)
        return self

    def train(self, mode: bool = True) -> Model:
        for net in self.nets.values():
            net.train(mode)
        return self

    def eval(self) -> Model:
        return self.train(False)

    def attach_data(self, data: DataSource) -> None:
        """Called once before training with the resolved data (style images, test images, ...)."""

    def total_steps_hint(self, steps_per_epoch: int) -> int | None:
        """The run length this family wants when neither --steps nor --epochs is given (or None)."""
        return None

    def on_train_start(self, ctx: StepContext) -> None:
        """Called before the first step (also after a resume), with the stream and step known."""

    # -- one update -----------------------------------------------------------------------------
    def train_step(self, ctx: StepContext) -> Mapping[str, torch.Tensor | float]:
        """Run one training update, drawing batches with `ctx.next_batch()`; return detached logs."""
        raise NotImplementedError

    def on_epoch_end(self, epoch: int) -> None:
        """Called when the data stream finishes epoch `epoch` (after epoch schedulers stepped)."""

    # -- previews -------------------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data: DataSource | None) -> Any:
        """Fixed inputs for sample grids (latents, test images), drawn only from `generator`."""
        raise NotImplementedError

    def preview(self, inputs: Any, nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        """Images in [-1, 1] (N x C x H x W) for a sample grid from `inputs`, and the grid's row length.

        `nets` maps names to the networks to use (EMA copies where available). Must not use the
        global random number generators.
        """
        raise NotImplementedError

    def preview_tag(self) -> str | None:
        """A label for the current phase (e.g. ProGAN's resolution); a grid is kept per distinct tag."""
        return None

    # -- family state ---------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """Family state to checkpoint (tensors, numbers, strings, lists, dicts)."""
        return {}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        """Restore what `extra_state` returned.

        Called first when resuming, before network weights and optimizer states are loaded, so a
        family whose networks change shape (a new scale, a grown layer) can rebuild them here.
        """

    def adjust_for_resume(self) -> None:
        """Called after all state is loaded on resume (rebuild anything derived from the state)."""

    # -- capabilities ---------------------------------------------------------------------------
    def generate(
        self,
        n: int,
        *,
        generator: torch.Generator | None = None,
        labels: torch.Tensor | None = None,
        nets: Mapping[str, nn.Module] | None = None,
    ) -> torch.Tensor:
        """`n` new images in [-1, 1] (for `ganzoo sample`)."""
        raise NotImplementedError(f"{type(self).__name__} cannot generate images from noise")

    def translate(
        self, images: torch.Tensor, *, direction: str = "a2b", nets: Mapping[str, nn.Module] | None = None,
        mode: str | None = None,
    ) -> torch.Tensor:
        """Translate images in [-1, 1] (for `ganzoo translate`); `mode` is one of `translate_modes` or None."""
        raise NotImplementedError(f"{type(self).__name__} does not translate images")

    @property
    def num_classes(self) -> int | None:
        return getattr(self.config, "num_classes", None)

    def net(self, name: str, nets: Mapping[str, nn.Module] | None = None) -> nn.Module:
        """`nets[name]` when `nets` is given (inference weights), else this model's own network `name`."""
        if nets is not None:
            if name in nets:
                return nets[name]
            from ganzoo.errors import CheckpointError

            raise CheckpointError(
                f"no weights for network {name!r} were loaded (loaded: {', '.join(nets) or 'none'}); "
                "this checkpoint cannot do that"
            )
        return self.nets[name]


def data_options_for(config: Any, *, split: str = "train") -> Any:
    """The DataOptions a model config asks for, by convention from its fields.

    Fields read when present: `image_size`, `channels`, `load_size`, `flip`, `random_crop`, `resize`
    ("square", "shorter" or "none"). A config with `load_size` larger than `image_size` gets random
    crops (the CycleGAN recipe).
    """
    from ganzoo.data.source import DataOptions

    image_size = getattr(config, "image_size", None)
    load_size = getattr(config, "load_size", None)
    random_crop = getattr(config, "random_crop", None)
    if random_crop is None:
        random_crop = bool(load_size and image_size and load_size > image_size)
    extra = {}
    if getattr(config, "resize", None) is not None:
        extra["resize"] = config.resize
    return DataOptions(
        **extra,
        image_size=image_size,
        channels=getattr(config, "channels", None),
        load_size=load_size,
        random_crop=bool(random_crop) and split == "train",
        flip=bool(getattr(config, "flip", False)) and split == "train",
        split=split,
    )
