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


@pytest.mark.parametrize("path", ["whole kernels", "subset batches"])
@pytest.mark.parametrize(("n_real", "n_fake", "d", "subsets", "size"),
                         [(300, 200, 16, 7, 150), (120, 120, 64, 30, 1000), (90, 400, 8, 5, 50)])
def test_vectorised_kid_equals_the_per_subset_loop(monkeypatch, path, n_real, n_fake, d, subsets, size):
    whole = path == "whole kernels"
    choices = []
    monkeypatch.setattr(kid, "_use_whole_kernel", lambda *a: choices.append(whole) or whole)
    if not whole:
        # Tiny batches: several batched products per block, the last one partial.
        monkeypatch.setattr(kid, "BATCH_ENTRIES", min(size, n_real, n_fake) ** 2 * 2)
    real, fake = _features(n_real, n_fake, d)
    mean, std = kid.kernel_distance(real, fake, num_subsets=subsets, subset_size=size, seed=4)
    want_mean, want_std = oracle_kernel_distance(real, fake, num_subsets=subsets, subset_size=size, seed=4)
    assert choices == [whole] * 3  # real-real, fake-fake and real-fake blocks
    assert mean == pytest.approx(want_mean, rel=1e-11, abs=1e-15)
    assert std == pytest.approx(want_std, rel=1e-9, abs=1e-15)


def test_each_block_takes_the_cheaper_way():
    # ganzoo eval's common case: 901 reference digits against 10,000 generated images, subsets of 901.
    assert kid._use_whole_kernel(901, 901, 901, 100)  # every subset of the reference is all of it
    assert kid._use_whole_kernel(901, 10000, 901, 100)  # 9e6 entries once, not 100 blocks of 8e5
    assert not kid._use_whole_kernel(10000, 10000, 901, 100)  # 1e8 entries: subsets are cheaper
    assert not kid._use_whole_kernel(6000, 6000, 1000, 100)  # fewer than the subsets' but over a batch


def test_a_mixed_choice_still_gives_the_loops_numbers():
    real, fake = _features(60, 700, 32, seed=2)  # real-real whole, fake-fake by subsets, real-fake whole
    mean, std = kid.kernel_distance(real, fake, num_subsets=40, subset_size=100, seed=9)
    want = oracle_kernel_distance(real, fake, num_subsets=40, subset_size=100, seed=9)
    assert (mean, std) == pytest.approx(want, rel=1e-10)
