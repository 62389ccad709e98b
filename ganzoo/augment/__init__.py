"""Discriminator augmentation for every adversarial family: ADA and DiffAugment (`--augment`).

`spec` parses the option without torch; `augmentation.Augmentation` is what a run uses (through
`StepContext.augment` and `StepContext.observe_real_scores`); `ada` and `diffaugment` are the
transforms and `controller` is ADA's probability controller.
"""

from ganzoo.augment.spec import AugmentSpec, parse_augment

__all__ = ["AugmentSpec", "parse_augment"]
