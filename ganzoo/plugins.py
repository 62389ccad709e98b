"""Discover, load and call plugins, isolating each one's failures.

Plugins are modules named by entry points in the `ganzoo` group and are known by the name of the
distribution that ships them. Loading is lazy (the first time a command needs the registry) and one
plugin's import error, raising hook or wrong hook signature is recorded against that plugin, never
raised, unless `GANZOO_STRICT_PLUGINS=1`. "Raising" includes `sys.exit()` and any other
`BaseException` but `KeyboardInterrupt`: a plugin cannot end the command line.

Environment switches:
  GANZOO_LOAD_PLUGINS     comma-separated allow-list of plugin distributions; set but empty: none
  GANZOO_DISABLE_PLUGINS  comma-separated plugin distributions to skip
  GANZOO_STRICT_PLUGINS   "1": fail on the first plugin error (a `PluginError` naming the plugin, the
                          original exception as its cause) instead of recording it
"""

from __future__ import annotations

import difflib
import inspect
import os
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from ganzoo import hookspecs
from ganzoo.errors import GanzooError

ENTRY_POINT_GROUP = "ganzoo"
CORE_PLUGIN = "ganzoo-core"
HOOK_PREFIX = "ganzoo_"


class PluginError(GanzooError):
    """A plugin failed while GANZOO_STRICT_PLUGINS=1."""


def _isolated(exc: BaseException) -> bool:
    """Whether a plugin's exception is recorded against it: everything but the user's Ctrl-C.

    `SystemExit` (a plugin calling `sys.exit()`), `GeneratorExit` and custom `BaseException`
    subclasses count as plugin failures too; otherwise one plugin could end every command silently.
    """
    return not isinstance(exc, KeyboardInterrupt)


@dataclass
class PluginRecord:
    """What is known about one plugin: where it came from, which hooks it has and what went wrong."""

    name: str
    version: str
    module: str
    builtin: bool = False
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors and self.skipped is None

    def to_json(self, with_tracebacks: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "module": self.module,
            "builtin": self.builtin,
            "hooks": list(self.hooks),
            "errors": list(self.errors),
            "skipped": self.skipped,
        }
        if with_tracebacks:
            data["tracebacks"] = list(self.tracebacks)
        return data


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [item.strip() for item in raw.split(",") if item.strip()]


