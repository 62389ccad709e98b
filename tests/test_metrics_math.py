"""The metric formulas on hand-made feature arrays: FID vs pytorch-fid, KID, IS, precision/recall."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ganzoo.errors import GanzooError
from ganzoo.metrics.conditional import class_accuracy, intra_class_fid
from ganzoo.metrics.frechet import feature_stats, fid_from_features, frechet_distance
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_distance, mmd2_unbiased
from ganzoo.metrics.precision_recall import knn_radii, precision_recall


def _pytorch_fid(mu1, s1, mu2, s2):
    from pytorch_fid.fid_score import calculate_frechet_distance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # its scipy `disp` argument
        return float(calculate_frechet_distance(mu1, s1, mu2, s2))


@pytest.mark.parametrize(
    ("n1", "n2", "dim", "shift", "scale"),
    [(500, 400, 16, 0.3, 1.2), (300, 300, 64, 0.0, 1.0), (2000, 1500, 128, 1.5, 0.5)],
)
def test_frechet_distance_matches_pytorch_fid(n1, n2, dim, shift, scale):
    rng = np.random.default_rng(dim)
    mix = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    a = rng.normal(size=(n1, dim)) @ mix
    b = (rng.normal(size=(n2, dim)) * scale + shift) @ mix + rng.normal(size=(n2, dim)) * 0.1
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    theirs = _pytorch_fid(mu1, s1, mu2, s2)
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert ours > 0


def test_frechet_distance_singular_covariances_use_the_eps_fix_up():
    # Fewer samples than dimensions: both covariances are singular.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 64)), rng.normal(size=(30, 64)) + 0.5
    mu1, s1 = feature_stats(a)
    mu2, s2 = feature_stats(b)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert np.isfinite(ours)
    assert ours == pytest.approx(_pytorch_fid(mu1, s1, mu2, s2), rel=1e-6)


def test_frechet_distance_closed_form_cases():
    # Identical Gaussians: 0. Means apart by v, same covariance: |v|^2.
    s = np.diag([1.0, 2.0, 3.0])
    assert frechet_distance(np.zeros(3), s, np.zeros(3), s) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(np.zeros(3), s, np.array([1.0, 2.0, 2.0]), s) == pytest.approx(9.0)
    # 1-d: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s1 = 2, s2 = 3.
    assert frechet_distance(np.array([0.0]), np.array([[4.0]]), np.array([1.0]), np.array([[9.0]])) == pytest.approx(2.0)
    with pytest.raises(GanzooError):
        frechet_distance(np.zeros(3), s, np.zeros(2), np.eye(2))


def test_fid_from_features_is_zero_for_the_same_array():
    x = np.random.default_rng(0).normal(size=(200, 8))
    assert fid_from_features(x, x) == pytest.approx(0.0, abs=1e-8)


def test_kid_hand_checked_one_dimension():
    # k(x, y) = (x y / 1 + 1)^3. X = {0, 1}, Y = {1, 2}:
    # within X: k(0,1) = 1 (twice) -> 2 / (2*1) = 1; within Y: k(1,2) = 27 (twice) -> 27;
    # across: k(0,1)+k(0,2)+k(1,1)+k(1,2) = 1+1+8+27 = 37 -> 2*37/4 = 18.5. MMD^2 = 1 + 27 - 18.5 = 9.5
    x = np.array([[0.0], [1.0]])
    y = np.array([[1.0], [2.0]])
    assert mmd2_unbiased(x, y) == pytest.approx(9.5)
    mean, std = kernel_distance(x, y, num_subsets=5, subset_size=1000)
    assert mean == pytest.approx(9.5) and std == pytest.approx(0.0)


def test_kid_hand_checked_two_dimensions_can_be_negative():
    # d = 2, k = (x.y / 2 + 1)^3. X = {(1,0), (0,1)}, Y = {(1,1), (0,0)}: every within-pair dot is 0 -> k = 1,
    # so each within term is 2 / 2 = 1; across: dots 1, 0, 1, 0 -> 1.5^3 + 1 + 1.5^3 + 1 = 8.75 -> 2*8.75/4.
    x = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([[1.0, 1.0], [0.0, 0.0]])
    assert mmd2_unbiased(x, y) == pytest.approx(1 + 1 - 4.375)


def test_kid_is_unbiased_for_same_distribution_and_grows_with_shift():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(2000, 32))
    same = rng.normal(size=(2000, 32))
    shifted = rng.normal(size=(2000, 32)) + 0.5
    m_same, s_same = kernel_distance(real, same, num_subsets=50, subset_size=500, seed=1)
    m_shift, _ = kernel_distance(real, shifted, num_subsets=50, subset_size=500, seed=1)
    assert abs(m_same) < 3 * s_same + 1e-3
    assert m_shift > 10 * abs(m_same)


def test_inception_score_extremes():
    k = 10
    confident_diverse = np.full((100, k), -50.0)
    confident_diverse[np.arange(100), np.arange(100) % k] = 50.0
    mean, std = inception_score(confident_diverse, splits=10)
    assert mean == pytest.approx(k, rel=1e-6) and std == pytest.approx(0.0, abs=1e-6)
    collapsed = np.zeros((100, k))
    collapsed[:, 3] = 50.0
    assert inception_score(collapsed, splits=10)[0] == pytest.approx(1.0, abs=1e-6)
    uniform = np.zeros((100, k))
    assert inception_score(uniform, splits=10)[0] == pytest.approx(1.0, abs=1e-6)


def test_precision_recall_on_known_geometry():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 2))
    inside = rng.normal(size=(500, 2)) * 0.25  # concentrated in the middle: precise, poor recall
    far = rng.normal(size=(500, 2)) + 20.0
    p_same, r_same = precision_recall(real, rng.normal(size=(500, 2)), k=3)
    p_in, r_in = precision_recall(real, inside, k=3)
    p_far, r_far = precision_recall(real, far, k=3)
    assert p_same > 0.9 and r_same > 0.9
    assert p_in > 0.95 and r_in < 0.6
    assert p_far == 0.0 and r_far == 0.0


def test_knn_radii_are_kth_neighbour_distances():
    pts = np.array([[0.0], [1.0], [3.0], [6.0]])
    # Neighbour distances: 0 -> 1, 3, 6; 1 -> 1, 2, 5; 3 -> 2, 3, 3; 6 -> 3, 5, 6.
    assert np.allclose(knn_radii(pts, 1), np.array([1, 1, 2, 3]) ** 2)
    assert np.allclose(knn_radii(pts, 2), np.array([3, 2, 3, 5]) ** 2)


def test_class_accuracy_and_intra_class_fid():
    logits = np.eye(3)[[0, 1, 2, 1]]
    assert class_accuracy(logits, np.array([0, 1, 2, 2])) == pytest.approx(0.75)
    rng = np.random.default_rng(0)
    real = np.concatenate([rng.normal(size=(300, 4)) + c * 3 for c in range(3)])
    real_labels = np.repeat(np.arange(3), 300)
    good = np.concatenate([rng.normal(size=(300, 4)) + c * 3 for c in range(3)])
    swapped = np.concatenate([rng.normal(size=(300, 4)) + ((c + 1) % 3) * 3 for c in range(3)])
    fake_labels = np.repeat(np.arange(3), 300)
    good_mean, per_class = intra_class_fid(real, real_labels, good, fake_labels)
    bad_mean, _ = intra_class_fid(real, real_labels, swapped, fake_labels)
    assert set(per_class) == {0, 1, 2}
    assert good_mean < 0.2 < 10 < bad_mean
