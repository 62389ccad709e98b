"""The device's matrix-multiply peak: the rate of a square matmul large enough to saturate it.

The size is found by a short scan (doubling the side while the rate still grows by more than
`growth`), then the chosen size is timed `repeats` times after a warm-up; the peak is the median
rate. The FLOPs of an n x n by n x n product are counted as 2 n^3.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from ganzoo.bench.stats import median

#: Sides tried by the scan, per device type.
SCAN_SIZES = {"cpu": (1024, 2048, 4096), "cuda": (4096, 8192, 16384), "mps": (2048, 4096, 8192)}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class MatmulPeak:
    """Median GFLOP/s of a `size` x `size` matmul in `dtype` on `device` over `repeats` timings."""

    gflops: float
    size: int
    dtype: str
    device: str
    threads: int
    seconds: list[float] = field(default_factory=list)
    scan: dict[int, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["scan"] = {str(k): v for k, v in self.scan.items()}
        return data


def synchronize(device: torch.device) -> None:
    """Wait for queued work on `device` (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _time_matmul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor, repeats: int, warmup: int) -> list[float]:
    device = a.device
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def _operands(size: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(size)
    a = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=generator).to(device=device, dtype=dtype)
    return a, b, torch.empty(size, size, device=device, dtype=dtype)


def matmul_peak(
    device: torch.device | str = "cpu",
    dtype: str | torch.dtype = "fp32",
    *,
    size: int | None = None,
    repeats: int = 7,
    warmup: int = 2,
    growth: float = 0.05,
) -> MatmulPeak:
    """Measure the matmul peak on `device` in `dtype` ("fp32", "bf16", "fp16" or a torch dtype).

    With `size` None the side is chosen by a scan over `SCAN_SIZES` (see the module docstring).
    """
    device = torch.device(device)
    torch_dtype = DTYPES[dtype] if isinstance(dtype, str) else dtype
    name = next((k for k, v in DTYPES.items() if v == torch_dtype), str(torch_dtype))
    scan: dict[int, float] = {}
    if size is None:
        best_rate = 0.0
        for side in SCAN_SIZES.get(device.type, SCAN_SIZES["cpu"]):
            try:
                a, b, out = _operands(side, torch_dtype, device)
            except RuntimeError:  # out of device memory: keep the sizes that fit
                break
            rate = 2.0 * side**3 / median(_time_matmul(a, b, out, 3, 1)) / 1e9
            del a, b, out
            scan[side] = rate
            if size is not None and rate < best_rate * (1.0 + growth):
                if rate > best_rate:
                    size, best_rate = side, rate
                break
            size, best_rate = side, rate
        assert size is not None
    a, b, out = _operands(size, torch_dtype, device)
    times = _time_matmul(a, b, out, repeats, warmup)
    return MatmulPeak(gflops=2.0 * size**3 / median(times) / 1e9, size=size, dtype=name, device=str(device),
                      threads=torch.get_num_threads(), seconds=times, scan=scan)
