"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel."""

from __future__ import annotations

import numpy as np

from ganzoo.errors import GanzooError
from ganzoo.metrics.context import MetricContext


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """k(x, y) = (x.y / d + 1)^3 for every pair of rows."""
    d = x.shape[1]
    return (x @ y.T / d + 1.0) ** 3


def _mmd2_from_kernels(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    m = kxx.shape[0]
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2.0 * kxy.sum() / (m * m))


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 between two equally sized samples (m x D each), cubic polynomial kernel.

    (sum_{i!=j} k(x_i, x_j) + sum_{i!=j} k(y_i, y_j)) / (m (m - 1)) - 2 sum_{i,j} k(x_i, y_j) / m^2
    """
    m = x.shape[0]
    if y.shape[0] != m or m < 2:
        raise GanzooError(f"KID subsets must have equal sizes of at least 2, got {x.shape[0]} and {y.shape[0]}")
    return _mmd2_from_kernels(polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y))


FULL_KERNEL_LIMIT = 4096
"""Up to this many samples per side, the kernel matrices are computed once and subsets index into them."""


def kernel_distance(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) of unbiased MMD^2 over `num_subsets` random subsets of `subset_size` from each side.

    The subset size is reduced to the smaller sample when either side has fewer items.
    """
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    m = min(subset_size, real.shape[0], fake.shape[0])
    if m < 2:
        raise GanzooError(f"KID needs at least 2 samples per side, got {real.shape[0]} and {fake.shape[0]}")
    rng = np.random.default_rng(seed)
    full = max(real.shape[0], fake.shape[0]) <= FULL_KERNEL_LIMIT
    if full:
        kxx_all, kyy_all, kxy_all = (polynomial_kernel(real, real), polynomial_kernel(fake, fake),
                                     polynomial_kernel(real, fake))
    values = np.empty(num_subsets, dtype=np.float64)
    for i in range(num_subsets):
        xi = rng.choice(real.shape[0], m, replace=False)
        yi = rng.choice(fake.shape[0], m, replace=False)
        if full:
            values[i] = _mmd2_from_kernels(kxx_all[np.ix_(xi, xi)], kyy_all[np.ix_(yi, yi)], kxy_all[np.ix_(xi, yi)])
        else:
            values[i] = mmd2_unbiased(real[xi], fake[yi])
    return float(values.mean()), float(values.std())


def compute_kid(ctx: MetricContext) -> dict[str, float]:
    """The `kid` metric: mean and std of the subset estimates.

    With fewer images than the asked subset size on either side, the subsets are that smaller size,
    and the protocol stamps the size used.
    """
    real, fake = ctx.real.features, ctx.fake.features
    subset_size = min(int(ctx.option("kid_subset_size")), real.shape[0], fake.shape[0])
    mean, std = kernel_distance(
        real,
        fake,
        num_subsets=int(ctx.option("kid_subsets")),
        subset_size=subset_size,
        seed=ctx.seed,
    )
    ctx.use_option("kid_subset_size", subset_size)
    return {"kid": mean, "kid_std": std}
