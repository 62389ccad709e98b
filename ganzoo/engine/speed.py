"""Process and optimizer settings that make the same training step faster, without changing its maths.

- `tune_host_allocator()`: glibc's malloc returns freed memory at the top of its heaps to the system
  and serves large blocks with fresh `mmap`s; a training step frees and re-allocates the same large
  activation buffers every step, so the kernel zeroes fresh pages for them every step (tens of
  thousands of page faults per DCGAN step at 64 px, batch 64). Raising the trim threshold and fixing
  the mmap threshold at its maximum (32 MiB) keeps those pages in the process. Linux/glibc only;
  `GANZOO_TUNE_MALLOC=0` turns it off.
- `use_fused_optimizers(optimizers, device)`: Adam and AdamW whose implementation was not chosen by
  the plugin (`fused` and `foreach` left unset) use PyTorch's fused kernel where the device has one
  (CPU, CUDA, MPS, ...): one pass over each parameter instead of a handful of element-wise passes.
  A run resumed from a checkpoint keeps the implementation the checkpoint was trained with (the
  optimizer's saved settings are restored), so resume stays exact.
- `speed_up_bf16_convs(model, precision, device, compiled)`: under bf16 on a CPU where it was measured
  faster, small convolutions compute their weight gradients as one matrix product
  (`ganzoo.engine.conv_grad`); the forward pass and the input gradients are unchanged.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

import torch

#: mallopt parameter numbers (glibc malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 2**20  # glibc's upper limit on 64-bit systems
_TRIM_THRESHOLD = 2**30

_tuned: bool | None = None


def tune_host_allocator() -> bool:
    """Keep freed heap memory in the process (see the module docstring); True if glibc accepted it."""
    global _tuned
    if _tuned is not None:
        return _tuned
    _tuned = False
    if not sys.platform.startswith("linux") or os.environ.get("GANZOO_TUNE_MALLOC", "1").strip() in ("0", "false", "no"):
        return False
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD) == 1 and ok
    except (OSError, AttributeError):
        return False
    _tuned = ok
    return ok


_FUSABLE = (torch.optim.Adam, torch.optim.AdamW)


def _fused_devices() -> tuple[str, ...]:
    try:
        from torch.optim.optimizer import _get_fused_kernels_supported_devices

        return tuple(_get_fused_kernels_supported_devices())
    except ImportError:  # pragma: no cover - older torch
        return ("cuda",)


def use_fused_optimizers(optimizers: Mapping[str, torch.optim.Optimizer], device: torch.device) -> list[str]:
    """Switch fresh Adam/AdamW optimizers with no implementation chosen to the fused kernel; their names."""
    if device.type not in _fused_devices():
        return []
    switched = []
    for name, opt in optimizers.items():
        if type(opt) not in _FUSABLE or opt.state:
            continue
        groups = opt.param_groups
        if any(g.get("fused") is not None or g.get("foreach") is not None or g.get("differentiable") for g in groups):
            continue
        params = [p for g in groups for p in g["params"]]
        if not all(p.is_floating_point() and p.device.type == device.type for p in params):
            continue
        for group in groups:
            group["fused"] = True
        opt.defaults["fused"] = True
        # As torch.optim.Adam(fused=True) sets it: a GradScaler hands the fused kernel its scale and
        # inf flag instead of unscaling first and reading the flag back on the host.
        opt._step_supports_amp_scaling = True
        switched.append(name)
    return switched


def speed_up_bf16_convs(model: Any, precision: str, device: torch.device, compiled: bool,
                        use: bool | None = None, *, why: str = "as asked") -> tuple[bool, str]:
    """Take the matrix-product weight gradient for small convolutions where it pays (see the module docstring).

    `use` overrides the host's measured decision (a resumed run's recorded one, or a benchmark's), with
    `why` as its reason. Returns whether the path is taken, and what was decided for config.yaml's `host:`."""
    if precision != "bf16" or device.type != "cpu":
        return False, "oneDNN (not bf16 on a CPU)"
    if compiled:
        return False, "oneDNN (compiled networks)"
    from ganzoo.engine.conv_grad import choose_weight_grad, use_matmul_weight_grads

    if use is None:
        use, why = choose_weight_grad()
    if not use:
        return False, f"oneDNN ({why})"
    count = use_matmul_weight_grads(model.nets.values())
    if not count:
        return False, "oneDNN (no plain convolution to take the product path)"
    return True, f"matrix product for small maps in {count} convolutions ({why})"
