"""What a model's `train_step` is given: batches, precision, optimizer stepping, balance, augmentation, counters."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from ganzoo.augment.augmentation import Augmentation
from ganzoo.engine.precision import Precision

if TYPE_CHECKING:
    from ganzoo.data.stream import BatchStream
    from ganzoo.engine.balance import BalancePolicy
    from ganzoo.engine.distributed import DistInfo
    from ganzoo.engine.model import Model


class StepContext:
    """The Trainer's services for one update; a model uses these instead of touching the loop."""

    def __init__(
        self,
        model: Model,
        stream: BatchStream,
        precision: Precision,
        balance: BalancePolicy,
        dist: DistInfo,
        *,
        total_steps: int,
        seed: int,
        augmentation: Augmentation | None = None,
    ) -> None:
        self.model = model
        self.stream = stream
        self.precision = precision
        self.balance = balance
        self.dist = dist
        self.total_steps = total_steps
        self.seed = seed
        #: The run's `--augment` (an identity when none); plugins call `augment` and `observe_real_scores`.
        self.augmentation = augmentation if augmentation is not None else Augmentation(seed=seed)
        self.step = 0
        self.counters: dict[str, int] = {}
        self.images_seen = 0

    # -- data -------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.stream.device

    @property
    def epoch(self) -> int:
        """The epoch the next batch belongs to."""
        return self.stream.next_epoch

    @property
    def steps_per_epoch(self) -> int:
        return self.stream.steps_per_epoch

    def next_batch(self) -> dict[str, Any]:
        """The next training batch (on the training device)."""
        batch = self.stream.__next__()
        first = next((v for v in batch.values() if isinstance(v, torch.Tensor)), None)
        if first is not None:
            self.images_seen += int(first.shape[0]) * self.dist.world_size
        if self.precision.channels_last:
            batch = {
                k: v.contiguous(memory_format=torch.channels_last) if isinstance(v, torch.Tensor) and v.dim() == 4 else v
                for k, v in batch.items()
            }
        return batch

    def set_batch_size(self, batch_size: int) -> None:
        """Change the per-process batch size from the next batch on."""
        self.stream.set_batch_size(batch_size)

    # -- arithmetic -------------------------------------------------------------------------
    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision region for forward passes (a no-op in fp32)."""
        return self.precision.autocast()

    def full_precision(self) -> contextlib.AbstractContextManager:
        """A region computed in fp32 even under mixed precision (e.g. gradient penalties)."""
        return self.precision.full_precision()

    def penalty_precision(self) -> contextlib.AbstractContextManager:
        """A gradient penalty's region: bf16 autocast in bf16 runs, fp32 otherwise (`Precision.penalty_precision`)."""
        return self.precision.penalty_precision()

    def backward(self, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
        """Back-propagate `loss` (scaled when fp16 uses a loss scaler)."""
        scaler = self.precision.scaler
        if scaler is not None:
            scaler.scale(loss).backward(retain_graph=retain_graph)
        else:
            loss.backward(retain_graph=retain_graph)

    def step_optimizer(self, name: str) -> None:
        """Average gradients over processes (when distributed) and step optimizer `name`."""
        optimizer = self.model.optimizers[name]
        if self.dist.world_size > 1:
            self.dist.average_gradients(optimizer)
        if self.precision.scaler is not None:
            self.precision.step(name, optimizer)
        else:
            optimizer.step()

    def zero_grad(self, name: str) -> None:
        self.model.optimizers[name].zero_grad(set_to_none=True)

    def update(self, name: str, loss: torch.Tensor) -> None:
        """zero_grad + backward + step for optimizer `name` (the common case)."""
        self.zero_grad(name)
        self.backward(loss)
        self.step_optimizer(name)

    @contextlib.contextmanager
    def frozen(self, *nets: torch.nn.Module) -> Iterator[None]:
        """Stop gradients into `nets`' parameters inside the block (saves their backward work)."""
        flags = [[p.requires_grad for p in net.parameters()] for net in nets]
        for net in nets:
            net.requires_grad_(False)
        try:
            yield
        finally:
            for net, saved in zip(nets, flags):
                for p, flag in zip(net.parameters(), saved):
                    p.requires_grad_(flag)

    # -- discriminator augmentation (--augment) ---------------------------------------------------
    def augment(self, images: torch.Tensor) -> torch.Tensor:
        """The run's augmentation of a batch going into a discriminator (reals and fakes alike).

        Differentiable, so generated images keep their gradient; returns `images` unchanged when the
        run has no augmentation (or ADA's p is 0). Computed in fp32, even under mixed precision.
        """
        if not self.augmentation.enabled:
            return images
        with self.full_precision():
            return self.augmentation(images)

    def observe_real_scores(self, scores: torch.Tensor, threshold: torch.Tensor | float = 0.0) -> None:
        """Feed a discriminator's raw scores of augmented real images to ADA's p controller.

        Call once per discriminator batch; a score above `threshold` reads as "real" (use the loss's
        `decision_threshold` for critics without an absolute scale). A no-op unless `--augment ada`.
        """
        self.augmentation.observe(scores, threshold)

    # -- bookkeeping ------------------------------------------------------------------------
    def count(self, name: str, k: int = 1) -> None:
        """Add `k` to a counter that metrics.jsonl reports (e.g. skipped discriminator updates)."""
        self.counters[name] = self.counters.get(name, 0) + k
