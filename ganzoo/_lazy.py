"""Resolve `"package.module:attr"` strings to objects only when they are needed."""

from __future__ import annotations

import importlib
from typing import Any

from ganzoo.errors import GanzooError


def import_string(target: str) -> Any:
    """Import and return the object named by `"package.module:attr.sub"`."""
    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise ValueError(f"expected 'package.module:attr', got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as exc:  # sys.exit() at import: a plugin must not end the command silently
        what = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"raised {type(exc).__name__}"
        raise GanzooError(f"importing {module_name} (named by {target!r}) {what}; "
                          "the plugin that provides it is broken") from exc
    obj: Any = module
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise GanzooError(f"{module_name!r} has no attribute {attr_path!r} (named by {target!r})") from None
    return obj


def is_import_string(value: object) -> bool:
    """True when `value` looks like `"package.module:attr"`."""
    if not isinstance(value, str):
        return False
    module_name, sep, attr = value.partition(":")
    return bool(sep and module_name and attr) and all(p.isidentifier() for p in module_name.split("."))
