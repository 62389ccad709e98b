"""Learning-rate schedules shared by several families (used through `torch.optim.lr_scheduler.LambdaLR`)."""

from __future__ import annotations


class LinearDecay:
    """The learning-rate factor of 0-based epoch e: 1 for `constant` epochs, then linearly down.

    factor(e) = 1 - max(0, e + 1 - constant) / (decay + 1): epochs 0 .. constant-1 run at the full
    rate, the following `decay` epochs at decay/(decay+1), ..., 1/(decay+1) of it: the "linear"
    policy of the CycleGAN/pix2pix reference implementation with its epochs counted from 1.
    Picklable, so schedulers holding it can be checkpointed.
    """

    def __init__(self, constant: int, decay: int) -> None:
        self.constant = constant
        self.decay = decay

    def __call__(self, epoch: int) -> float:
        return 1.0 - max(0, epoch + 1 - self.constant) / float(self.decay + 1)
