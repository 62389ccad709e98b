"""The Fréchet distance between two Gaussians, and FID as a metric (the one implementation in ganzoo)."""

from __future__ import annotations

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.context import MetricContext

IMAGINARY_TOLERANCE = 1e-3
"""Largest imaginary part allowed on the diagonal of sqrt(S1 S2) before the result is refused."""


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (D,) and unbiased covariance (D x D) of N x D features, in float64."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise GanzooError(f"need at least 2 feature vectors to fit a Gaussian, got shape {tuple(x.shape)}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    from scipy import linalg

    return linalg.sqrtm(matrix)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    """d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)).

    When the product is (near) singular and its square root is not finite, `eps` is added to both
    diagonals. A square root whose diagonal keeps an imaginary part above 1e-3 is refused: the
    covariances are then too badly estimated (too few samples for the feature dimension).
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise GanzooError(
            f"Fréchet distance needs matching statistics, got means {mu1.shape}/{mu2.shape} "
            f"and covariances {s1.shape}/{s2.shape}"
        )
    diff = mu1 - mu2
    covmean = _sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = _sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        worst = float(np.max(np.abs(np.diagonal(covmean).imag)))
        if worst > IMAGINARY_TOLERANCE:
            raise GanzooError(
                f"Fréchet distance: sqrt(S1 S2) has an imaginary component {worst:.3g}; the covariances are "
                "ill-conditioned; use more samples (--n) than feature dimensions"
            )
        covmean = covmean.real
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def fid_from_features(real: np.ndarray, fake: np.ndarray) -> float:
    """FID between two N x D feature arrays."""
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


def compute_fid(ctx: MetricContext) -> dict[str, float]:
    """The `fid` metric: Fréchet distance of the generated features' Gaussian to the reference's."""
    mu_r, s_r = ctx.real.stats()
    mu_f, s_f = ctx.fake.stats()
    return {"fid": frechet_distance(mu_r, s_r, mu_f, s_f)}
