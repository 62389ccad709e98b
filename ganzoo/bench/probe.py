"""Instruments a real Trainer: when each step starts and ends, and how long it waits for data.

The probe wraps three bound methods of the live objects, on the instances only (nothing in the
engine changes): `model.train_step` (a step starts), `ctx.next_batch` (time spent waiting for a
batch, inside the step) and `trainer.dist.all_agree` (the Trainer's last call of every loop
iteration: the step, with everything the Trainer does after `train_step`, has ended). A step's time
therefore covers the model's update and the Trainer's own work around it (EMA, schedulers, log
accumulation, the non-finite check, periodic work). On CUDA the device is synchronised at both ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.bench.flops import FlopCount, count_flops
from ganzoo.bench.peak import synchronize


@dataclass
class StepRecord:
    """One measured training step."""

    seconds: float
    data_seconds: float
    cpu_seconds: float
    images: int

    @property
    def data_share(self) -> float:
        return self.data_seconds / self.seconds if self.seconds > 0 else 0.0


class StepProbe:
    """Attach with `StepProbe(trainer)`; read `records` (and `flops` after `count_next_step()`)."""

    def __init__(self, trainer: Any) -> None:
        self.trainer = trainer
        self.device: torch.device = trainer.device
        self.records: list[StepRecord] = []
        self.flops: FlopCount | None = None
        self._count_next = False
        self._open: dict[str, Any] | None = None
        model, ctx, dist = trainer.model, trainer.ctx, trainer.dist
        self._originals: list[tuple[Any, str]] = [(model, "train_step"), (ctx, "next_batch"), (dist, "all_agree")]
        model.train_step = self._wrap_step(model.train_step)
        ctx.next_batch = self._wrap_batch(ctx.next_batch)
        dist.all_agree = self._wrap_end(dist.all_agree)

    def count_next_step(self) -> None:
        """Count the FLOPs of the next step (that step runs under the counter: do not time it)."""
        self._count_next = True

    def clear(self) -> None:
        self.records = []

    def detach(self) -> None:
        """Remove the instance wrappers (the class methods show through again)."""
        for obj, name in self._originals:
            obj.__dict__.pop(name, None)

    # -- the wrappers -----------------------------------------------------------------------
    def _close_open_step(self) -> None:
        """End a step whose end was not seen (defensive: `all_agree` not called)."""
        if self._open is not None:
            self._finish(time.perf_counter(), time.process_time())

    def _finish(self, wall: float, cpu: float) -> None:
        step = self._open
        self._open = None
        assert step is not None
        if step["counted"]:
            return  # ran under the FLOP counter: not a representative time
        images = self.trainer.ctx.images_seen - step["images"]
        self.records.append(StepRecord(wall - step["wall"], step["data"], cpu - step["cpu"], images))

    def _wrap_step(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def train_step(ctx: Any) -> Any:
            self._close_open_step()
            synchronize(self.device)
            counted, self._count_next = self._count_next, False
            self._open = {"wall": time.perf_counter(), "cpu": time.process_time(), "data": 0.0,
                          "images": self.trainer.ctx.images_seen, "counted": counted}
            if counted:
                result, self.flops = count_flops(lambda: fn(ctx))
                return result
            return fn(ctx)

        return train_step

    def _wrap_batch(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        def next_batch() -> Any:
            start = time.perf_counter()
            batch = fn()
            if self._open is not None:
                self._open["data"] += time.perf_counter() - start
            return batch

        return next_batch

    def _wrap_end(self, fn: Callable[[bool], bool]) -> Callable[[bool], bool]:
        def all_agree(flag: bool) -> bool:
            result = fn(flag)
            if self._open is not None:
                synchronize(self.device)
                self._finish(time.perf_counter(), time.process_time())
            return result

        return all_agree
