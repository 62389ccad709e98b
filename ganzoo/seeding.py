"""Derive independent, reproducible seeds from a run seed and positions (torch-free)."""

from __future__ import annotations

from collections.abc import Iterable

_MASK = (1 << 64) - 1
_START = 0x2545F4914F6CDD1D
_GOLDEN, _MIX1, _MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def _splitmix64(x: int) -> int:
    x = (x + _GOLDEN) & _MASK
    x = ((x ^ (x >> 30)) * _MIX1) & _MASK
    x = ((x ^ (x >> 27)) * _MIX2) & _MASK
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

    x = np.uint64(_prefix(prefix))
    v = np.fromiter((int(last) & _MASK for last in lasts), dtype=np.uint64) ^ x
    # uint64 array arithmetic wraps modulo 2**64, as the masks above do.
    v = v + np.uint64(_GOLDEN)
    v = (v ^ (v >> np.uint64(30))) * np.uint64(_MIX1)
    v = (v ^ (v >> np.uint64(27))) * np.uint64(_MIX2)
    v = v ^ (v >> np.uint64(31))
    return (v & np.uint64((1 << 63) - 1)).tolist()
