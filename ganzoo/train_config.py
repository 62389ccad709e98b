"""The options every training run has, whatever the model (the `train` section of config.yaml)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import SEED_MAX, option
from ganzoo.errors import ConfigError

#: Environment variable that sets the most data-loader workers a run may start.
MAX_WORKERS_ENV = "GANZOO_MAX_WORKERS"
#: Data-loader workers allowed per CPU this process may use (a worker often waits on the disk).
WORKERS_PER_CPU = 2

Device = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["auto", "fp32", "bf16", "fp16"]


@dataclass
class TrainConfig:
    """Run length, batch, seed, device, precision and the run folder's bookkeeping."""

    data: str | None = option(None, "Data reference (built-in name, folder, named set); default: the model's own.")
    subset: int | None = option(None, "Train on this many items of the training set, spread evenly over it "
                                      "(a fixed choice); none: all of it.", min=1)
    steps: int | None = option(None, "Training steps (generator updates); default: the model's own budget.", min=1)
    epochs: int | None = option(None, "Stop after this many passes over the data (instead of --steps).", min=1)
    batch_size: int = option(64, "Images per step (per process when distributed).", min=1)
    seed: int = option(0, "Seed for weights, latents, data order and augmentation (0 to 2**64-1).", min=0, max=SEED_MAX)
    device: Device = option("auto", "Where to train: auto picks cuda, then mps, then cpu.")
    precision: Precision = option("auto", "Arithmetic: fp32, bf16 autocast, or fp16 autocast with a loss scaler; auto: "
                                          "bf16 where a probe of this device measures it faster, else fp32.")
    checkpoint_every: int = option(500, "Write checkpoints/last.safetensors every N steps.", min=1)
    keep: int = option(3, "Periodic checkpoints (step-N.safetensors) to keep besides last; 0 keeps none.", min=0)
    sample_every: int = option(250, "Write samples/step-N.png every N steps.", min=1)
    log_every: int = option(50, "Append to metrics.jsonl (and print when not a terminal) every N steps.", min=1)
    ema_decay: float | None = option(None, "Generator EMA decay (e.g. 0.999); none: the model's default.", min=0, below=1)
    num_workers: int | None = option(None, "Data loader worker processes; none: chosen from the data set (at most "
                                           f"{WORKERS_PER_CPU} per CPU; {MAX_WORKERS_ENV} lifts it).", min=0)
    threads: int | None = option(None, "CPU threads for torch; none: GANZOO_THREADS, else OMP_NUM_THREADS, else "
                                       "what a resumed run recorded, else measured on this run's first steps (1, "
                                       "half or all the usable CPUs).", min=1)
    channels_last: bool | None = option(None, "Channels-last memory format for convolutions; none: on under bf16/fp16 "
                                              "(what matrix units want), off in fp32.")
    compile: bool | None = option(None, "Compile the networks with torch.compile (inductor); none: the model's "
                                        "default (on where it was measured faster over its default run).")
    tensorboard: bool = option(False, "Also log scalars for TensorBoard (needs the tensorboard package).")
    balance: str = option("none", "Discriminator balance policy: none, skip-d:THRESHOLD or adaptive.")
    d_steps: int | None = option(None, "Discriminator updates per generator update (at most 100); none: the model's default.",
                                 min=1, max=100)
    augment: str = option("none", "Discriminator augmentation: none, ada[:OPTIONS] (adaptive, Karras et al. 2020) or "
                                  "diffaugment[:color,translation,cutout] (docs/training.md).")
    diagnostics_every: int = option(100, "Compute training-health diagnostics every N steps; 0 turns them off.", min=0)
    eval_every: int = option(0, "Evaluate --eval-metric every N steps and keep best.safetensors; 0: never.", min=0)
    eval_metric: str = option("fid", "Metric for periodic evaluation (lower is better unless the metric says so).")
    eval_n: int = option(1000, "Samples generated for each periodic evaluation.", min=2)
    eval_extractor: str | None = option(None, "Feature extractor for periodic evaluation; none: the data's default.")


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def max_workers() -> int:
    """The most data-loader workers a run may start: `GANZOO_MAX_WORKERS`, else 2 per usable CPU."""
    raw = os.environ.get(MAX_WORKERS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if value < 0:
            raise ConfigError(f"{MAX_WORKERS_ENV}={raw!r} is not a number of worker processes")
        return value
    return WORKERS_PER_CPU * usable_cpus()


def check_limits(train: TrainConfig) -> None:
    """Refuse, in one line, resource options a typo can make ruinous (each worker is a process)."""
    if train.num_workers is not None and train.num_workers > max_workers():
        if os.environ.get(MAX_WORKERS_ENV, "").strip():
            bound = f"the {max_workers()} that {MAX_WORKERS_ENV} allows"
        else:
            bound = f"{max_workers()} ({WORKERS_PER_CPU} per CPU, {usable_cpus()} CPUs here)"
        raise ConfigError(
            f"num_workers={train.num_workers} is more than {bound}; each worker is a process. "
            f"If you need more, set {MAX_WORKERS_ENV}={train.num_workers}"
        )
