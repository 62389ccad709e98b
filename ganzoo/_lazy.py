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
    module = importlib.import_module(module_name)
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
