"""ganzoo.testing.quality: the held-out digits judge and the Fréchet measures the quality tests rely on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganzoo.testing.quality import (
    class_fractions,
    digits_classifier,
    digits_half,
    frechet_to_heldout,
    noise_baseline,
    noisy_training_digits,
)


@pytest.fixture(scope="module")
def clf():
    return digits_classifier(32)


def test_judge_is_accurate_on_digits_it_never_saw(clf) -> None:
    assert digits_classifier() is clf and digits_classifier(image_size=32) is clf  # cached per process
    images, labels = digits_half("train", 32)
    assert len(images) == 901 and images.shape[1:] == (1, 32, 32)
    print(f"\njudge accuracy on the training half: {clf.check_accuracy:.4f}")
    assert clf.check_accuracy >= 0.95
    assert clf.accuracy(images, labels) == pytest.approx(clf.check_accuracy)
    # Colour and other sizes are accepted (gray = channel mean, resized to the working size).
    assert clf.accuracy(images.expand(-1, 3, -1, -1), labels) == pytest.approx(clf.check_accuracy)
    assert clf.accuracy(torch.nn.functional.interpolate(images, size=64, mode="bilinear"), labels) >= 0.95
    assert clf.predict(images[:5]).dtype == torch.int64
    assert clf.features(images[:5]).shape == (5, 64)


def test_frechet_orders_real_noisy_and_random(clf) -> None:
    images, _ = digits_half("train", 32)
    real = frechet_to_heldout(images, clf)
    baseline = noise_baseline(clf)
    milder = noise_baseline(clf, sigma=0.1)
    noise = frechet_to_heldout(torch.rand(901, 1, 32, 32) * 2 - 1, clf)
    print(f"\njudge FD to held-out: real training half {real:.2f}, noise 0.1 {milder:.2f}, noise 0.3 {baseline:.2f}, "
          f"uniform noise {noise:.1f}")
    assert real < milder < baseline < noise
    assert real < baseline / 5
    assert noise_baseline(clf) == baseline  # the noise is drawn from a fixed seed
    noisy = noisy_training_digits(32, 0.3)
    assert noisy.min() >= -1 and noisy.max() <= 1 and not torch.equal(noisy, images)


def test_class_fractions_see_collapse(clf) -> None:
    images, labels = digits_half("train", 32)
    fractions = class_fractions(images, clf)
    assert fractions.shape == (10,) and fractions.sum() == pytest.approx(1.0)
    assert fractions.min() > 0.08
    sevens = images[labels == 7]
    collapsed = class_fractions(sevens, clf)
    assert collapsed[7] > 0.9 and np.delete(collapsed, 7).max() < 0.1
