"""The second digits classifier (an MLP on another split) and the two-classifier coverage figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.testing.coverage import WEIGHTS_FILE, coverage_of, second_classifier, shares
from ganzoo.testing.quality import digits_half

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("size", [16, 32])
def test_second_classifier_reads_both_halves_of_the_built_in_digits(size: int) -> None:
    clf = second_classifier()
    assert clf.metadata["format"] == "ganzoo-digits-mlp" and float(clf.metadata["check_accuracy_min"]) >= 0.95
    assert not any(isinstance(m, torch.nn.Conv2d) for m in clf.net.modules())  # another architecture than the judge
    for half in ("train", "test"):
        images, labels = digits_half(half, size)
        accuracy = clf.accuracy(images, labels)
        print(f"\nsecond classifier on the {half} half at {size} px: {accuracy:.4f}")
        assert accuracy >= 0.95
    assert clf.accuracy(images.expand(-1, 3, -1, -1), labels) == pytest.approx(accuracy)


@pytest.mark.slow  # trains the judge (about 10 s idle, minutes on the shared machine)
def test_coverage_figures_of_real_and_collapsed_digits() -> None:
    images, labels = digits_half("train", 32)
    real = coverage_of(images)
    print(f"\nreal training half: {real.summary()}")
    assert real.passes() and real.judge.tv < 0.05 and real.second.tv < 0.05
    assert real.judge.fractions.sum() == pytest.approx(1.0)
    few = torch.cat([images[labels == d][: (5 if d == 3 else 60)] for d in range(10)])
    unbalanced = coverage_of(few)
    assert not unbalanced.passes() and unbalanced.second.rarest < 0.06 and int(unbalanced.judge.fractions.argmin()) == 3
    assert shares(torch.tensor([1, 1, 2])).tolist() == pytest.approx([0, 2 / 3, 1 / 3] + [0] * 7)
    assert np.isclose(coverage_of(images[labels == 7]).second.tv, 0.9, atol=0.05)


@pytest.mark.slow
def test_the_training_script_rebuilds_the_shipped_weights() -> None:
    """Bit for bit on a CPU like the one that built them; on another (other vector units round differently
    over 80 epochs) the same network to rounding: the same predictions and accuracies."""
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_digits_mlp.py"), "--check"],
                          capture_output=True, text=True, timeout=1800, env={"OMP_NUM_THREADS": "1", "PATH": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"identical to {WEIGHTS_FILE}" in done.stdout
            or "equivalent (another CPU's rounding)" in done.stdout), done.stdout


def test_a_run_is_checked_against_the_figures_its_card_records() -> None:
    from ganzoo.testing.coverage import ClassShares, CoverageFigures, check_against_record

    uniform, skewed = [0.1] * 10, [0.05, 0.15] + [0.1] * 8
    record = {"judge": uniform, "second": uniform}
    same = CoverageFigures(ClassShares(np.array(uniform)), ClassShares(np.array([0.09, 0.11] + [0.1] * 8)))
    assert same.passes() and check_against_record(same, record) == []
    worse = CoverageFigures(ClassShares(np.array(uniform)), ClassShares(np.array(skewed)))
    problems = check_against_record(worse, record)
    assert len(problems) == 2 and problems[0].startswith("second: shares") and "bar as met" in problems[1]
    # A card that records a miss asks only for the same figures.
    assert check_against_record(worse, {"judge": uniform, "second": skewed}) == []
