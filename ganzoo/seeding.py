"""Derive independent, reproducible seeds from a run seed and positions (torch-free)."""

from __future__ import annotations

from collections.abc import Iterable

_MASK = (1 << 64) - 1
_START = 0x2545F4914F6CDD1D


def _splitmix64(x):
    """One splitmix64 round of a Python int or, element-wise, of a numpy uint64 array (which wraps at 2**64)."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _prefix(parts: Iterable[int]) -> int:
    x = _START
    for part in parts:
        x = _splitmix64(x ^ (int(part) & _MASK))
    return x


def derive_seed(*parts: int) -> int:
    """A 63-bit seed that depends on every part, in order; equal parts give equal seeds."""
    return _prefix(parts) & ((1 << 63) - 1)


def derive_seeds(prefix: Iterable[int], lasts: Iterable[int]) -> list[int]:
    """`[derive_seed(*prefix, last) for last in lasts]`, computed for all of `lasts` at once."""
    import numpy as np  # only here: the rest of this module stays import-light

    lasts_array = np.fromiter((int(last) & _MASK for last in lasts), dtype=np.uint64)
    return (_splitmix64(lasts_array ^ np.uint64(_prefix(prefix))) & ((1 << 63) - 1)).tolist()
