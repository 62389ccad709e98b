"""Metrics (FID, KID, IS, precision/recall, class consistency, intra-class FID) with a recorded protocol.

Importing this package is cheap (no torch); the names below are imported from their modules on use:

    evaluate_generator(generate, data, metrics, *, n, extractor=None, seed=0, labels_for=None) -> EvalResult
    evaluate_folder(folder, data, metrics, *, n=None, ...) -> EvalResult
    get_extractor(name, weights=None, device="cpu") -> FeatureExtractor
    frechet_distance(mu1, sigma1, mu2, sigma2) -> float
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "EvalResult": "ganzoo.metrics.protocol",
    "append_jsonl": "ganzoo.metrics.protocol",
    "read_jsonl": "ganzoo.metrics.protocol",
    "check_comparable": "ganzoo.metrics.protocol",
    "MetricContext": "ganzoo.metrics.context",
    "FeatureSet": "ganzoo.metrics.context",
    "FeatureExtractor": "ganzoo.metrics.extractors.base",
    "get_extractor": "ganzoo.metrics.extractors",
    "evaluate_generator": "ganzoo.metrics.evaluate",
    "evaluate_folder": "ganzoo.metrics.evaluate",
    "evaluate_batches": "ganzoo.metrics.evaluate",
    "frechet_distance": "ganzoo.metrics.frechet",
    "feature_stats": "ganzoo.metrics.frechet",
    "kernel_distance": "ganzoo.metrics.kid",
    "inception_score": "ganzoo.metrics.inception_score",
    "precision_recall": "ganzoo.metrics.precision_recall",
    "reference_features": "ganzoo.metrics.reference",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ganzoo.metrics' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
