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


def _subset_sums(real: Any, fake: Any, xi: Any, yi: Any) -> tuple[Any, Any, Any]:
    """Per subset: the sums over i != j of k(x_i, x_j) and of k(y_i, y_j), and the sum of k(x_i, y_j).

    A batch of subsets is gathered at once (B x m x D per side) and each of its three kernel blocks
    (XX, YY, XY) comes from one batched matrix product.
    """
    import torch

    s, m = xi.shape
    per_batch = max(1, BATCH_ENTRIES // (3 * m * m))
    sxx, syy, sxy = [], [], []
    for start in range(0, s, per_batch):
        x, y = real[xi[start:start + per_batch]], fake[yi[start:start + per_batch]]
        for z, out in ((x, sxx), (y, syy)):
            k = _kernel(z, z, batched=True)
            out.append(k.sum((1, 2)) - k.diagonal(dim1=1, dim2=2).sum(1))
            del k
        sxy.append(_kernel(x, y, batched=True).sum((1, 2)))
    return torch.cat(sxx), torch.cat(syy), torch.cat(sxy)


def _indicator(rows: int, idx: Any) -> Any:
    """rows x subsets matrix with 1 where a row belongs to a subset."""
    import torch

    a = torch.zeros(rows, idx.shape[0], dtype=torch.float64)
    a.scatter_(0, idx.T.contiguous(), 1.0)
    return a


def _full_kernel_sums(real: Any, fake: Any, xi: Any, yi: Any) -> tuple[Any, Any, Any]:
    """`_subset_sums` from the whole kernel matrices: each subset sum is a'Ka, one product for all subsets."""
    ax, ay = _indicator(real.shape[0], xi), _indicator(fake.shape[0], yi)
    kxx = _kernel(real, real, batched=False)
    sxx = ((kxx @ ax) * ax).sum(0) - (kxx.diagonal()[:, None] * ax).sum(0)
    del kxx
    kyy = _kernel(fake, fake, batched=False)
    syy = ((kyy @ ay) * ay).sum(0) - (kyy.diagonal()[:, None] * ay).sum(0)
    del kyy
    kxy = _kernel(real, fake, batched=False)
    sxy = ((kxy @ ay) * ax).sum(0)
    return sxx, syy, sxy


def _use_full_kernels(n_real: int, n_fake: int, m: int, num_subsets: int) -> bool:
    """True when the whole kernel matrices fit in a batch and have fewer entries than the subsets' kernels."""
    full = n_real * n_real + n_fake * n_fake + n_real * n_fake
    return full <= min(3 * num_subsets * m * m, BATCH_ENTRIES)


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
    are computed together in float64: from the whole kernel matrices when they fit in `BATCH_ENTRIES`
    and have fewer entries than the subsets' kernels, else a batch of subsets per matrix product.
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
        if _use_full_kernels(real_np.shape[0], fake_np.shape[0], m, num_subsets):
            sxx, syy, sxy = _full_kernel_sums(real_t, fake_t, xi_t, yi_t)
        else:
            sxx, syy, sxy = _subset_sums(real_t, fake_t, xi_t, yi_t)
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
