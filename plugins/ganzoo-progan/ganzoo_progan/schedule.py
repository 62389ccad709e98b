"""The growth schedule: resolution, fade-in weight and batch size as functions of the real images shown.

Stage `s` works at `4 * 2**s` pixels. Stage 0 (4x4) only stabilises; every later stage first fades
in, alpha rising linearly from 0 to 1, then stabilises. Image counts and batch sizes are given per
resolution (fade-ins from 8x8 on, stabilisation and batch sizes from 4x4 on; the last value repeats). After the last stage's stabilisation the schedule is finished and stays at the
final resolution with alpha 1. Everything derives from the number of real images shown so far
(the Trainer's `images_seen`, restored on resume), so a resume lands on exactly the same point.

Phases are numbered `2 * stage - 1` (fading in) and `2 * stage` (stable), so 0 is 4x4.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """Where the schedule is: stage (resolution index), fade-in weight and phase number."""

    stage: int
    alpha: float
    phase: int

    @property
    def resolution(self) -> int:
        return 4 * 2 ** self.stage

    @property
    def fading(self) -> bool:
        return self.phase % 2 == 1


@dataclass(frozen=True)
class Phase:
    stage: int
    fading: bool
    start: int
    images: int

    @property
    def end(self) -> int:
        return self.start + self.images

    @property
    def number(self) -> int:
        return 2 * self.stage - 1 if self.fading else 2 * self.stage


def num_stages(image_size: int) -> int:
    """Resolutions from 4x4 to `image_size` inclusive (a power of two >= 4)."""
    if image_size < 4 or image_size & (image_size - 1):
        raise ValueError(f"ProGAN image size must be a power of two >= 4, got {image_size}")
    return int(math.log2(image_size)) - 1


class GrowthSchedule:
    """Stage, alpha and batch size at any count of real images shown."""

    def __init__(self, image_size: int, fade_images: int | Sequence[int], stable_images: int | Sequence[int],
                 batch_sizes: Sequence[int]) -> None:
        self.stages = num_stages(image_size)
        self.fade_images = _counts(fade_images, "fade_images", 0)
        self.stable_images = _counts(stable_images, "stable_images", 0)
        self.batch_sizes = _counts(batch_sizes, "batch_sizes", 1)
        phases: list[Phase] = []
        start = 0
        for stage in range(self.stages):
            kinds = (False,) if stage == 0 else (True, False)
            for fading in kinds:
                images = _pick(self.fade_images, stage - 1) if fading else _pick(self.stable_images, stage)
                phases.append(Phase(stage, fading, start, images))
                start += images
        self.phases = tuple(phases)

    @property
    def total_images(self) -> int:
        """Real images shown by the end of the last stage's stabilisation."""
        return self.phases[-1].end

    def batch_size(self, stage: int) -> int:
        """The batch size of stage `stage` (the last listed value repeats)."""
        return _pick(self.batch_sizes, stage)

    def at(self, images: int) -> Position:
        """The position after `images` real images have been shown."""
        for phase in self.phases:
            if images < phase.end:
                alpha = (images - phase.start) / phase.images if phase.fading else 1.0
                return Position(phase.stage, alpha, phase.number)
        last = self.phases[-1]
        return Position(last.stage, 1.0, last.number)

    def phase_start(self, stage: int) -> int:
        """Images shown when stage `stage` begins (its fade-in, or 0 for 4x4)."""
        return next(p.start for p in self.phases if p.stage == stage)

    def total_steps(self, d_steps: int = 1) -> int:
        """Training steps (each showing `d_steps` real batches) until the schedule is finished."""
        images = 0
        steps = 0
        for phase in self.phases:
            if phase.end <= images:
                continue
            per_step = self.batch_size(self.at(images).stage) * d_steps
            n = math.ceil((phase.end - images) / per_step)
            steps += n
            images += n * per_step
        return max(1, steps)


def _counts(values: int | Sequence[int], name: str, minimum: int) -> tuple[int, ...]:
    items = (values,) if isinstance(values, int) else tuple(values)
    if not items or any(int(v) < minimum for v in items):
        raise ValueError(f"{name} must list at least one number >= {minimum}, got {values!r}")
    return tuple(int(v) for v in items)


def _pick(values: tuple[int, ...], index: int) -> int:
    """The value for `index`; the last one repeats."""
    return values[min(index, len(values) - 1)]
