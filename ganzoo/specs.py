"""Frozen records that plugins return from their registration hooks.

Every record names its heavy code by `"package.module:attr"` strings, imported only when used, so
discovery (`ganzoo list`, `ganzoo info`, `ganzoo train NAME --help`) never imports torch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

TASKS: tuple[str, ...] = ("unconditional", "conditional", "image-to-image", "style-transfer")
"""What a model does; `ganzoo list --task` filters on it."""

DATASET_KINDS: tuple[str, ...] = ("images", "labelled", "unpaired", "paired", "style")
"""What a data source yields: images, (image, label), two unpaired domains, aligned pairs, or content/style images."""

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
"""Model, data set, extractor and metric names: lower case, digits and underscores (data sets may use '-')."""

DATASET_NAME_RE = re.compile(r"^[a-z][a-z0-9_\-]*$")


def _freeze(record: Any) -> None:
    # Mapping fields become read-only views and sequences become tuples, so a record cannot be mutated.
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, Mapping) and not isinstance(value, MappingProxyType):
            object.__setattr__(record, f.name, MappingProxyType(dict(value)))
        elif isinstance(value, list):
            object.__setattr__(record, f.name, tuple(value))


@dataclass(frozen=True, eq=True)
class ModelSpec:
    """A model a plugin provides.

    `config` names a dataclass in a torch-free module; its fields become the model's CLI options.
    `factory` names `build(config, *, training: bool) -> ganzoo.engine.Model`; `None` means the name is
    registered but not implemented yet, and `ganzoo train` says so. `train_defaults` sets training
    options (run length, batch size); `data_defaults` maps a data reference to `{"model": {...},
    "train": {...}}` applied when training on that data (e.g. a small image size for the built-in
    demo data). `converters` maps a pretrained-weights format to `convert(path, checkpoint)`.
    """

    name: str
    summary: str
    task: str
    config: str
    factory: str | None = None
    default_data: str = "digits"
    aliases: tuple[str, ...] = ()
    paper: str = ""
    train_defaults: Mapping[str, Any] = field(default_factory=dict)
    data_defaults: Mapping[str, Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    converters: Mapping[str, str] = field(default_factory=dict)
    plugin: str = ""
    plugin_version: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    __hash__ = None  # type: ignore[assignment]

    @property
    def implemented(self) -> bool:
        return self.factory is not None

    def with_provider(self, plugin: str, version: str) -> ModelSpec:
        return replace(self, plugin=plugin, plugin_version=version)


@dataclass(frozen=True, eq=True)
class DatasetSpec:
    """A data source a plugin provides, selected with `--data NAME` (or `--data NAME:ARG` if `scheme`).

    `loader` names `load(ref: ganzoo.data.DataRef, options: ganzoo.data.DataOptions) -> ganzoo.data.DataSource`.
    """

    name: str
    summary: str
    kind: str
    loader: str
    scheme: bool = False
    size_bytes: int | None = None
    urls: tuple[str, ...] = ()
    sha256: str | None = None
    counts: Mapping[str, int] = field(default_factory=dict)
    license: str = ""
    plugin: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    __hash__ = None  # type: ignore[assignment]

    def with_provider(self, plugin: str, version: str = "") -> DatasetSpec:
        return replace(self, plugin=plugin)


@dataclass(frozen=True, eq=True)
class ExtractorSpec:
    """A feature extractor for metrics (FID and friends), selected with `--extractor NAME`.

    `factory` names `build(weights: str | None, device) -> ganzoo.metrics.FeatureExtractor`.
    """

    name: str
    summary: str
    factory: str
    feature_dim: int
    input_size: int
    weights_file: str = ""
    plugin: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    def with_provider(self, plugin: str, version: str = "") -> ExtractorSpec:
        return replace(self, plugin=plugin)


@dataclass(frozen=True, eq=True)
class MetricSpec:
    """A metric for `ganzoo eval --metric NAME`.

    `factory` names a callable `compute(context: ganzoo.metrics.MetricContext) -> dict[str, float]`.
    """

    name: str
    summary: str
    factory: str
    needs_labels: bool = False
    higher_is_better: bool = False
    plugin: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    def with_provider(self, plugin: str, version: str = "") -> MetricSpec:
        return replace(self, plugin=plugin)


@dataclass(frozen=True, eq=True)
class CommandSpec:
    """An extra `ganzoo NAME` sub-command; `target` names a `click.Command`."""

    name: str
    summary: str
    target: str
    plugin: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    def with_provider(self, plugin: str, version: str = "") -> CommandSpec:
        return replace(self, plugin=plugin)


def validate_model_spec(spec: ModelSpec) -> list[str]:
    """Return what is wrong with a model record (empty when it is well-formed)."""
    problems = []
    if not NAME_RE.match(spec.name):
        problems.append(f"model name {spec.name!r} must be lower case letters, digits and underscores")
    if spec.task not in TASKS:
        problems.append(f"model {spec.name!r}: task {spec.task!r} is not one of {', '.join(TASKS)}")
    if not spec.summary.strip():
        problems.append(f"model {spec.name!r}: summary is empty")
    for attr in ("config", "factory"):
        value = getattr(spec, attr)
        if value is None and attr == "factory":
            continue
        if not isinstance(value, str) or ":" not in value:
            problems.append(f"model {spec.name!r}: {attr} must be a 'package.module:attr' string")
    for alias in spec.aliases:
        if not NAME_RE.match(alias):
            problems.append(f"model {spec.name!r}: alias {alias!r} is not a valid name")
    for ref, sections in spec.data_defaults.items():
        if not isinstance(sections, Mapping) or set(sections) - {"model", "train"}:
            problems.append(f"model {spec.name!r}: data_defaults[{ref!r}] must map 'model'/'train' to options")
    for fmt, target in spec.converters.items():
        if ":" not in target:
            problems.append(f"model {spec.name!r}: converter {fmt!r} must be a 'package.module:attr' string")
    return problems
