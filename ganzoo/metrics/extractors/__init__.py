"""Feature extractors for metrics, looked up by name (`inception-fid`, `digits`, `timm:NAME`, plugins').

Importing this package does not import torch; building an extractor does.
"""

from __future__ import annotations

import os
from typing import Any

TIMM_PREFIX = "timm:"
"""`--extractor timm:MODEL` selects any timm model's pooled features."""

_BUILT: dict[tuple[str, str, str], Any] = {}


def get_extractor(name: str, weights: str | os.PathLike[str] | None = None, device: Any = "cpu") -> Any:
    """The `FeatureExtractor` registered as `name` (or `timm:MODEL`), built once per process.

    `weights` overrides where the extractor's weights come from; the extractor refuses (one line)
    rather than substitute another network when it cannot find them.
    """
    weights_key = str(os.path.abspath(os.path.expanduser(os.fspath(weights)))) if weights else ""
    key = (name, weights_key, str(device))
    if key not in _BUILT:
        if name.startswith(TIMM_PREFIX):
            from ganzoo.metrics.extractors.timm_ext import build_named

            extractor = build_named(name, weights_key or None, device)
        else:
            from ganzoo._lazy import import_string
            from ganzoo.registry import get_registry

            spec = get_registry().extractor(name)
            extractor = import_string(spec.factory)(weights_key or None, device)
            if not getattr(extractor, "name", None):
                extractor.name = spec.name
        _BUILT[key] = extractor
    return _BUILT[key]


def clear_cache() -> None:
    """Forget extractors built in this process (tests)."""
    _BUILT.clear()
