"""The built-in data sources, as records (torch-free)."""

from __future__ import annotations

from ganzoo.specs import DatasetSpec


def builtin_datasets() -> list[DatasetSpec]:
    """Every data source the core provides."""
    return [
        DatasetSpec("digits", "scikit-learn's 1797 handwritten digits (8x8, 10 classes), upsampled; no download.",
                    "labelled", "ganzoo.data.builtin:load_digits"),
    ]
