"""`--precision auto`: bf16 autocast where this device computes it natively and measurably faster, else fp32.

The choice is made by measuring the device, never by its vendor or name: a short probe times the
forward and backward pass of a strided convolution (a GAN layer's shape) and a matrix product, in
fp32 and under bf16 autocast (each in the layout training uses with it), alternating, on one thread
by its CPU time on a CPU, and takes bf16 when the geometric mean of the two speed-ups is at least
`MIN_SPEEDUP`. A CPU without bf16 arithmetic emulates it tens of times slower, so the
probe stops as soon as one bf16 call is clearly slower. The result is cached in
`GANZOO_HOME/cache/precision-probe.json` under a key made of the CPU model and flags (or the GPU name
and capability) and the torch version, so the probe runs once per host and torch install.
`GANZOO_PRECISION_PROBE=fp32|bf16` skips the probe with a fixed answer (for tests and for hosts whose
probe is disturbed by other work).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import torch

from ganzoo.atomic import write_text_atomic
from ganzoo.paths import ganzoo_home

#: bf16 is chosen when it is at least this much faster than fp32 (geometric mean of the probes).
MIN_SPEEDUP = 1.3
PROBE_ENV = "GANZOO_PRECISION_PROBE"
CACHE_NAME = "precision-probe.json"
_REPEATS = 5


@dataclass(frozen=True)
class PrecisionChoice:
    """What `auto` resolved to on one device, and why."""

    mode: str
    speedup: float | None
    reason: str
    key: str
    cached: bool = False

    def describe(self) -> str:
        return f"precision {self.mode} (auto: {self.reason})"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def host_key(device: torch.device) -> str:
    """A short hash of what decides bf16 speed: CPU model and flags (or GPU name and capability), torch."""
    from ganzoo.bench.machine import cpu_flags, cpu_model

    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        what = f"cuda|{torch.cuda.get_device_name(index)}|{torch.cuda.get_device_capability(index)}"
    else:
        what = f"{device.type}|{cpu_model()}|{' '.join(cpu_flags())}"
    what += f"|torch {torch.__version__}"
    return hashlib.sha256(what.encode()).hexdigest()[:16]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Any, device: torch.device) -> float:
    """Seconds `fn` takes: this thread's CPU time on a CPU (the probe runs one thread there, so other work
    on a busy machine does not enter the figure), wall time with synchronisation on a GPU."""
    if device.type == "cpu":
        start = time.thread_time()
        fn()
        return time.thread_time() - start
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _workloads(device: torch.device) -> dict[str, tuple[Any, Any]]:
    """name -> (fp32 step, bf16 step): a strided convolution's forward and backward pass (a GAN layer's
    shape) and a matrix product, each arithmetic in the memory layout training uses with it (fp32
    contiguous, bf16 channels-last: `ganzoo.engine.layout`)."""
    gen = torch.Generator().manual_seed(0)
    big = device.type == "cuda"
    batch, width, side = (64, 128, 32) if big else (16, 64, 16)
    x = torch.randn(batch, width, side, side, generator=gen).to(device)
    conv = torch.nn.Conv2d(width, 2 * width, 4, 2, 1).to(device)
    x_last = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    conv_last = torch.nn.Conv2d(width, 2 * width, 4, 2, 1).to(device).to(memory_format=torch.channels_last)
    conv_last.load_state_dict(conv.state_dict())
    x.requires_grad_(True)
    n = 2048 if big else 512
    a = torch.randn(n, n, generator=gen).to(device)
    b = torch.randn(n, n, generator=gen).to(device)

    def conv_step(net: torch.nn.Module, inputs: torch.Tensor) -> None:
        net(inputs).float().square().mean().backward()

    def bf16(fn: Any) -> Any:
        def run() -> None:
            with torch.autocast(device.type, dtype=torch.bfloat16):
                fn()
        return run

    return {"conv": (lambda: conv_step(conv, x), bf16(lambda: conv_step(conv_last, x_last))),
            "matmul": (lambda: torch.mm(a, b), bf16(lambda: torch.mm(a, b)))}


def probe(device: torch.device) -> tuple[float, str]:
    """bf16-autocast speed-up over fp32 on `device` (geometric mean over the workloads) and a summary.

    On a CPU the probe runs one thread and measures its CPU time: a ratio of arithmetic speeds, which
    other processes on a busy machine would otherwise distort (a shared machine once made bf16 look
    slower than fp32 on a CPU where training runs 2-3x faster in it)."""
    threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        ratios = {}
        for name, (fp32, bf16) in _workloads(device).items():
            fp32()
            bf16()  # warm-ups: kernel selection and code generation are not what the probe measures
            fp32_first = _timed(fp32, device)
            bf16_first = _timed(bf16, device)
            if bf16_first > 3 * fp32_first:  # clearly slower (emulated): no need to time it again
                ratios[name] = fp32_first / bf16_first
                continue
            fp32_times, bf16_times = [], []
            for _ in range(_REPEATS):
                fp32_times.append(_timed(fp32, device))
                bf16_times.append(_timed(bf16, device))
            ratios[name] = sorted(fp32_times)[_REPEATS // 2] / sorted(bf16_times)[_REPEATS // 2]
    finally:
        torch.set_num_threads(threads)
    speedup = math.exp(sum(math.log(r) for r in ratios.values()) / len(ratios))
    detail = ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items())
    return speedup, detail


def _cache_path() -> Path:
    return ganzoo_home() / "cache" / CACHE_NAME


def _read_cache() -> dict[str, Any]:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(key: str, entry: dict[str, Any]) -> None:
    data = _read_cache()
    data[key] = entry
    try:
        _cache_path().parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(_cache_path(), json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError:
        pass  # a read-only cache only costs the probe again next time


def choose_precision(device: torch.device | str) -> PrecisionChoice:
    """What `--precision auto` means on `device` (probed once per host and torch; see the module docstring)."""
    import os

    device = torch.device(device)
    fixed = os.environ.get(PROBE_ENV, "").strip().lower()
    if fixed in ("fp32", "bf16"):
        return PrecisionChoice(fixed, None, f"fixed by {PROBE_ENV}", "", cached=False)
    return _choose(device.type, device.index)


@cache
def _choose(kind: str, index: int | None) -> PrecisionChoice:
    device = torch.device(kind, index) if index is not None else torch.device(kind)
    if device.type not in ("cpu", "cuda"):
        return PrecisionChoice("fp32", None, f"bf16 autocast is not probed on {device.type}", "")
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        return PrecisionChoice("fp32", None, "this GPU has no bf16 arithmetic", "")
    key = host_key(device)
    entry = _read_cache().get(key)
    if isinstance(entry, dict) and entry.get("mode") in ("fp32", "bf16"):
        speedup = entry.get("speedup")
        return PrecisionChoice(entry["mode"], speedup, _reason(entry["mode"], speedup, entry.get("detail", "")),
                               key, cached=True)
    speedup, detail = probe(device)
    mode = "bf16" if speedup >= MIN_SPEEDUP else "fp32"
    _write_cache(key, {"mode": mode, "speedup": round(speedup, 3), "detail": detail,
                       "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                       "torch": str(torch.__version__)})
    return PrecisionChoice(mode, speedup, _reason(mode, speedup, detail), key)


def _reason(mode: str, speedup: float | None, detail: str) -> str:
    if speedup is None:
        return "measured earlier on this host"
    verdict = "faster" if mode == "bf16" else f"not {MIN_SPEEDUP:g}x faster"
    return f"bf16 measured {speedup:.2f}x fp32 on this host ({detail}), {verdict}"
