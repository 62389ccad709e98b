"""What a metric's `compute(context)` receives: features of the generated and the reference images."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ganzoo.errors import GanzooError

METRIC_DEFAULTS: dict[str, Any] = {
    "kid_subsets": 100,
    "kid_subset_size": 1000,
    "is_splits": 10,
    "pr_k": 3,
    "intra_fid_min_per_class": 2,
}
"""Options every built-in metric reads from `MetricContext.options`; all of them are part of the protocol."""


@dataclass
class FeatureSet:
    """Features (N x D), classifier logits (N x K, if the extractor has a classifier) and labels (N, if known)."""

    features: np.ndarray
    logits: np.ndarray | None = None
    labels: np.ndarray | None = None
    _stats: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, covariance) of the features in float64, computed once."""
        if self._stats is None:
            from ganzoo.metrics.frechet import feature_stats

            self._stats = feature_stats(self.features)
        return self._stats

    def subset(self, mask: np.ndarray) -> FeatureSet:
        return FeatureSet(
            self.features[mask],
            None if self.logits is None else self.logits[mask],
            None if self.labels is None else self.labels[mask],
        )


@dataclass
class MetricContext:
    """Everything a metric may use. `real` is computed (or read from the cache) on first access."""

    fake: FeatureSet
    extractor: Any
    num_classes: int | None = None
    seed: int = 0
    options: Mapping[str, Any] = field(default_factory=lambda: dict(METRIC_DEFAULTS))
    real_loader: Callable[[], FeatureSet] | None = None
    used: dict[str, Any] = field(default_factory=dict)
    """Options a metric had to change (e.g. KID's subset size on small samples): stamped instead of the asked value."""
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    """Value name -> direction, for values whose direction differs from their metric's record."""
    _real: FeatureSet | None = field(default=None, repr=False)

    @property
    def real(self) -> FeatureSet:
        """Features of the reference images (the data set split named in the protocol)."""
        if self._real is None:
            if self.real_loader is None:
                raise GanzooError("this metric needs reference images; pass --data")
            self._real = self.real_loader()
        return self._real

    def option(self, name: str) -> Any:
        return self.options.get(name, METRIC_DEFAULTS.get(name))

    def use_option(self, name: str, value: Any) -> None:
        """Record the value of option `name` actually used, when it differs from the one asked for."""
        self.used[name] = value

    def require_labels(self, metric: str) -> np.ndarray:
        """The generated images' class labels, or a one-line error saying the metric needs them."""
        if self.fake.labels is None:
            raise GanzooError(
                f"metric {metric!r} needs class labels of the generated images: evaluate a conditional model "
                "(or a folder with one sub-folder per class)"
            )
        return self.fake.labels
