"""Inception Score (Salimans et al. 2016) from a classifier's logits."""

from __future__ import annotations

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.context import MetricContext


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def inception_score(logits: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """(mean, std) over `splits` consecutive parts of exp(mean_x KL(p(y|x) || p(y))).

    `logits` are N x K classifier outputs; p(y) is the mean prediction within each part.
    """
    logp = log_softmax(logits)
    n = logp.shape[0]
    if n < splits:
        raise GanzooError(f"Inception Score needs at least {splits} images (one per split), got {n}")
    scores = []
    for part in np.array_split(np.arange(n), splits):
        lp = logp[part]
        p = np.exp(lp)
        log_py = np.log(p.mean(axis=0) + 1e-300)
        kl = (p * (lp - log_py)).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    values = np.asarray(scores)
    return float(values.mean()), float(values.std())


def compute_is(ctx: MetricContext) -> dict[str, float]:
    """The `is` metric (needs an extractor with a classifier head)."""
    if ctx.fake.logits is None:
        raise GanzooError(f"extractor {ctx.extractor.name!r} has no classifier head, so it cannot give an Inception Score")
    mean, std = inception_score(ctx.fake.logits, splits=int(ctx.option("is_splits")))
    return {"is": mean, "is_std": std}
