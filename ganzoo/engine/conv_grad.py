"""bf16 weight gradients of small convolutions as one matrix product, where this host computes them faster.

On a CPU with bf16 matrix units, oneDNN's weight-gradient kernel for a convolution whose output has
few positions per image (a GAN discriminator's last strided layers, a generator's first transposed
ones: 4x4 maps with hundreds of channels) runs at a tenth of the matrix units' rate. The same
gradient is one matrix product of the layer's input patches (gathered channels-last, one copy) and
its output gradient, which runs near the matrix-multiply peak (measured on an Intel Xeon with AMX:
a 256->512 channel 4x4 stride-2 convolution on 8x8 inputs, batch 64, one thread, 95 ms in oneDNN
against 14 ms as a product; docs/benchmarks.md). Larger maps stay with oneDNN, which wins there.

`use_matmul_weight_grads(nets)` gives the eligible `nn.Conv2d` and `nn.ConvTranspose2d` modules a
subclass whose forward takes that path only under CPU bf16 autocast with gradients on and for small
maps; everywhere else (fp32, inference, gradient penalties computed in fp32, large maps) it is the
parent's forward. Weights, names and state dicts do not change. Whether this host gains is measured
once (`choose_weight_grad`), cached beside the precision probe, never decided by the CPU's name.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

#: Output positions per image (convolution) or input positions (transposed convolution) at or below
#: which the weight gradient is a matrix product.
SMALL_MAP = 16
#: The product path is used on a host where the probe measured it at least this much faster.
MIN_SPEEDUP = 1.5
CACHE_KEY = "matmul-weight-grad"


def _patches(padded_nhwc: torch.Tensor, rows: int, cols: int, kernel: int, stride: int) -> torch.Tensor:
    """(N * rows * cols, kernel * kernel * C) patches of a padded channels-last-contiguous N,H,W,C tensor."""
    n, _, _, c = padded_nhwc.shape
    sn, sh, sw, sc = padded_nhwc.stride()
    view = padded_nhwc.as_strided((n, rows, cols, kernel, kernel, c), (sn, stride * sh, stride * sw, sh, sw, sc))
    return view.reshape(n * rows * cols, kernel * kernel * c)


def _nhwc_padded(x: torch.Tensor, padding: int) -> torch.Tensor:
    return F.pad(x, (padding,) * 4).permute(0, 2, 3, 1).contiguous()


class _MatmulWeightGrad(torch.autograd.Function):
    """conv2d, or conv_transpose2d with `transposed` (no bias, square kernel and stride, symmetric zero padding,
    no output padding), whose weight gradient is one matrix product.

    The product pairs the patches of the larger map (a convolution's input, a transposed convolution's
    output gradient) with the rows of the smaller one, whose positions are the patches' centres."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, weight: torch.Tensor, stride: int, padding: int,
                transposed: bool) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.transposed = stride, padding, transposed
        conv = F.conv_transpose2d if transposed else F.conv2d
        return conv(x, weight, None, stride, padding)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        x, weight = ctx.saved_tensors
        s, p, transposed = ctx.stride, ctx.padding, ctx.transposed
        grad_x = grad_w = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(grad, x, weight, None, [s, s], [p, p], [1, 1], transposed,
                                                         [0, 0], 1, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            large, small = (grad, x) if transposed else (x, grad)
            n, small_c, rows, cols = small.shape
            k = weight.shape[2]
            patches = _patches(_nhwc_padded(large, p), rows, cols, k, s)
            small_rows = small.permute(0, 2, 3, 1).reshape(n * rows * cols, small_c)
            grad_w = (small_rows.t() @ patches).view(small_c, k, k, large.shape[1]).permute(0, 3, 1, 2)
        return grad_x, grad_w, None, None, None


_twice = threading.local()


@contextlib.contextmanager
def twice_differentiable() -> Iterator[None]:
    """A region whose convolutions keep PyTorch's own gradients, which can be differentiated again (a
    gradient penalty's critic under bf16): the product path's backward cannot."""
    before = getattr(_twice, "on", False)
    _twice.on = True
    try:
        yield
    finally:
        _twice.on = before


def _bf16_training() -> bool:
    return (torch.is_grad_enabled() and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16 and not getattr(_twice, "on", False))


def _square(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    return None


def _geometry(module: nn.modules.conv._ConvNd) -> tuple[int, int, int] | None:
    """(kernel, stride, padding) of a module the product path covers, else None."""
    kernel, stride, padding = _square(module.kernel_size), _square(module.stride), _square(module.padding)
    if None in (kernel, stride, padding) or module.groups != 1 or _square(module.dilation) != 1:
        return None
    if module.padding_mode != "zeros" or any(getattr(module, "output_padding", (0, 0))):
        return None
    return kernel, stride, padding


def _bias(y: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return y if bias is None else y + bias.to(y.dtype).view(1, -1, 1, 1)


class MatmulGradConv2d(nn.Conv2d):
    """`nn.Conv2d` whose bf16 training forward on small output maps takes the matrix-product weight gradient."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        geometry = _geometry(self)
        if geometry is not None and x.device.type == "cpu" and x.dim() == 4 and _bf16_training():
            k, s, p = geometry
            rows = (x.shape[2] + 2 * p - k) // s + 1
            cols = (x.shape[3] + 2 * p - k) // s + 1
            if rows * cols <= SMALL_MAP:
                with torch.autocast("cpu", enabled=False):
                    y = _MatmulWeightGrad.apply(x.to(torch.bfloat16), self.weight.to(torch.bfloat16), s, p, False)
                    return _bias(y, self.bias)
        return super().forward(x)


class MatmulGradConvTranspose2d(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` whose bf16 training forward on small input maps takes the matrix-product weight gradient."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        geometry = _geometry(self)
        if (geometry is not None and output_size is None and x.device.type == "cpu" and x.dim() == 4
                and x.shape[2] * x.shape[3] <= SMALL_MAP and _bf16_training()):
            _, s, p = geometry
            with torch.autocast("cpu", enabled=False):
                y = _MatmulWeightGrad.apply(x.to(torch.bfloat16), self.weight.to(torch.bfloat16), s, p, True)
                return _bias(y, self.bias)
        return super().forward(x, output_size)


_SWAPS: dict[type, type] = {nn.Conv2d: MatmulGradConv2d, nn.ConvTranspose2d: MatmulGradConvTranspose2d}


def use_matmul_weight_grads(nets: Iterable[nn.Module]) -> int:
    """Give every eligible plain `nn.Conv2d`/`nn.ConvTranspose2d` in `nets` the product path; return how many."""
    swapped = 0
    for net in nets:
        for module in net.modules():
            target = _SWAPS.get(type(module))
            if target is not None and _geometry(module) is not None:
                module.__class__ = target
                swapped += 1
    return swapped


def _probe_layer() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 256, 8, 8, generator=gen).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    w = torch.randn(512, 256, 4, 4, generator=gen).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    g = torch.randn(32, 512, 4, 4, generator=gen).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    return x, w, g


def probe() -> tuple[float, str]:
    """Speed-up of the product path over oneDNN for a small bf16 convolution's weight gradient, on this CPU."""
    x, w, g = _probe_layer()

    def onednn() -> None:
        torch.ops.aten.convolution_backward(g, x, w, None, [2, 2], [1, 1], [1, 1], False, [0, 0], 1,
                                            [False, True, False])

    def product() -> None:
        patches = _patches(_nhwc_padded(x, 1), 4, 4, 4, 2)
        g.permute(0, 2, 3, 1).reshape(-1, 512).t() @ patches

    times: dict[str, list[float]] = {"onednn": [], "product": []}
    onednn()
    product()
    for _ in range(3):
        for name, fn in (("onednn", onednn), ("product", product)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    speedup = best["onednn"] / best["product"]
    return speedup, f"oneDNN {best['onednn'] * 1e3:.1f} ms, product {best['product'] * 1e3:.1f} ms"


@cache
def choose_weight_grad() -> tuple[bool, str]:
    """Whether this CPU takes the product path (measured once per host and torch, cached), and why."""
    import os

    from ganzoo.engine import auto_precision

    fixed = os.environ.get("GANZOO_WEIGHT_GRAD", "").strip().lower()
    if fixed in ("matmul", "onednn"):
        return fixed == "matmul", "fixed by GANZOO_WEIGHT_GRAD"
    key = f"{CACHE_KEY}|{auto_precision.host_key(torch.device('cpu'))}"
    entry = auto_precision._read_cache().get(key)
    if isinstance(entry, dict) and isinstance(entry.get("matmul"), bool):
        return entry["matmul"], f"{entry.get('detail', '')}, measured earlier on this host"
    speedup, detail = probe()
    use = speedup >= MIN_SPEEDUP
    auto_precision._write_cache(key, {"matmul": use, "speedup": round(speedup, 3), "detail": detail,
                                      "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    return use, detail
