"""Low-level operations of StyleGAN2: FIR resampling, bias + activation with gain and clamp, modulated convolution.

The numerics follow the StyleGAN2-ADA paper and the published reference implementation's conventions
(facts only): the resampling filter is the outer product of [1, 3, 3, 1] normalised to sum 1; upsampling
inserts zeros and multiplies the filter by up**2; convolutions that upsample are computed as strided
transposed convolutions (a true convolution), the others as correlations; leaky ReLU has slope 0.2 and
a gain of sqrt(2); the clamp is applied after the gain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
LRELU_SLOPE = 0.2
DEFAULT_GAIN = {"linear": 1.0, "lrelu": SQRT2}


def fir_kernel(taps: Sequence[float] = (1, 3, 3, 1)) -> torch.Tensor:
    """The 2-D low-pass filter of separable `taps`, normalised to sum 1."""
    f = torch.as_tensor(list(taps), dtype=torch.float32)
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, *, up: int = 1, down: int = 1,
              pad: tuple[int, int, int, int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Upsample by zero insertion, pad (x0, x1, y0, y1; negative crops), filter with `f` * gain, keep every down-th."""
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = pad
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    kernel = (f * gain).to(x.dtype).flip([0, 1])
    kernel = kernel[None, None].repeat(c, 1, 1, 1)
    x = F.conv2d(x, kernel, groups=c)
    if down > 1:
        x = x[:, :, ::down, ::down]
    return x


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Double the resolution (zero insertion + FIR), keeping the mean."""
    fw = f.shape[-1]
    p0, p1 = (fw + up - 1) // 2, (fw - up) // 2
    return upfirdn2d(x, f, up=up, pad=(p0, p1, p0, p1), gain=up * up)


def conv2d_resample(x: torch.Tensor, w: torch.Tensor, f: torch.Tensor | None, *, up: int = 1, down: int = 1,
                    padding: int = 0) -> torch.Tensor:
    """Convolution with weights `w` and optional 2x up- or downsampling through the FIR filter `f`."""
    k = w.shape[-1]
    if up == 1 and down == 1:
        return F.conv2d(x, w, padding=padding)
    assert f is not None and not (up > 1 and down > 1)
    fw = f.shape[-1]
    if down > 1:
        p0 = padding + (fw - down + 1) // 2
        p1 = padding + (fw - down) // 2
        if k == 1:
            x = upfirdn2d(x, f, down=down, pad=(p0, p1, p0, p1))
            return F.conv2d(x, w)
        x = upfirdn2d(x, f, pad=(p0, p1, p0, p1))
        return F.conv2d(x, w, stride=down)
    p0 = padding + (fw + up - 1) // 2 - (k - 1)
    p1 = padding + (fw - up) // 2 - (k - up)
    t = max(min(-p0, -p1), 0)
    x = F.conv_transpose2d(x, w.transpose(0, 1), stride=up, padding=t)
    return upfirdn2d(x, f, pad=(p0 + t, p1 + t, p0 + t, p1 + t), gain=up * up)


def bias_act(x: torch.Tensor, b: torch.Tensor | None, act: str = "linear", gain: float | None = None,
             clamp: float | None = None) -> torch.Tensor:
    """x + b (broadcast over dimension 1), then the activation, then * gain, then clamp to [-clamp, clamp]."""
    if b is not None:
        x = x + b.to(x.dtype).reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, LRELU_SLOPE)
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    gain = DEFAULT_GAIN[act] if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row to unit mean square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, noise: torch.Tensor | None = None,
                     up: int = 1, padding: int = 0, f: torch.Tensor | None = None,
                     demodulate: bool = True) -> torch.Tensor:
    """Per-sample modulated (and demodulated) convolution: input scaled by styles, output by the demodulation."""
    n = x.shape[0]
    x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
    x = conv2d_resample(x, weight.to(x.dtype), f, up=up, padding=padding)
    if demodulate:
        w = weight.unsqueeze(0) * styles.reshape(n, 1, -1, 1, 1)
        dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()
        x = x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
    if noise is not None:
        x = x + noise.to(x.dtype)
    return x
