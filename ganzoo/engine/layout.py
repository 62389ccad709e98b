"""Memory layout of the networks: channels-last where the arithmetic's fastest kernels want it.

Under bf16 or fp16 autocast, oneDNN's matrix-unit convolutions (AMX, avx512_bf16) and CUDA's tensor
cores work on channels-last (NHWC) tensors; fed contiguous (NCHW) ones they reorder every input and
gradient. Measured on an Intel Xeon with AMX, one thread, bf16 (docs/benchmarks.md): dcgan's paper
widths 1.6x fp32 contiguous against 2.7x channels-last, the digits demos of every family as fast or
faster channels-last. In fp32 the gain depends on the CPU and the family (slower on an AMD EPYC
without matrix units, faster or slower on the Xeon by family), so fp32 keeps the contiguous layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ganzoo.engine.header import recorded

#: Precisions whose convolutions run channels-last by default.
CHANNELS_LAST_PRECISIONS = ("bf16", "fp16")
#: Devices where that default applies (MPS keeps the contiguous layout).
CHANNELS_LAST_DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class LayoutChoice:
    """Whether the networks run channels-last, and why (printed once, recorded in config.yaml)."""

    channels_last: bool
    reason: str


def choose_channels_last(requested: bool | None, precision: str, device_type: str,
                         recorded: bool | None = None) -> LayoutChoice:
    """The explicit choice, else the resumed run's recorded one, else on for bf16/fp16 on CPU and CUDA."""
    if requested is not None:
        return LayoutChoice(bool(requested), "as asked")
    if recorded is not None:
        return LayoutChoice(bool(recorded), "kept as this run recorded it")
    on = precision in CHANNELS_LAST_PRECISIONS and device_type in CHANNELS_LAST_DEVICES
    why = f"the default for {precision} on {device_type}"
    return LayoutChoice(on, why)


def recorded_channels_last(header: Mapping[str, Any]) -> bool | None:
    """The layout a training checkpoint's run recorded in its config, if any."""
    return recorded(header, "config", "train", "channels_last")
