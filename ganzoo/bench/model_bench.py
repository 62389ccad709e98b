"""`ganzoo bench NAME`: one model's training speed through the real engine, against the matmul peak."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ganzoo.bench import machine
from ganzoo.bench.memory import device_peak_bytes, peak_rss_bytes, reset_device_peak, reset_peak_rss
from ganzoo.bench.peak import MatmulPeak, matmul_peak
from ganzoo.bench.session import EngineSession
from ganzoo.bench.stats import TimeStats
from ganzoo.errors import ConfigError

#: Every field `BenchResult.to_json` reports (the test checks them all).
FIELDS = (
    "model", "plugin", "data", "device", "precision", "batch_size", "image_size", "channels_last", "compile",
    "steps", "warmup", "step_time", "images_per_step", "images_per_s", "flops_per_step", "gflops",
    "matmul_peak", "peak_fraction", "data_share", "data_seconds", "cpu_seconds_per_step", "peak_rss_bytes",
    "device_peak_bytes", "machine", "seconds",
)


@dataclass
class BenchResult:
    """What `ganzoo bench` reports (see `FIELDS`); times in seconds, rates per second."""

    model: str
    plugin: str
    data: str
    device: str
    precision: str
    batch_size: int
    image_size: int | None
    channels_last: bool
    compile: bool
    steps: int
    warmup: int
    step_time: TimeStats
    images_per_step: float
    images_per_s: float
    flops_per_step: int | None
    gflops: float | None
    matmul_peak: MatmulPeak | None
    peak_fraction: float | None
    data_share: float
    data_seconds: TimeStats
    cpu_seconds_per_step: float
    peak_rss_bytes: int
    device_peak_bytes: int | None
    machine: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    flops_by_op: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["step_time"] = self.step_time.to_json()
        data["data_seconds"] = self.data_seconds.to_json()
        data["matmul_peak"] = self.matmul_peak.to_json() if self.matmul_peak is not None else None
        return data


def peak_dtype(precision: str) -> str:
    """The matmul peak a step in `precision` is compared with (fp32, or the autocast type)."""
    return precision if precision in ("bf16", "fp16") else "fp32"


def bench_model(
    name: str,
    *,
    steps: int = 10,
    warmup: int = 2,
    batch_size: int | None = None,
    image_size: int | None = None,
    precision: str | None = None,
    device: str | None = None,
    data: str | None = None,
    channels_last: bool | None = None,
    compile: bool | None = None,
    overrides: Mapping[str, Any] | None = None,
    set_items: Sequence[str] = (),
    peak: bool = True,
    peak_size: int | None = None,
) -> BenchResult:
    """Warm up, time `steps` training steps, count one step's FLOPs, measure the matmul peak and memory.

    Options left as None keep the model's own defaults (as `ganzoo train NAME` would use them).
    The first warm-up step runs under the FLOP counter; `warmup` is at least 1.
    """
    if steps < 1:
        raise ConfigError("--steps must be at least 1")
    started = time.perf_counter()
    warmup = max(1, warmup)
    train: dict[str, Any] = {}
    for key, value in (("batch_size", batch_size), ("precision", precision), ("device", device), ("data", data),
                       ("channels_last", channels_last), ("compile", compile)):
        if value is not None:
            train[key] = value
    model_flags = dict(overrides or {})
    if image_size is not None:
        model_flags["image_size"] = image_size
    load_before = machine.load_average()
    reset_peak_rss()
    session = EngineSession(name, overrides=model_flags, train_overrides=train, set_items=set_items,
                            planned_steps=warmup + steps, measure_threads=True)
    if image_size is not None and not hasattr(session.run_config.model, "image_size"):
        raise ConfigError(f"model {session.spec.name!r} has no image_size option; drop --image-size")
    try:
        reset_device_peak(session.device)
        session.run(warmup, count_flops=True)
        records = session.run(steps)
        rss = peak_rss_bytes()
        device_peak = device_peak_bytes(session.device)
    finally:
        session.close()
    run = session.run_config
    flops = session.probe.flops
    step_time = TimeStats.of([r.seconds for r in records])
    total_seconds = sum(r.seconds for r in records)
    images_per_step = sum(r.images for r in records) / len(records)
    mode = session.trainer.precision.mode  # what `auto` resolved to
    mm = matmul_peak(session.device, peak_dtype(mode), size=peak_size) if peak else None
    gflops = flops.total / step_time.median / 1e9 if flops is not None else None
    info = machine.describe(session.device)
    info["load_average_before"] = load_before
    return BenchResult(
        model=session.spec.name,
        plugin=session.spec.plugin,
        data=run.train.data or "",
        device=str(session.device),
        precision=mode,
        batch_size=session.batch_size,
        image_size=getattr(run.model, "image_size", None),
        channels_last=bool(run.train.channels_last),
        compile=bool(run.train.compile),
        steps=len(records),
        warmup=warmup,
        step_time=step_time,
        images_per_step=images_per_step,
        images_per_s=images_per_step / step_time.median,
        flops_per_step=flops.total if flops is not None else None,
        gflops=gflops,
        matmul_peak=mm,
        peak_fraction=gflops / mm.gflops if (gflops is not None and mm is not None) else None,
        data_share=sum(r.data_seconds for r in records) / total_seconds if total_seconds > 0 else 0.0,
        data_seconds=TimeStats.of([r.data_seconds for r in records]),
        cpu_seconds_per_step=sum(r.cpu_seconds for r in records) / len(records),
        peak_rss_bytes=rss,
        device_peak_bytes=device_peak,
        machine=info,
        seconds=time.perf_counter() - started,
        flops_by_op=dict(flops.by_op) if flops is not None else {},
    )
