"""Learning-rate schedules shared by several families (used through `torch.optim.lr_scheduler.LambdaLR`)."""

from __future__ import annotations


class LinearDecay:
    """The learning-rate factor of 0-based epoch e, epoch by epoch as in the CycleGAN/pix2pix reference.

    The reference counts epochs from 1 and steps its scheduler at the start of every epoch, so its
    epoch e + 1 trains at 1 - max(0, (e + 1) + 1 - constant) / (decay + 1). That is: `constant` - 1
    epochs at the full rate, then `decay` + 1 epochs at decay/(decay+1), ..., 1/(decay+1) and 0 (the
    last epoch of the recipe trains at rate 0, as in the reference). Beyond the recipe the factor stays 0.
    Picklable, so schedulers holding it can be checkpointed.
    """

    def __init__(self, constant: int, decay: int) -> None:
        self.constant = constant
        self.decay = decay

    def __call__(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 2 - self.constant) / float(self.decay + 1))
