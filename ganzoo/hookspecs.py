"""The hooks a ganzoo plugin can implement.

A plugin is a module named by an entry point in the `ganzoo` group. It implements any of the hooks
below as plain functions (decorating them with `ganzoo.hookimpl` is optional but recommended). Every
hook takes no arguments and returns a list of frozen records from `ganzoo.specs`; none of them may
import torch: records name heavy code by `"package.module:attr"` strings.

All hooks are called once per process, the first time the registry is needed. A hook that raises or
returns something else than a list of the right records is reported against its plugin (see
`ganzoo plugins`) and ignored; it never breaks the command line.
"""

from __future__ import annotations

import pluggy

from ganzoo.specs import CommandSpec, DatasetSpec, ExtractorSpec, MetricSpec, ModelSpec

PROJECT = "ganzoo"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def ganzoo_register_models() -> list[ModelSpec]:
    """Return the models this plugin provides (`ganzoo list`, `ganzoo train NAME`).

    Called when any command needs the model registry. Each `ModelSpec` names its typed config
    dataclass and its factory by import strings; the model's name must not be claimed by another
    plugin (a collision is an error naming both, resolvable with `plugin:model`).
    """


@hookspec
def ganzoo_register_datasets() -> list[DatasetSpec]:
    """Return the data sources this plugin provides (`--data NAME`, `ganzoo data list`).

    Called when a `--data` reference is resolved or data sets are listed. A spec with `scheme=True`
    also handles references of the form `NAME:ARGUMENT`.
    """


@hookspec
def ganzoo_register_extractors() -> list[ExtractorSpec]:
    """Return the feature extractors this plugin provides for metrics (`--extractor NAME`).

    Called when metrics are computed or extractors are listed.
    """


@hookspec
def ganzoo_register_metrics() -> list[MetricSpec]:
    """Return the metrics this plugin provides (`ganzoo eval --metric NAME`).

    Called when metrics are computed or listed.
    """


@hookspec
def ganzoo_register_commands() -> list[CommandSpec]:
    """Return extra top-level sub-commands (`ganzoo NAME ...`) this plugin provides.

    Called when the command line looks up a sub-command it does not know; the `click.Command`
    named by each spec is imported only when that sub-command runs or its help is shown.
    """
