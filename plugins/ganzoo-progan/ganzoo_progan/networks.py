"""ProGAN's generator and discriminator (Karras et al. 2018, table 2), every resolution built up front.

Both networks hold the layers of every resolution from 4x4 to the final size from the start, so
the parameter set never changes while they grow: optimizers, the generator's EMA copy and
checkpoints see the same tensors at every stage. Which layers run is chosen per call by `stage`
(resolution `4 * 2**stage`) and `alpha` (the fade-in weight of the newest resolution).

The generator keeps the stage and alpha it was last run at as buffers, so its weights (and their
EMA copy, whose buffers follow the raw network) carry the resolution a checkpoint reached.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganzoo_progan.layers import (
    LEAK,
    SQRT2,
    EqualizedConv2d,
    EqualizedLinear,
    downscale2d,
    lrelu,
    minibatch_stddev,
    pixel_norm,
    upscale2d,
)
from ganzoo_progan.schedule import num_stages


def stage_widths(image_size: int, fmap_base: int = 8192, fmap_max: int = 512,
                 widths: Sequence[int] | None = None) -> list[int]:
    """Feature maps at 4x4, 8x8, ..., `image_size`: min(2 * fmap_base / r, fmap_max), or `widths` given."""
    n = num_stages(image_size)
    if widths:
        if len(widths) < n or any(int(w) < 1 for w in widths[:n]):
            raise ValueError(f"widths must give {n} positive feature-map counts (4x4 to {image_size}x{image_size})")
        return [int(w) for w in widths[:n]]
    return [max(1, min(int(fmap_base / 2 ** (s + 1)), fmap_max)) for s in range(n)]


def hidden_width(fmap_base: int = 8192, fmap_max: int = 512, widths: Sequence[int] | None = None) -> int:
    """Width of the discriminator's penultimate dense layer (the official code's nf(0))."""
    if widths:
        return int(widths[0])
    return max(1, min(int(fmap_base), fmap_max))


class _Block(nn.Module):
    """Two 3x3 convolutions."""

    def __init__(self, c_in: int, c_mid: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = EqualizedConv2d(c_in, c_mid, 3)
        self.conv2 = EqualizedConv2d(c_mid, c_out, 3)


OUTPUTS = ("linear", "tanh")


class Generator(nn.Module):
    """z (N x latent) -> images N x channels x r x r at the resolution r of `stage`.

    The output is linear as in the paper, or `output="tanh"` (applied after the fade-in blend, as in
    pytorch_GAN_zoo's generators trained with their DCGAN or MSE loss); `slope` is the leaky ReLUs'.
    """

    def __init__(self, latent_dim: int, widths: Sequence[int], channels: int, *, slope: float = LEAK,
                 output: str = "linear") -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")
        self.latent_dim = latent_dim
        self.widths = list(widths)
        self.channels = channels
        self.slope = float(slope)
        self.output = output
        w0 = self.widths[0]
        # Latent to 4x4: a dense layer (gain sqrt(2)/4 as in the official code), one bias per output unit.
        self.input = EqualizedLinear(latent_dim, w0 * 16, gain=SQRT2 / 4)
        self.conv4 = EqualizedConv2d(w0, w0, 3)
        self.blocks = nn.ModuleList(
            _Block(c_prev, c, c) for c_prev, c in zip(self.widths[:-1], self.widths[1:])
        )
        self.to_rgb = nn.ModuleList(EqualizedConv2d(c, channels, 1, gain=1.0) for c in self.widths)
        self.register_buffer("stage", torch.zeros((), dtype=torch.int64))
        self.register_buffer("alpha", torch.ones((), dtype=torch.float32))

    @property
    def stages(self) -> int:
        return len(self.widths)

    @property
    def resolution(self) -> int:
        """The resolution of the stage held in the buffers (the one reached in training)."""
        return 4 * 2 ** int(self.stage)

    def set_position(self, stage: int, alpha: float) -> None:
        """Store the stage and fade-in weight the generator runs at by default."""
        if not 0 <= stage < self.stages:
            raise ValueError(f"stage {stage} is outside 0..{self.stages - 1}")
        self.stage.fill_(stage)
        self.alpha.fill_(alpha)

    def features(self, z: torch.Tensor, stage: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Feature maps at `stage` and at the stage below (None at 4x4)."""
        slope = self.slope
        x = pixel_norm(z.reshape(z.shape[0], -1))
        x = lrelu(self.input(x), slope).reshape(z.shape[0], self.widths[0], 4, 4)
        x = pixel_norm(x)
        x = pixel_norm(lrelu(self.conv4(x), slope))
        previous = None
        for block in self.blocks[:stage]:
            previous = x
            x = upscale2d(x)
            x = pixel_norm(lrelu(block.conv1(x), slope))
            x = pixel_norm(lrelu(block.conv2(x), slope))
        return x, previous

    def forward(self, z: torch.Tensor, stage: int | None = None, alpha: float | None = None) -> torch.Tensor:
        stage = int(self.stage) if stage is None else int(stage)
        alpha = float(self.alpha) if alpha is None else float(alpha)
        x, previous = self.features(z, stage)
        out = self.to_rgb[stage](x)
        if stage > 0 and alpha < 1.0:
            low = upscale2d(self.to_rgb[stage - 1](previous))
            out = low + alpha * (out - low)
        return torch.tanh(out) if self.output == "tanh" else out


class Discriminator(nn.Module):
    """Images N x channels x r x r at the resolution r of `stage` -> raw critic scores N."""

    def __init__(self, widths: Sequence[int], channels: int, hidden: int, mbstd_group: int = 4, *,
                 slope: float = LEAK) -> None:
        super().__init__()
        self.slope = float(slope)
        self.widths = list(widths)
        self.channels = channels
        self.mbstd_group = mbstd_group
        w0 = self.widths[0]
        self.from_rgb = nn.ModuleList(EqualizedConv2d(channels, c, 1) for c in self.widths)
        # blocks[s - 1] takes stage s (width w_s) down to stage s - 1 (width w_{s-1}).
        self.blocks = nn.ModuleList(
            _Block(c, c, c_prev) for c_prev, c in zip(self.widths[:-1], self.widths[1:])
        )
        extra = 1 if mbstd_group > 1 else 0
        self.conv4 = EqualizedConv2d(w0 + extra, w0, 3)
        self.dense = EqualizedLinear(w0 * 16, hidden)
        self.out = EqualizedLinear(hidden, 1, gain=1.0)

    def forward(self, images: torch.Tensor, stage: int, alpha: float = 1.0) -> torch.Tensor:
        expected = 4 * 2 ** stage
        if images.shape[-1] != expected or images.shape[-2] != expected:
            raise ValueError(f"the discriminator at stage {stage} takes {expected}x{expected} images, "
                             f"got {tuple(images.shape[-2:])}")
        x = lrelu(self.from_rgb[stage](images), self.slope)
        for s in range(stage, 0, -1):
            block = self.blocks[s - 1]
            x = lrelu(block.conv1(x), self.slope)
            x = downscale2d(lrelu(block.conv2(x), self.slope))
            if s == stage and alpha < 1.0:
                low = lrelu(self.from_rgb[s - 1](downscale2d(images)), self.slope)
                x = low + alpha * (x - low)
        if self.mbstd_group > 1:
            x = minibatch_stddev(x, self.mbstd_group)
        x = lrelu(self.conv4(x), self.slope)
        x = lrelu(self.dense(x.flatten(1)), self.slope)
        return self.out(x).reshape(-1)