def strict_mode() -> bool:
    return os.environ.get("GANZOO_STRICT_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


def _normalise(dist_name: str) -> str:
    return dist_name.strip().lower().replace("_", "-").replace(".", "-")


class _Manager(pluggy.PluginManager):
    """A pluggy manager that also treats undecorated `ganzoo_*` functions as hook implementations."""

    def parse_hookimpl_opts(self, plugin: Any, name: str):  # type: ignore[override]
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(HOOK_PREFIX):
            method = getattr(plugin, name, None)
            if inspect.isroutine(method):
                return {}  # type: ignore[return-value]
        return opts


class Plugins:
    """The set of loaded plugins and a failure-isolating way to call their hooks."""

    def __init__(self, *, load_entry_points: bool = True, builtin: bool = True) -> None:
        self.pm = _Manager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.strict = strict_mode()
        if builtin:
            from ganzoo import builtin_plugin

            self.register(builtin_plugin, CORE_PLUGIN, _core_version(), builtin=True)
        if load_entry_points:
            self.load_entry_points()

    # -- loading -----------------------------------------------------------------------------
    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Import and register every entry point of `group`, honouring the environment switches."""
        allow = _env_list("GANZOO_LOAD_PLUGINS")
        deny = {_normalise(n) for n in (_env_list("GANZOO_DISABLE_PLUGINS") or [])}
        allowed = None if allow is None else {_normalise(n) for n in allow}
        seen: set[tuple[str, str]] = set()
        for ep in _entry_points(group):
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else ep.name
            version = dist.version if dist is not None else ""
            key = (_normalise(dist_name), ep.value)
            if key in seen:  # the same distribution visible twice on sys.path
                continue
            seen.add(key)
            name = self._unique_name(dist_name, ep.name)
            if allowed is not None and _normalise(dist_name) not in allowed:
                self.records[name] = PluginRecord(name, version, ep.value, skipped="not in GANZOO_LOAD_PLUGINS")
                continue
            if _normalise(dist_name) in deny:
                self.records[name] = PluginRecord(name, version, ep.value, skipped="in GANZOO_DISABLE_PLUGINS")
                continue
            try:
                module = ep.load()
            except BaseException as exc:
                if not _isolated(exc):
                    raise
                self._fail(PluginRecord(name, version, ep.value), f"import failed: {_one_line(exc)}", exc)
                continue
            self.register(module, name, version, module_name=ep.value)

    def _unique_name(self, dist_name: str, ep_name: str) -> str:
        if dist_name not in self.records:
            return dist_name
        return f"{dist_name}#{ep_name}"

    def register(
        self,
        plugin: ModuleType | object,
        name: str,
        version: str = "",
        *,
        builtin: bool = False,
        module_name: str | None = None,
    ) -> PluginRecord:
        """Register a plugin object (a module or any object with hook functions) under `name`."""
        module_name = module_name or getattr(plugin, "__name__", type(plugin).__name__)
        record = self.records.get(name) or PluginRecord(name, version, module_name, builtin=builtin)
        record.version = record.version or version
        self.records[name] = record
        try:
            self.pm.register(plugin, name=name)
        except BaseException as exc:
            if not _isolated(exc):
                raise
            self._fail(record, f"invalid hook: {_one_line(exc)}", exc)
            return record
        known = {n for n in dir(hookspecs) if n.startswith(HOOK_PREFIX)}
        for hook_caller in self.pm.get_hookcallers(plugin) or []:
            if hook_caller.spec is None:
                close = difflib.get_close_matches(hook_caller.name, sorted(known), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                self._fail(record, f"unknown hook {hook_caller.name!r}{hint}")
            else:
                record.hooks.append(hook_caller.name)
        if record.errors and not record.hooks:
            self.pm.unregister(plugin)
        return record

    def _fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        self.records[record.name] = record
        record.errors.append(message)
        if exc is not None:
            record.tracebacks.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        else:
            record.tracebacks.append(message + "\n")
        if self.strict:
            raise PluginError(
                f"plugin {record.name}: {message} (GANZOO_STRICT_PLUGINS=1; --debug shows the traceback)"
            ) from exc

    # -- calling -----------------------------------------------------------------------------
    def call(self, hook_name: str, expected: type | None = None) -> Iterator[tuple[str, Any]]:
        """Call `hook_name` on every plugin separately, yielding `(plugin_name, record)` pairs.

        A plugin whose hook raises, or returns something that is not a list of `expected`, is
        recorded as failing and skipped; the others still answer.
        """
        caller = getattr(self.pm.hook, hook_name)
        # pluggy calls the last registered first; reverse so the built-in plugin answers first.
        for impl in reversed(caller.get_hookimpls()):
            name = self.pm.get_name(impl.plugin) or "?"
            record = self.records.get(name)
            try:
                result = impl.function()
                items = _as_list(result, hook_name)
                if expected is not None:
                    bad = [type(item).__name__ for item in items if not isinstance(item, expected)]
                    if bad:
                        raise TypeError(
                            f"{hook_name} must return {expected.__name__} records, got {', '.join(sorted(set(bad)))}"
                        )
            except BaseException as exc:
                if record is None or not _isolated(exc):
                    raise
                self._fail(record, f"{hook_name} failed: {_one_line(exc)}", exc)
                continue
            for item in items:
                yield name, item

    # -- reporting ---------------------------------------------------------------------------
    def failing(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.errors]

    def warning_line(self) -> str | None:
        """One line naming the plugins that failed, or None."""
        bad = self.failing()
        if not bad:
            return None
        names = ", ".join(r.name for r in bad)
        noun = "plugin" if len(bad) == 1 else "plugins"
        return f"Warning: {noun} {names} failed to load; see 'ganzoo plugins' for details."


def _as_list(result: Any, hook_name: str) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, (list, tuple)):
        return list(result)
    raise TypeError(f"{hook_name} must return a list, got {type(result).__name__}")


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        text = f"called sys.exit({exc.code!r})"
    else:
        text = f"{type(exc).__name__}: {exc}".strip()
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _entry_points(group: str) -> Iterable[metadata.EntryPoint]:
    return metadata.entry_points(group=group)


def _core_version() -> str:
    from ganzoo import __version__

    return __version__
