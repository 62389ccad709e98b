"""scikit-learn's bundled digits and photos, read from its files: the same arrays, without importing it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from ganzoo.data import sklearn_files


def test_digits_are_sklearn_s_arrays() -> None:
    from sklearn.datasets import load_digits

    images, target = sklearn_files.load_digits()
    bunch = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == bunch.images.dtype
    assert np.array_equal(images, bunch.images) and np.array_equal(target, bunch.target)


def test_sample_photos_are_sklearn_s_arrays_in_its_order() -> None:
    from sklearn.datasets import load_sample_images

    images, names = sklearn_files.load_sample_images()
    bunch = load_sample_images()
    assert names == list(bunch.filenames) and len(images) == 2
    for mine, theirs in zip(images, bunch.images):
        assert mine.dtype == np.uint8 and np.array_equal(mine, theirs)


def test_the_built_in_data_load_without_importing_sklearn() -> None:
    code = ("import sys; from ganzoo.data import resolve_data; resolve_data('digits'); resolve_data('photos');"
            "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_a_missing_file_falls_back_to_sklearn(monkeypatch) -> None:
    monkeypatch.setattr(sklearn_files, "bundled", lambda relative: None)
    images, target = sklearn_files.load_digits()
    assert images.shape == (1797, 8, 8) and len(target) == 1797
    photos, names = sklearn_files.load_sample_images()
    assert len(photos) == 2 and [n.rsplit("/", 1)[-1] for n in names] == ["china.jpg", "flower.jpg"]
