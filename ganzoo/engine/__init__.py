"""The training engine (imports torch): the Model interface plugins implement and the Trainer.

Plugin code typically needs only:

    from ganzoo.engine import Model, GANModel, StepContext

The names are imported on first use, so the torch-free modules of this package (`header`, `peek`)
can be read without importing torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganzoo.engine.context import StepContext
    from ganzoo.engine.gan import GANModel
    from ganzoo.engine.model import Model, data_options_for

_EXPORTS = {
    "StepContext": "ganzoo.engine.context",
    "GANModel": "ganzoo.engine.gan",
    "Model": "ganzoo.engine.model",
    "data_options_for": "ganzoo.engine.model",
}

__all__ = ["GANModel", "Model", "StepContext", "data_options_for"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
