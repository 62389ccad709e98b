"""Class coverage of unconditional samples: how a classifier spreads them over the reference's classes.

Values (`ganzoo eval --metric coverage`, labelled reference data and an extractor with a classifier):

- `coverage_tv`: total-variation distance between the samples' class distribution (the classifier's
  arg-max over the generated images) and the reference's (its labels), in [0, 1]; 0 is a perfect match.
- `coverage_min`: the share of the samples in their rarest class (0.1 is uniform over 10 classes; 0
  means a class, a mode, is missing).
- `coverage/<class>`: the samples' share of each class; `coverage_ref/<class>`: the reference's.
"""

from __future__ import annotations

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.conditional import check_classifier
from ganzoo.metrics.context import MetricContext


def class_distribution(classes: np.ndarray, num_classes: int) -> np.ndarray:
    """Share of each class among integer class indices (length `num_classes`, sums to 1)."""
    classes = np.asarray(classes, dtype=np.int64).reshape(-1)
    if classes.size == 0:
        raise GanzooError("class distribution of no images")
    counts = np.bincount(classes, minlength=num_classes).astype(np.float64)
    return counts / counts.sum()


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """Total-variation distance of two distributions over the same classes: half the L1 distance."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise GanzooError(f"class distributions of different lengths ({p.shape[0]} and {q.shape[0]})")
    return float(0.5 * np.abs(p - q).sum())


def coverage_values(samples: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    """`coverage_tv`, `coverage_min` and the per-class shares of two class distributions."""
    out = {"coverage_tv": total_variation(samples, reference), "coverage_min": float(np.min(samples))}
    out.update({f"coverage/{k}": float(v) for k, v in enumerate(samples)})
    out.update({f"coverage_ref/{k}": float(v) for k, v in enumerate(reference)})
    return out


def compute_coverage(ctx: MetricContext) -> dict[str, float]:
    """The `coverage` metric (see the module docstring)."""
    classes = check_classifier(ctx, "coverage")
    real = ctx.real
    if real.labels is None:
        raise GanzooError("metric 'coverage' needs a labelled reference data set (e.g. --data digits)")
    if int(np.max(real.labels)) >= classes:
        raise GanzooError(f"metric 'coverage': the reference has labels up to {int(np.max(real.labels))} but "
                          f"extractor {ctx.extractor.name!r} classifies {classes} classes")
    samples = class_distribution(np.asarray(ctx.fake.logits).argmax(axis=1), classes)
    reference = class_distribution(real.labels, classes)
    ctx.higher_is_better["coverage_min"] = True
    return coverage_values(samples, reference)
