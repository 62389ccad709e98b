"""`check_plugin`: the registration-level check of a whole plugin module (every hook, every record).

`check_model_spec` checks one model deeply; `check_plugin` checks everything a plugin registers:
the entry-point module imports without torch, registers without errors, its hooks return
well-formed records that collide with nothing, and every `"package.module:attr"` string in them
names an importable object of the right kind.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ganzoo.plugins import HOOK_PREFIX
from ganzoo.specs import CommandSpec, DatasetSpec, ExtractorSpec, MetricSpec, ModelSpec

HOOK_RECORDS: dict[str, type] = {
    "ganzoo_register_models": ModelSpec,
    "ganzoo_register_datasets": DatasetSpec,
    "ganzoo_register_extractors": ExtractorSpec,
    "ganzoo_register_metrics": MetricSpec,
    "ganzoo_register_commands": CommandSpec,
}
"""The record type each registration hook returns."""


@dataclass
class PluginReport:
    """What `check_plugin` found: the plugin's name, the hooks it implements and the records of each."""

    name: str
    hooks: list[str]
    records: dict[str, list[Any]] = field(default_factory=dict)

    def names(self, hook: str) -> list[str]:
        """Names of the records one hook returned."""
        return [r.name for r in self.records.get(hook, [])]


def _targets(record: Any) -> list[tuple[str, str]]:
    """(what, "package.module:attr") pairs a record names."""
    if isinstance(record, ModelSpec):
        out = [("config", record.config)]
        if record.factory is not None:
            out.append(("factory", record.factory))
        out += [(f"converter {fmt!r}", target) for fmt, target in record.converters.items()]
        return out
    if isinstance(record, DatasetSpec):
        return [("loader", record.loader)]
    if isinstance(record, (ExtractorSpec, MetricSpec)):
        return [("factory", record.factory)]
    if isinstance(record, CommandSpec):
        return [("target", record.target)]
    return []


def _target_problem(record: Any, what: str, target: str) -> str | None:
    from ganzoo._lazy import import_string

    label = f"{type(record).__name__} {record.name!r}: {what} {target!r}"
    try:
        obj = import_string(target)
    except Exception as exc:
        return f"{label} cannot be imported ({type(exc).__name__}: {exc})"
    if what == "config" and not dataclasses.is_dataclass(obj):
        return f"{label} is not a dataclass"
    if what == "target":
        import click

        if not isinstance(obj, click.Command):
            return f"{label} is not a click.Command"
    elif what != "config" and not callable(obj):
        return f"{label} is not callable"
    return None


def check_plugin(plugin: str | ModuleType | object, *, name: str | None = None,
                 import_targets: bool = True) -> PluginReport:
    """Assert that a plugin registers cleanly; return what it registered.

    `plugin` is the entry-point module's import name (then its import is also checked to stay
    torch-free, in a fresh interpreter) or the module/object itself. The plugin is registered in an
    isolated registry beside the core under `name` (default: the module name). Checks: no load or
    hook errors, no unknown `ganzoo_*` hook, every hook returns records of its type, names are
    valid and collide with nothing, and (with `import_targets`) every import string names an
    importable object: a dataclass for `ModelSpec.config`, a `click.Command` for
    `CommandSpec.target`, a callable otherwise.
    """
    from ganzoo.testing.kit import _torch_free, isolated_registry

    problems: list[str] = []
    if isinstance(plugin, str):
        issue = _torch_free(plugin)
        if issue:
            problems.append(issue)
        module: Any = importlib.import_module(plugin)
    else:
        module = plugin
    label = name or getattr(module, "__name__", type(module).__name__)
    hooks = sorted(n for n in dir(module) if n.startswith(HOOK_PREFIX) and callable(getattr(module, n)))
    report = PluginReport(label, hooks)
    with isolated_registry((label, module)) as registry:
        record = registry.plugins.records[label]
        problems += record.errors
        problems += [p for p in registry.problems if label in p]
        for hook in hooks:
            expected = HOOK_RECORDS.get(hook)
            if expected is None:
                continue  # reported by the registration as an unknown hook
            try:
                items = list(getattr(module, hook)() or [])
            except Exception as exc:  # already recorded by the registry; keep the report complete
                problems.append(f"{hook} raised {type(exc).__name__}: {exc}")
                continue
            report.records[hook] = items
            if import_targets:
                for item in items:
                    if isinstance(item, expected):
                        for what, target in _targets(item):
                            issue = _target_problem(item, what, target)
                            if issue:
                                problems.append(issue)
    if problems:
        unique = list(dict.fromkeys(problems))
        raise AssertionError(f"plugin {label} breaks the plugin contract:\n- " + "\n- ".join(unique))
    return report
