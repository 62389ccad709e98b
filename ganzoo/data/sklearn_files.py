"""scikit-learn's bundled data (the digits, the two sample photos), read from its files without importing it.

Importing scikit-learn costs about a second of start-up (it pulls in SciPy); the files it ships are a
gzip'd CSV and two JPEGs, read here the same way `sklearn.datasets` reads them, so the arrays are
identical. Where the files cannot be found (an unusual install), scikit-learn itself loads them.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path

import numpy as np

DIGITS_FILE = "datasets/data/digits.csv.gz"
IMAGES_FOLDER = "datasets/images"


def bundled(relative: str) -> Path | None:
    """The path of a file or folder inside the installed scikit-learn package (None: not found)."""
    try:
        spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for root in spec.submodule_search_locations or []:
        path = Path(root) / relative
        if path.exists():
            return path
    return None


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """`sklearn.datasets.load_digits()`'s `images` (1797 x 8 x 8 float64, 0..16) and `target` (int)."""
    path = bundled(DIGITS_FILE)
    if path is None:
        from sklearn.datasets import load_digits as sklearn_load_digits

        bunch = sklearn_load_digits()
        return bunch.images, bunch.target
    with gzip.open(path, mode="rt", encoding="utf-8") as file:
        data = np.loadtxt(file, delimiter=",")
    return data[:, :-1].reshape(-1, 8, 8), data[:, -1].astype(int)


def load_sample_images() -> tuple[list[np.ndarray], list[str]]:
    """`sklearn.datasets.load_sample_images()`'s `images` (H x W x 3 uint8) and `filenames`, in its order."""
    folder = bundled(IMAGES_FOLDER)
    paths = sorted(folder.glob("*.jpg")) if folder is not None and folder.is_dir() else []
    if not paths:
        from sklearn.datasets import load_sample_images as sklearn_load_sample_images

        bunch = sklearn_load_sample_images()
        return list(bunch.images), list(bunch.filenames)
    from PIL import Image

    images = []
    for path in paths:
        with path.open("rb") as file:
            images.append(np.asarray(Image.open(file)))
    return images, [str(p) for p in paths]
