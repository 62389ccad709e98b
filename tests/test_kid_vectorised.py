"""KID computed for all subsets at once gives the numbers of the per-subset loop it replaced."""

from __future__ import annotations

import numpy as np
import pytest

from ganzoo.metrics import kid


def oracle_kernel_distance(real, fake, *, num_subsets=100, subset_size=1000, seed=0):
    """The per-subset implementation KID had before it was vectorised (kept as the reference)."""
    real = np.asarray(real, dtype=np.float64)
    fake = np.asarray(fake, dtype=np.float64)
    m = min(subset_size, real.shape[0], fake.shape[0])
    rng = np.random.default_rng(seed)
    d = real.shape[1]
    values = np.empty(num_subsets)
    for i in range(num_subsets):
        x = real[rng.choice(real.shape[0], m, replace=False)]
        y = fake[rng.choice(fake.shape[0], m, replace=False)]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values[i] = within - 2.0 * kxy.sum() / (m * m)
    return float(values.mean()), float(values.std())


def _features(n_real, n_fake, d, seed=0):
    rng = np.random.default_rng(seed)
    real = rng.normal(size=(n_real, d)).astype(np.float32)
    fake = (rng.normal(size=(n_fake, d)) * 1.1 + 0.05).astype(np.float32)
    return real, fake


@pytest.mark.parametrize("path", ["full kernels", "subset batches"])
@pytest.mark.parametrize(("n_real", "n_fake", "d", "subsets", "size"),
                         [(300, 200, 16, 7, 150), (120, 120, 64, 30, 1000), (90, 400, 8, 5, 50)])
def test_vectorised_kid_equals_the_per_subset_loop(monkeypatch, path, n_real, n_fake, d, subsets, size):
    monkeypatch.setattr(kid, "_use_full_kernels", lambda *a: path == "full kernels")
    if path == "subset batches":
        # Tiny batches: several batched products, the last one partial.
        monkeypatch.setattr(kid, "BATCH_ENTRIES", 3 * min(size, n_real, n_fake) ** 2 * 2)
    real, fake = _features(n_real, n_fake, d)
    calls = []
    for name in ("_full_kernel_sums", "_subset_sums"):
        original = getattr(kid, name)
        monkeypatch.setattr(kid, name, lambda *a, _o=original, _n=name: calls.append(_n) or _o(*a))
    mean, std = kid.kernel_distance(real, fake, num_subsets=subsets, subset_size=size, seed=4)
    want_mean, want_std = oracle_kernel_distance(real, fake, num_subsets=subsets, subset_size=size, seed=4)
    assert calls == (["_full_kernel_sums"] if path == "full kernels" else ["_subset_sums"])
    assert mean == pytest.approx(want_mean, rel=1e-11, abs=1e-15)
    assert std == pytest.approx(want_std, rel=1e-9, abs=1e-15)


def test_the_cheaper_path_is_chosen():
    assert kid._use_full_kernels(1000, 1000, 1000, 100)  # the kernels once, not 100 subsets' worth
    assert not kid._use_full_kernels(10000, 10000, 1000, 100)  # 3e8 entries: more than one batch holds
    assert not kid._use_full_kernels(4000, 4000, 100, 10)  # subsets much smaller than the sample
