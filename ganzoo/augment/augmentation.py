"""The run's discriminator augmentation: one object the Trainer owns and `StepContext.augment` calls.

It applies the `--augment` transform to every batch that goes into a discriminator (real and
generated alike, differentiably), feeds ADA's controller and checkpoints both the controller and its
own random generator, so a resumed run draws the same augmentations as a straight one. Parameters are
drawn on the CPU from that generator and moved to the images' device: the same seed gives the same
augmentations on every device, and the global random streams are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ganzoo.augment.controller import AdaController
from ganzoo.augment.spec import ADA_PIPELINES, AugmentSpec, parse_augment
from ganzoo.seeding import derive_seed

#: Stream of the augmentation generator, derived with the run seed and the process rank.
AUGMENT_STREAM = 0xADA0


class Augmentation:
    """`--augment none | ada | diffaugment` for one process of a run."""

    def __init__(self, spec: AugmentSpec | str | None = None, *, seed: int = 0, rank: int = 0,
                 reduce: Callable[[list[float]], list[float]] | None = None) -> None:
        self.spec = spec if isinstance(spec, AugmentSpec) else parse_augment(spec)
        self.generator = torch.Generator().manual_seed(derive_seed(AUGMENT_STREAM, seed, rank))
        self.controller: AdaController | None = None
        if self.spec.kind == "ada":
            s = self.spec
            self.controller = AdaController(p=s.p, target=s.target, kimg=s.kimg, interval=s.interval, reduce=reduce)

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def enabled(self) -> bool:
        return self.spec.enabled

    @property
    def p(self) -> float | None:
        """ADA's current augmentation probability (None for the other kinds)."""
        return self.controller.p if self.controller is not None else None

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """`images` (N x C x H x W in [-1, 1]) augmented, one random draw per image; differentiable."""
        if self.spec.kind == "ada":
            p = self.controller.p  # type: ignore[union-attr]
            if p <= 0.0:
                return images
            from ganzoo.augment.ada import ada_augment

            return ada_augment(images.float(), p, ADA_PIPELINES[self.spec.pipeline], self.generator)
        if self.spec.kind == "diffaugment":
            from ganzoo.augment.diffaugment import diff_augment

            return diff_augment(images.float(), self.spec.policy, self.generator)
        return images

    def observe(self, scores: torch.Tensor, threshold: torch.Tensor | float = 0.0) -> None:
        """Feed the discriminator's raw scores of augmented real images to ADA's controller."""
        if self.controller is not None:
            self.controller.observe(scores, threshold)

    def log_values(self) -> dict[str, float]:
        """What metrics.jsonl records at each log line: `augment_p` (and ADA's last `augment_rt`)."""
        if self.controller is None:
            return {}
        values = {"augment_p": self.controller.p}
        if self.controller.rt is not None:
            values["augment_rt"] = self.controller.rt
        return values

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Kind, controller state and this process's generator state."""
        return {"kind": self.spec.kind, "rng": self.generator.get_state(),
                "controller": self.controller.state_dict() if self.controller is not None else {}}

    def load_state_dict(self, state: dict[str, Any], *, rng: torch.Tensor | None = None) -> None:
        """Restore `state_dict()` (with this process's generator state `rng` when given separately).

        A checkpoint of another kind (`--augment` changed on resume) starts the new kind fresh.
        """
        if state.get("kind") != self.spec.kind:
            return
        generator_state = rng if rng is not None else state.get("rng")
        if generator_state is not None:
            self.generator.set_state(generator_state.to(torch.uint8).cpu())
        if self.controller is not None and state.get("controller"):
            self.controller.load_state_dict(state["controller"])
