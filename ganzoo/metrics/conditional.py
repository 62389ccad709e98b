"""Metrics for class-conditional models: class consistency and intra-class FID."""

from __future__ import annotations

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.context import MetricContext
from ganzoo.metrics.frechet import frechet_distance


def class_accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose arg-max logit equals the label."""
    return float((np.asarray(logits).argmax(axis=1) == np.asarray(labels)).mean())


def check_classifier(ctx: MetricContext, metric: str) -> int:
    """The extractor's number of classes; refused in one line without a classifier or when the data's differs."""
    classes = getattr(ctx.extractor, "num_classes", None)
    if ctx.fake.logits is None or classes is None:
        raise GanzooError(
            f"metric {metric!r} needs an extractor with a classifier for the data's classes; "
            f"{ctx.extractor.name!r} has none (use --extractor digits for --data digits)"
        )
    if ctx.num_classes is not None and classes != ctx.num_classes:
        raise GanzooError(
            f"metric {metric!r}: extractor {ctx.extractor.name!r} classifies {classes} classes but the data has "
            f"{ctx.num_classes}; use an extractor trained on the same classes"
        )
    return int(classes)


def compute_class_acc(ctx: MetricContext) -> dict[str, float]:
    """The `class_acc` metric: does the classifier recognise the class each sample was conditioned on?"""
    labels = ctx.require_labels("class_acc")
    check_classifier(ctx, "class_acc")
    return {"class_acc": class_accuracy(ctx.fake.logits, labels)}


def intra_class_fid(
    real_features: np.ndarray, real_labels: np.ndarray, fake_features: np.ndarray, fake_labels: np.ndarray,
    *, min_per_class: int = 2,
) -> tuple[float, dict[int, float]]:
    """(mean over classes, per-class values) of FID between same-class real and generated features."""
    per_class: dict[int, float] = {}
    for cls in sorted(set(np.asarray(fake_labels).tolist())):
        r = real_features[real_labels == cls]
        f = fake_features[fake_labels == cls]
        if len(r) < min_per_class or len(f) < min_per_class:
            raise GanzooError(
                f"intra-class FID: class {cls} has {len(r)} reference and {len(f)} generated images; "
                f"each needs at least {min_per_class} (raise --n)"
            )
        r64, f64 = r.astype(np.float64), f.astype(np.float64)
        per_class[int(cls)] = frechet_distance(
            r64.mean(0), np.cov(r64, rowvar=False), f64.mean(0), np.cov(f64, rowvar=False)
        )
    if not per_class:
        raise GanzooError("intra-class FID: no generated images")
    return float(np.mean(list(per_class.values()))), per_class


def compute_intra_fid(ctx: MetricContext) -> dict[str, float]:
    """The `intra_fid` metric (also reports each class as `intra_fid/<class>`)."""
    labels = ctx.require_labels("intra_fid")
    real = ctx.real
    if real.labels is None:
        raise GanzooError("metric 'intra_fid' needs a labelled reference data set")
    mean, per_class = intra_class_fid(
        real.features, real.labels, ctx.fake.features, labels,
        min_per_class=int(ctx.option("intra_fid_min_per_class")),
    )
    out = {"intra_fid": mean}
    out.update({f"intra_fid/{cls}": value for cls, value in per_class.items()})
    return out
