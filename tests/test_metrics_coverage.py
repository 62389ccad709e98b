"""`coverage`: class distribution of samples through a classifier extractor, its total-variation
distance to the reference's labels and the rarest class's share, stamped like every metric."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ganzoo.errors import GanzooError
from ganzoo.metrics.coverage import class_distribution, coverage_values, total_variation
from ganzoo.testing.kit import run_cli


@pytest.fixture(scope="module")
def digits():
    from ganzoo.data import DataOptions, resolve_data

    return resolve_data("digits", DataOptions(image_size=32, channels=1))


def _held_out(source):
    batch = source.test.get_batch([(i, 0) for i in range(len(source.test))])
    return batch["image"], batch["label"]


def test_distribution_and_total_variation_by_hand() -> None:
    p = class_distribution(np.array([0, 0, 1, 3]), 4)
    assert p.tolist() == [0.5, 0.25, 0.0, 0.25]
    assert total_variation(p, p) == 0.0
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation(p, np.full(4, 0.25)) == pytest.approx(0.5 * (0.25 + 0 + 0.25 + 0))
    values = coverage_values(p, np.full(4, 0.25))
    assert values["coverage_min"] == 0.0 and values["coverage/0"] == 0.5 and values["coverage_ref/2"] == 0.25
    with pytest.raises(GanzooError):
        total_variation([0.5, 0.5], [1.0, 0.0, 0.0])
    with pytest.raises(GanzooError):
        class_distribution(np.array([], dtype=np.int64), 3)


def test_real_digits_cover_every_class_and_one_digit_does_not(digits, ganzoo_home) -> None:
    from ganzoo.metrics.evaluate import evaluate_batches

    images, labels = _held_out(digits)
    real = evaluate_batches([(images, None)], digits, "coverage", extractor="digits")
    # The held-out half against the training half's labels: the classifier is 97%+ accurate and the
    # halves are balanced alike, so the distributions nearly match.
    assert real.values["coverage_tv"] < 0.03 and real.values["coverage_min"] > 0.08
    assert sum(real.values[f"coverage/{k}"] for k in range(10)) == pytest.approx(1.0)
    assert sum(real.values[f"coverage_ref/{k}"] for k in range(10)) == pytest.approx(1.0)
    assert real.higher_is_better["coverage_min"] is True and real.higher_is_better["coverage_tv"] is False
    assert real.protocol["metrics"] == ["coverage"] and real.protocol["extractor"] == "digits"
    assert real.protocol["ref_split"] == "train" and real.protocol["n_fake"] == len(images)
    sevens = images[labels == 7]
    collapsed = evaluate_batches([(sevens, None)], digits, "coverage", extractor="digits")
    assert collapsed.values["coverage_min"] == 0.0 and collapsed.values["coverage/7"] > 0.9
    assert collapsed.values["coverage_tv"] > 0.8


@pytest.mark.slow
def test_cli_eval_coverage_of_a_folder(digits, tmp_path) -> None:
    from PIL import Image

    images, _ = _held_out(digits)
    folder = tmp_path / "real"
    folder.mkdir()
    for i, image in enumerate(images[:300]):
        array = ((image[0] + 1) * 127.5).round().clamp(0, 255).byte().numpy()
        Image.fromarray(array, "L").save(folder / f"{i:04d}.png")
    out = tmp_path / "results.jsonl"
    done = run_cli("eval", str(folder), "--data", "digits", "--metric", "coverage", "--json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["values"]["coverage_tv"] < 0.1 and payload["values"]["coverage_min"] > 0.05
    assert payload["protocol"]["protocol_version"] >= 2 and payload["higher_is_better"]["coverage_min"] is True
    assert json.loads(out.read_text().splitlines()[0])["values"] == payload["values"]
    table = run_cli("eval", "--compare", str(out))
    assert table.returncode == 0 and "coverage_tv" in table.stdout
    listed = json.loads(run_cli("eval", "--list", "--json").stdout)
    assert "coverage" in {m["name"] for m in listed["metrics"]}


def test_coverage_needs_a_classifier_and_reference_labels() -> None:
    from types import SimpleNamespace

    from ganzoo.metrics.context import FeatureSet, MetricContext
    from ganzoo.metrics.coverage import compute_coverage

    fake = FeatureSet(np.zeros((4, 2)), np.eye(3)[[0, 1, 2, 2]], None)
    labelled = FeatureSet(np.zeros((3, 2)), None, np.array([0, 1, 2]))
    plain = SimpleNamespace(name="plain", num_classes=None)
    with pytest.raises(GanzooError, match="needs an extractor with a classifier"):
        compute_coverage(MetricContext(FeatureSet(np.zeros((4, 2))), plain, real_loader=lambda: labelled))
    three = SimpleNamespace(name="three", num_classes=3)
    with pytest.raises(GanzooError, match="classifies 3 classes but the data has 10"):
        compute_coverage(MetricContext(fake, three, num_classes=10, real_loader=lambda: labelled))
    with pytest.raises(GanzooError, match="labelled reference"):
        compute_coverage(MetricContext(fake, three, real_loader=lambda: FeatureSet(np.zeros((3, 2)))))
    ctx = MetricContext(fake, three, num_classes=3, real_loader=lambda: labelled)
    values = compute_coverage(ctx)
    assert values["coverage/2"] == 0.5 and values["coverage_min"] == 0.25
    assert values["coverage_tv"] == pytest.approx(0.5 * (abs(0.25 - 1 / 3) * 2 + abs(0.5 - 1 / 3)))
    assert ctx.higher_is_better == {"coverage_min": True}
