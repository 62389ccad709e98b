"""The most memory a computation's tensors hold at once, measured by following every operation it runs.

    result, peak = peak_tensor_bytes(lambda: net(x))

Every tensor an operation returns inside `fn` is counted (once per storage) from its creation until
its last reference is gone; `peak` is the largest total seen. Inputs that exist before the call are
not counted. Works on any device, including the CPU (which keeps no allocator statistics), at the
cost of a little Python work per operation: measure on a small input, then scale.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

T = TypeVar("T")


class _LiveBytes(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._storages: dict[int, int] = {}  # data pointer -> tensors of ours still referring to it

    def _release(self, key: int, nbytes: int) -> None:
        left = self._storages.get(key, 0) - 1
        if left > 0:
            self._storages[key] = left
            return
        self._storages.pop(key, None)
        self.live -= nbytes

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        inputs = {t.untyped_storage().data_ptr() for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes == 0:
                continue
            if key in self._storages:
                self._storages[key] += 1  # a view of a tensor already counted
            elif key in inputs:
                continue  # a view (or in-place result) of a tensor made before the call: not ours
            else:
                self._storages[key] = 1
                self.live += nbytes
                self.peak = max(self.peak, self.live)
            weakref.finalize(tensor, self._release, key, nbytes)
        return out


def peak_tensor_bytes(fn: Callable[[], T]) -> tuple[T, int]:
    """`fn()` and the most bytes the tensors it created held at one time."""
    with _LiveBytes() as mode:
        result = fn()
    return result, mode.peak
