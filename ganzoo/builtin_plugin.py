"""The core's own plugin: the built-in data sources, feature extractors and metrics.

Registered like any other plugin (under the name `ganzoo-core`), so third parties see exactly how
their records sit beside the built-in ones.
"""

from __future__ import annotations

from ganzoo.hookspecs import hookimpl
from ganzoo.specs import DatasetSpec, ExtractorSpec, MetricSpec


@hookimpl
def ganzoo_register_datasets() -> list[DatasetSpec]:
    from ganzoo.data.catalog import builtin_datasets

    return builtin_datasets()


@hookimpl
def ganzoo_register_extractors() -> list[ExtractorSpec]:
    from ganzoo.metrics.catalog import builtin_extractors

    return builtin_extractors()


@hookimpl
def ganzoo_register_metrics() -> list[MetricSpec]:
    from ganzoo.metrics.catalog import builtin_metrics

    return builtin_metrics()
