"""Kernel Inception Distance (Bińkowski et al. 2018): unbiased MMD^2 with a cubic polynomial kernel."""

from __future__ import annotations

from typing import Any

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


#: Kernel entries (8 bytes each) one batch of subsets may hold at once: 2**25, 256 MiB.
BATCH_ENTRIES = 2**25


def _draw_subsets(n_real: int, n_fake: int, m: int, num_subsets: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The subsets' row indices (num_subsets x m each side), drawn in the order the estimate always used."""
    rng = np.random.default_rng(seed)
    xi = np.empty((num_subsets, m), dtype=np.int64)
    yi = np.empty((num_subsets, m), dtype=np.int64)
    for i in range(num_subsets):
        xi[i] = rng.choice(n_real, m, replace=False)
        yi[i] = rng.choice(n_fake, m, replace=False)
    return xi, yi


def _kernel(a: Any, b: Any, batched: bool) -> Any:
    """(a b' / d + 1)^3 for every pair of rows (of each batch entry): one product, the rest in place."""
    import torch

    one = torch.ones((), dtype=a.dtype)
    bt = b.transpose(-1, -2)
    product = torch.baddbmm if batched else torch.addmm
    return product(one, a, bt, alpha=1.0 / a.shape[-1]).pow_(3)


def _indicator(rows: int, idx: Any) -> Any:
    """rows x subsets matrix with 1 where a row belongs to a subset."""
    import torch

    a = torch.zeros(rows, idx.shape[0], dtype=torch.float64)
    a.scatter_(0, idx.T.contiguous(), 1.0)
    return a


def _use_whole_kernel(n_a: int, n_b: int, m: int, num_subsets: int) -> bool:
    """True when the whole n_a x n_b kernel fits in a batch and has fewer entries than the subsets' blocks."""
    return n_a * n_b <= min(num_subsets * m * m, BATCH_ENTRIES)


def _block_sums(a: Any, b: Any, ia: Any, ib: Any, *, same: bool) -> Any:
    """Per subset s, the sum of k(a_i, b_j) over i in ia[s], j in ib[s] (i != j when `same`: b is a, ib is ia).

    Either the whole kernel of a and b once, each subset's sum then being u' K v with 0/1 indicator
    vectors (one product for all subsets), or, when that is larger, a batch of subsets' blocks per
    batched matrix product; `_use_whole_kernel` picks the one with fewer kernel entries.
    """
    import torch

    s, m = ia.shape
    if _use_whole_kernel(a.shape[0], b.shape[0], m, s):
        k = _kernel(a, b, batched=False)
        ua = _indicator(a.shape[0], ia)
        ub = ua if same else _indicator(b.shape[0], ib)
        total = ((k @ ub) * ua).sum(0)
        if same:
            total -= (k.diagonal()[:, None] * ua).sum(0)
        return total
    per_batch = max(1, BATCH_ENTRIES // (m * m))
    sums = []
    for start in range(0, s, per_batch):
        x = a[ia[start:start + per_batch]]
        k = _kernel(x, x if same else b[ib[start:start + per_batch]], batched=True)
        total = k.sum((1, 2))
        if same:
            total -= k.diagonal(dim1=1, dim2=2).sum(1)
        sums.append(total)
        del k
    return torch.cat(sums)


def kernel_distance(
    real: np.ndarray,
    fake: np.ndarray,
    *,
    num_subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(mean, std) of unbiased MMD^2 over `num_subsets` random subsets of `subset_size` from each side.

    The subset size is reduced to the smaller sample when either side has fewer items. All subsets
    are computed together in float64, each of the three kernel blocks (real-real, fake-fake,
    real-fake) the cheaper way (`_block_sums`): the same numbers as one subset at a time.
    """
    import torch

    real_np = np.asarray(real, dtype=np.float64)
    fake_np = np.asarray(fake, dtype=np.float64)
    m = min(subset_size, real_np.shape[0], fake_np.shape[0])
    if m < 2:
        raise GanzooError(f"KID needs at least 2 samples per side, got {real_np.shape[0]} and {fake_np.shape[0]}")
    xi, yi = _draw_subsets(real_np.shape[0], fake_np.shape[0], m, num_subsets, seed)
    with torch.no_grad():
        real_t, fake_t = torch.from_numpy(real_np), torch.from_numpy(fake_np)
        xi_t, yi_t = torch.from_numpy(xi), torch.from_numpy(yi)
        sxx = _block_sums(real_t, real_t, xi_t, xi_t, same=True)
        syy = _block_sums(fake_t, fake_t, yi_t, yi_t, same=True)
        sxy = _block_sums(real_t, fake_t, xi_t, yi_t, same=False)
        values = ((sxx + syy) / (m * (m - 1)) - 2.0 * sxy / (m * m)).numpy()
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
