"""The training engine (imports torch): the Model interface plugins implement and the Trainer.

Plugin code typically needs only:

    from ganzoo.engine import Model, GANModel, StepContext
"""

from ganzoo.engine.context import StepContext
from ganzoo.engine.gan import GANModel
from ganzoo.engine.model import Model, data_options_for

__all__ = ["GANModel", "Model", "StepContext", "data_options_for"]
