"""The built-in feature extractors and metrics, as records (torch-free)."""

from __future__ import annotations

from ganzoo.specs import ExtractorSpec, MetricSpec


def builtin_extractors() -> list[ExtractorSpec]:
    return []


def builtin_metrics() -> list[MetricSpec]:
    return []
