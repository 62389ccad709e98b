"""Summaries of repeated timings (torch-free)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between the closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def median(values: Sequence[float]) -> float:
    return percentile(values, 50.0)


@dataclass(frozen=True)
class TimeStats:
    """Median, 90th percentile, mean, minimum and maximum of `n` durations in seconds."""

    n: int
    median: float
    p90: float
    mean: float
    min: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> TimeStats:
        values = [float(s) for s in seconds]
        return cls(len(values), median(values), percentile(values, 90.0), sum(values) / len(values),
                   min(values), max(values))

    def to_json(self) -> dict[str, float]:
        return asdict(self)
