"""Improved precision and recall (Kynkäänniemi et al. 2019): k-NN manifolds in feature space.

Each sample set's manifold is the union of balls centred on its points, each with the radius of the
distance to that point's k-th nearest neighbour within the set. Precision is the fraction of generated
points inside the real manifold; recall is the fraction of real points inside the generated manifold.
"""

from __future__ import annotations

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.context import MetricContext

_CHUNK = 1024


def _sq_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    a_sq = (a.astype(np.float64) ** 2).sum(axis=1, keepdims=True)
    d = a_sq + b_sq[None, :] - 2.0 * (a @ b.T).astype(np.float64)
    return np.maximum(d, 0.0)


def knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from every point to its k-th nearest neighbour among the others."""
    points = np.asarray(points, dtype=np.float32)
    n = points.shape[0]
    if n <= k:
        raise GanzooError(f"precision/recall with k={k} needs more than {k} samples per side, got {n}")
    sq = (points.astype(np.float64) ** 2).sum(axis=1)
    radii = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        d = _sq_distances(points[start:start + _CHUNK], points, sq)
        # Index 0 of the sorted row is the point itself (distance 0), so the k-th neighbour sits at index k.
        radii[start:start + _CHUNK] = np.partition(d, k, axis=1)[:, k]
    return radii


def coverage_fraction(manifold: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> float:
    """Fraction of `queries` within the union of balls around `manifold` points with squared `radii`."""
    manifold = np.asarray(manifold, dtype=np.float32)
    queries = np.asarray(queries, dtype=np.float32)
    sq = (manifold.astype(np.float64) ** 2).sum(axis=1)
    inside = 0
    for start in range(0, queries.shape[0], _CHUNK):
        d = _sq_distances(queries[start:start + _CHUNK], manifold, sq)
        inside += int((d <= radii[None, :]).any(axis=1).sum())
    return inside / queries.shape[0]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """(precision, recall) of `fake` against `real` features (N x D each)."""
    precision = coverage_fraction(real, knn_radii(real, k), fake)
    recall = coverage_fraction(fake, knn_radii(fake, k), real)
    return precision, recall


def compute_pr(ctx: MetricContext) -> dict[str, float]:
    """The `pr` metric: precision and recall with k = `pr_k` (3 by default)."""
    precision, recall = precision_recall(ctx.real.features, ctx.fake.features, k=int(ctx.option("pr_k")))
    return {"precision": precision, "recall": recall}
