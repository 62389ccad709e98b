"""ADA's probability controller: steer p so that r_t = E[sign(D(real))] stays near a target.

Karras et al. (2020), section 3: every `interval` discriminator batches, r_t is the mean sign of the
discriminator's raw scores of the (augmented) real images seen since the last adjustment, and p moves
by sign(r_t - target) * N / (kimg * 1000), N being the real images those batches held; so p can go
from 0 to 1 in `kimg` thousand images. p stays within [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class AdaController:
    """The running sign statistics and the probability p they steer."""

    def __init__(self, *, p: float = 0.0, target: float | None = 0.6, kimg: float = 500.0, interval: int = 4,
                 reduce: Callable[[list[float]], list[float]] | None = None) -> None:
        self.p = float(p)
        self.target = target
        self.kimg = float(kimg)
        self.interval = int(interval)
        #: Sums numbers over processes (distributed runs), so every process keeps the same p.
        self.reduce = reduce
        self.rt: float | None = None  # r_t of the last adjustment
        self._sign_sum: torch.Tensor | float = 0.0  # kept on the scores' device until an adjustment
        self._count = 0
        self._batches = 0

    def observe(self, scores: torch.Tensor, threshold: torch.Tensor | float = 0.0) -> None:
        """Add one discriminator batch of raw real-image scores (a score above `threshold` reads as real)."""
        if self.target is None:
            return
        signs = torch.sign(scores.detach().float() - threshold)
        per_image = signs.reshape(signs.shape[0], -1).mean(dim=1) if signs.dim() > 1 else signs
        self._sign_sum = self._sign_sum + per_image.sum()
        self._count += int(per_image.shape[0])
        self._batches += 1
        if self._batches >= self.interval:
            self._adjust()

    def _adjust(self) -> None:
        total, count = float(self._sign_sum), float(self._count)
        if self.reduce is not None:
            total, count = self.reduce([total, count])
        self._sign_sum, self._count, self._batches = 0.0, 0, 0
        if count <= 0 or self.target is None:
            return
        self.rt = total / count
        direction = (self.rt > self.target) - (self.rt < self.target)
        self.p = min(1.0, max(0.0, self.p + direction * count / (self.kimg * 1000.0)))

    # -- checkpoints ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"p": self.p, "rt": self.rt, "sign_sum": float(self._sign_sum), "count": self._count,
                "batches": self._batches}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.p = float(state["p"])
        self.rt = None if state.get("rt") is None else float(state["rt"])
        self._sign_sum = float(state.get("sign_sum", 0.0))
        self._count = int(state.get("count", 0))
        self._batches = int(state.get("batches", 0))
