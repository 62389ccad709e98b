"""Measuring training speed: step times, FLOPs, the matmul peak, data-loading share and memory.

    from ganzoo.bench import bench_model
    result = bench_model("dcgan", steps=10, batch_size=64, overrides={"image_size": 64, "channels": 3})
    print(result.images_per_s, result.peak_fraction)

- `stats`: median and p90 of a list of durations (torch-free).
- `memory`: peak resident memory of this process (and its reset), CUDA peak allocation.
- `peak`: the device's matrix-multiply peak, measured with a square matmul sized to saturate it.
- `flops`: FLOPs of one call, counted with `torch.utils.flop_counter.FlopCounterMode`.
- `probe`: timestamps of the real Trainer's steps and of the waits inside `StepContext.next_batch`.
- `session`: a model set up through the real engine (Trainer, StepContext, `train_step`) without a
  run folder, stepped in rounds (`EngineSession.run(n)`).
- `model_bench`: `bench_model(...)`, what `ganzoo bench NAME` prints (`BenchResult`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganzoo.bench.model_bench import BenchResult, bench_model
    from ganzoo.bench.peak import MatmulPeak, matmul_peak
    from ganzoo.bench.session import EngineSession, StepRecord

__all__ = ["BenchResult", "EngineSession", "MatmulPeak", "StepRecord", "bench_model", "matmul_peak"]

_LAZY = {
    "BenchResult": "ganzoo.bench.model_bench",
    "bench_model": "ganzoo.bench.model_bench",
    "MatmulPeak": "ganzoo.bench.peak",
    "matmul_peak": "ganzoo.bench.peak",
    "EngineSession": "ganzoo.bench.session",
    "StepRecord": "ganzoo.bench.session",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ganzoo.bench' has no attribute {name!r}")
