"""Look up models, data sets, extractors, metrics and commands by name.

The registry merges what installed plugins register with the curated catalogue (`registry.yaml`).
Rules: a name the catalogue lists belongs to the plugin it lists; two plugins claiming one name is an
error naming both (never a silent overwrite); `plugin:name` always resolves exactly.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ganzoo import catalogue as catalogue_mod
from ganzoo.errors import NameCollisionError, NotInstalledError, UnknownNameError
from ganzoo.plugins import Plugins
from ganzoo.specs import (
    CommandSpec,
    DatasetSpec,
    ExtractorSpec,
    MetricSpec,
    ModelSpec,
    validate_model_spec,
)

T = TypeVar("T")


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to its spec and, for `name.tag`, a catalogue checkpoint tag."""

    spec: ModelSpec
    tag: str | None = None
    checkpoint: catalogue_mod.CatalogueCheckpoint | None = None


class NameTable(Generic[T]):
    """Records of one kind by name and alias, remembering every claimant to report collisions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.claims: dict[str, list[T]] = {}
        self.problems: list[str] = []

    def add(self, name: str, record: T, plugin: str) -> None:
        self.claims.setdefault(name, []).append(record)

    def owner_filter(self, owners: dict[str, str]) -> None:
        """Drop claims on names the catalogue gives to another plugin, recording a problem."""
        for name, records in list(self.claims.items()):
            owner = owners.get(name)
            if owner is None:
                continue
            keep = [r for r in records if _plugin_of(r) == owner]
            for r in records:
                if _plugin_of(r) != owner:
                    self.problems.append(
                        f"plugin {_plugin_of(r)} registers {self.kind} {name!r}, which the catalogue gives to "
                        f"{owner}; it is reachable only as '{_plugin_of(r)}:{_name_of(r)}'"
                    )
            if keep:
                self.claims[name] = keep
            else:
                del self.claims[name]

    def names(self) -> list[str]:
        return sorted(self.claims)

    def collisions(self) -> dict[str, list[str]]:
        return {
            name: sorted({_plugin_of(r) for r in records})
            for name, records in self.claims.items()
            if len({id(r) for r in records}) > 1
        }

    def get(self, name: str) -> T:
        records = self.claims[name]
        distinct = {id(r): r for r in records}
        if len(distinct) > 1:
            plugins = sorted({_plugin_of(r) for r in distinct.values()})
            raise NameCollisionError(
                f"{self.kind} {name!r} is provided by both {' and '.join(plugins)}; "
                f"use '{plugins[0]}:{name}' or disable one with GANZOO_DISABLE_PLUGINS"
            )
        return next(iter(distinct.values()))


def _plugin_of(record: Any) -> str:
    return getattr(record, "plugin", "") or "?"


def _name_of(record: Any) -> str:
    return getattr(record, "name", "?")


def suggest(name: str, candidates: Iterable[str]) -> str:
    """' Did you mean: a, b?' for close matches, or ''."""
    by_lower: dict[str, str] = {}
    for candidate in sorted(set(candidates)):
        by_lower.setdefault(candidate.lower(), candidate)
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return f" Did you mean: {', '.join(by_lower[c] for c in close)}?" if close else ""


class Registry:
    """Every record the installed plugins register, merged with the catalogue."""

    def __init__(self, plugins: Plugins | None = None, catalogue: catalogue_mod.Catalogue | None = None) -> None:
        self.plugins = plugins if plugins is not None else Plugins()
        self.catalogue = catalogue if catalogue is not None else catalogue_mod.load()
        self.problems: list[str] = []
        self._all_models: list[ModelSpec] = []
        self.models = NameTable[ModelSpec]("model")
        self.datasets = NameTable[DatasetSpec]("data set")
        self.extractors = NameTable[ExtractorSpec]("extractor")
        self.metrics = NameTable[MetricSpec]("metric")
        self.commands = NameTable[CommandSpec]("command")
        self._collect()

    # -- collection ---------------------------------------------------------------------------
    def _collect(self) -> None:
        versions = {name: rec.version for name, rec in self.plugins.records.items()}
        for plugin, spec in self.plugins.call("ganzoo_register_models", ModelSpec):
            spec = spec.with_provider(plugin, versions.get(plugin, ""))
            bad = validate_model_spec(spec)
            if bad:
                self._plugin_problem(plugin, "; ".join(bad))
                continue
            self._all_models.append(spec)
            self.models.add(spec.name, spec, plugin)
            for alias in spec.aliases:
                self.models.add(alias, spec, plugin)
        owners: dict[str, str] = {}
        for entry in self.catalogue.models.values():
            for name in (entry.name, *entry.aliases):
                owners[name] = entry.plugin
        self.models.owner_filter(owners)
        for hook, table, kind in (
            ("ganzoo_register_datasets", self.datasets, DatasetSpec),
            ("ganzoo_register_extractors", self.extractors, ExtractorSpec),
            ("ganzoo_register_metrics", self.metrics, MetricSpec),
            ("ganzoo_register_commands", self.commands, CommandSpec),
        ):
            for plugin, record in self.plugins.call(hook, kind):
                table.add(record.name, record.with_provider(plugin), plugin)
        for table in (self.models, self.datasets, self.extractors, self.metrics, self.commands):
            self.problems.extend(table.problems)
            for name, plugins in table.collisions().items():
                self.problems.append(f"{table.kind} {name!r} is provided by both {' and '.join(plugins)}")

    def _plugin_problem(self, plugin: str, message: str) -> None:
        record = self.plugins.records.get(plugin)
        if record is not None:
            record.errors.append(message)
            record.tracebacks.append(message + "\n")

    # -- models -------------------------------------------------------------------------------
    def model_specs(self) -> list[ModelSpec]:
        """One spec per installed model (collided names appear once per provider)."""
        seen: dict[tuple[str, str], ModelSpec] = {}
        for records in self.models.claims.values():
            for spec in records:
                seen[(spec.plugin, spec.name)] = spec
        return sorted(seen.values(), key=lambda s: (s.name, s.plugin))

    def resolve_model(self, ref: str) -> ResolvedModel:
        """Resolve `name`, `alias`, `name.tag` or `plugin:name[.tag]` to an installed model.

        Names are lower case; `DCGAN` finds `dcgan` when no name matches it exactly.
        """
        ref = ref.strip()
        if ref != ref.lower():
            try:
                return self._resolve_model(ref)
            except UnknownNameError as exact:
                try:
                    return self._resolve_model(ref.lower())
                except UnknownNameError:
                    raise exact from None
        return self._resolve_model(ref)

    def _resolve_model(self, ref: str) -> ResolvedModel:
        if ":" in ref:
            plugin, _, rest = ref.partition(":")
            base, tag = self._split_tag(rest, lambda n: any(s.plugin == plugin and (s.name == n or n in s.aliases)
                                                            for s in self._all_models))
            for spec in self._all_models:
                if spec.plugin == plugin and (spec.name == base or base in spec.aliases):
                    return self._with_tag(ResolvedModel(spec, tag))
            raise UnknownNameError(f"plugin {plugin!r} provides no model {base!r}." + suggest(
                base, [s.name for s in self._all_models if s.plugin == plugin]))
        base, tag = self._split_tag(ref, lambda n: n in self.models.claims or self.catalogue.owner_of(n) is not None)
        if base in self.models.claims:
            return self._with_tag(ResolvedModel(self.models.get(base), tag))
        owner = self.catalogue.owner_of(base)
        if owner is not None:
            raise NotInstalledError(
                f"model {base!r} is provided by the plugin {owner.plugin}, which is not installed; "
                f"install it with: {owner.install_line}"
            )
        candidates = list(self.models.claims) + list(self.catalogue.models)
        raise UnknownNameError(f"unknown model {ref!r}." + suggest(base, candidates) + " See 'ganzoo list'.")

    @staticmethod
    def _split_tag(ref: str, known) -> tuple[str, str | None]:
        if known(ref) or "." not in ref:
            return ref, None
        base, _, tag = ref.partition(".")
        return base, tag

    def _with_tag(self, resolved: ResolvedModel) -> ResolvedModel:
        if resolved.tag is None:
            return resolved
        entry = self.catalogue.models.get(resolved.spec.name)
        tags = list(entry.checkpoints) if entry else []
        if resolved.tag not in tags:
            known = f" Known tags: {', '.join(tags)}." if tags else " It has no pretrained checkpoints."
            raise UnknownNameError(
                f"model {resolved.spec.name!r} has no checkpoint tag {resolved.tag!r}."
                + suggest(resolved.tag, tags) + known
            )
        return ResolvedModel(resolved.spec, resolved.tag, entry.checkpoints[resolved.tag])

    # -- other records ------------------------------------------------------------------------
    def dataset(self, name: str) -> DatasetSpec:
        return self._lookup(self.datasets, name, "ganzoo data list")

    def extractor(self, name: str) -> ExtractorSpec:
        return self._lookup(self.extractors, name, "ganzoo eval --help")

    def metric(self, name: str) -> MetricSpec:
        return self._lookup(self.metrics, name, "ganzoo eval --help")

    def command(self, name: str) -> CommandSpec | None:
        if name not in self.commands.claims:
            return None
        return self.commands.get(name)

    def _lookup(self, table: NameTable[T], name: str, see: str) -> T:
        if ":" in name:
            plugin, _, base = name.partition(":")
            for records in table.claims.values():
                for record in records:
                    if _plugin_of(record) == plugin and _name_of(record) == base:
                        return record
            raise UnknownNameError(f"plugin {plugin!r} provides no {table.kind} {base!r}.")
        if name not in table.claims:
            raise UnknownNameError(f"unknown {table.kind} {name!r}." + suggest(name, table.claims) + f" See '{see}'.")
        return table.get(name)

    def list_models(
        self, pattern: str | None = None, task: str | None = None, pretrained: bool = False
    ) -> list[ModelSpec]:
        """Installed models matching a glob `pattern` (on name or alias, any case), a task, and having weights."""
        out = []
        pattern = pattern.lower() if pattern else pattern
        for spec in self.model_specs():
            names = [n.lower() for n in (spec.name, *spec.aliases)]
            if pattern and not any(fnmatch.fnmatchcase(n, pattern) or pattern in n for n in names):
                continue
            if task and spec.task != task:
                continue
            if pretrained and not self.checkpoint_tags(spec.name):
                continue
            out.append(spec)
        return out

    def checkpoint_tags(self, model: str) -> list[str]:
        entry = self.catalogue.models.get(model)
        return list(entry.checkpoints) if entry else []


_REGISTRY: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = Registry()
    return _REGISTRY


def set_registry(registry: Registry | None) -> Registry | None:
    """Replace the process-wide registry (tests); returns the previous one."""
    global _REGISTRY
    previous, _REGISTRY = _REGISTRY, registry
    return previous
