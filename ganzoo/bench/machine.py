"""A description of the machine a measurement ran on (torch-free apart from versions)."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU's feature flags (/proc/cpuinfo `flags`, sorted); empty where the system does not list them."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return sorted(set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return []


#: Flags that matter for matrix arithmetic speed, shown beside benchmark figures.
MATRIX_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "avx512_vnni", "amx_bf16", "amx_tile",
                "amx_int8", "avx_vnni", "asimd", "sve", "bf16", "i8mm")


def matrix_flags() -> list[str]:
    """The subset of `cpu_flags()` that decides matmul speed (AVX2/AVX-512/AMX, Arm SVE/bf16)."""
    have = set(cpu_flags())
    return [f for f in MATRIX_FLAGS if f in have]


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def describe(device: Any = None) -> dict[str, Any]:
    """CPU model, core count, load average, Python/torch versions, threads and the device name."""
    import torch

    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpu_flags": matrix_flags(),
        "cores": os.cpu_count(),
        "load_average": load_average(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "platform": platform.platform(terse=True),
    }
    if device is not None and getattr(device, "type", "") == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
