"""Derive independent, reproducible seeds from a run seed and positions (torch-free)."""

from __future__ import annotations

_MASK = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def derive_seed(*parts: int) -> int:
    """A 63-bit seed that depends on every part, in order; equal parts give equal seeds."""
    x = 0x2545F4914F6CDD1D
    for part in parts:
        x = _splitmix64(x ^ (int(part) & _MASK))
    return x & ((1 << 63) - 1)
