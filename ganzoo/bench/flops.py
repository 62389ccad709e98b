"""FLOPs of a piece of work, counted by PyTorch's `torch.utils.flop_counter.FlopCounterMode`.

The counter knows the matrix products and convolutions (forward and backward), which is where a
GAN's arithmetic is; element-wise work (activations, normalisation, the optimizer) is not counted,
as in the usual "model FLOPs" convention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from torch.utils.flop_counter import FlopCounterMode

T = TypeVar("T")


@dataclass(frozen=True)
class FlopCount:
    """Total FLOPs and their split by operator name."""

    total: int
    by_op: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"total": self.total, "by_op": dict(self.by_op)}


class _GlobalOnly:
    """Stands in for the counter's module tracker: every count is global, and no hooks are installed.

    The tracker hooks every module's inputs for the backward pass, and those hooks make
    `torch.autograd.grad` on a leaf tensor fail, which is what a gradient penalty (WGAN-GP, R1) calls.
    """

    parents = frozenset({"Global"})

    def __enter__(self) -> _GlobalOnly:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def count_flops(fn: Callable[[], T]) -> tuple[T, FlopCount]:
    """Run `fn()` once under a FLOP counter; return its result and the count."""
    counter = FlopCounterMode(display=False)
    counter.mod_tracker = _GlobalOnly()  # type: ignore[assignment]
    with counter:
        result = fn()
    by_op = {str(op).split(".")[-1]: int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return result, FlopCount(int(counter.get_total_flops()), by_op)
