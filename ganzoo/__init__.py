"""ganzoo: a plugin-based model zoo for generative image models.

Importing this package is cheap: it never imports torch. The training engine, data, losses and
metrics live in submodules that import torch when they are used.
"""

from __future__ import annotations

__all__ = ["__version__", "hookimpl"]

__version__ = "0.1.0"


def __getattr__(name: str):
    # `ganzoo.hookimpl` is the marker plugins decorate their hooks with; pluggy is light to import.
    if name == "hookimpl":
        from ganzoo.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
