"""`ganzoo train`: from a resolved RunConfig to a finished (or resumable) run folder."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import torch

from ganzoo.data.source import DataSource
from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.distributed import DistInfo, init_distributed, shutdown
from ganzoo.engine.model import Model, data_options_for
from ganzoo.engine.precision import resolve_device
from ganzoo.engine.rundir import RunDir, default_run_folder
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.run_config import RunConfig
from ganzoo.specs import ModelSpec

#: Config fields filled from the data set when the config leaves them as None.
DATA_FILLED_FIELDS = {"channels": "channels", "num_classes": "num_classes"}


def model_spec(run: RunConfig) -> ModelSpec:
    from ganzoo.registry import get_registry

    return get_registry().resolve_model(f"{run.plugin}:{run.name}" if run.plugin else run.name).spec


def fill_from_data(run: RunConfig, data: DataSource) -> RunConfig:
    """Fill config fields left as None (channels, num_classes) from the data set."""
    changes: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(run.model)}
    for field_name, attr in DATA_FILLED_FIELDS.items():
        if field_name in names and getattr(run.model, field_name) is None:
            value = getattr(data, attr)
            if value is None and field_name == "num_classes":
                raise ConfigError(
                    f"model {run.name!r} needs class labels, but data {data.ref!r} has none; "
                    "use a labelled data set (e.g. digits, or a folder with one sub-folder per class)"
                )
            changes[field_name] = value
    return run.replace_model(**changes) if changes else run


def build_model(spec: ModelSpec, config: Any, *, training: bool) -> Model:
    """Call the plugin's factory (after checking the machine can hold the model) and check that it returned a Model."""
    from ganzoo._lazy import import_string

    if spec.factory is None:
        from ganzoo.errors import NotImplementedModelError

        raise NotImplementedModelError(f"model {spec.name!r} ({spec.plugin}) is not implemented in this version")
    factory = import_string(spec.factory)
    from ganzoo.engine.footprint import check_model_memory

    check_model_memory(spec, config, factory, training=training)  # before allocating anything
    model = factory(config, training=training)
    if not isinstance(model, Model):
        raise GanzooError(f"plugin {spec.plugin}: factory of {spec.name!r} returned {type(model).__name__}, not a Model")
    return model


def load_data(run: RunConfig, spec: ModelSpec) -> tuple[RunConfig, DataSource]:
    from ganzoo.data import resolve_data
    from ganzoo.engine.footprint import check_batch_memory

    check_batch_memory(run.model, run.train.batch_size)  # before any image is read or resized
    ref = run.train.data or spec.default_data
    run = run.replace_train(data=ref)
    data = resolve_data(ref, data_options_for(run.model))
    return fill_from_data(run, data), data


def train(run: RunConfig, *, out: str | Path | None = None, resume: bool = True, force: bool = False,
          progress: bool = True, dist: DistInfo | None = None) -> tuple[Any, RunDir]:
    """Train `run` into the run folder `out` (resuming from its last checkpoint when there is one).

    Returns (TrainResult, RunDir); raises `Interrupted` after a SIGINT/SIGTERM checkpoint.
    """
    from ganzoo.engine import rng
    from ganzoo.engine.speed import tune_host_allocator, use_fused_optimizers
    from ganzoo.engine.trainer import Trainer
    from ganzoo.threads import apply_threads

    tune_host_allocator()
    threads = apply_threads(run.train.threads)
    device = resolve_device(run.train.device)
    dist = dist or DistInfo()
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    spec = model_spec(run)
    folder = Path(out) if out else default_run_folder(run.name)
    folder = Path(dist.broadcast_object(str(folder)))
    rundir = RunDir(folder)
    resume_from = None
    if dist.is_main:
        resume_from = rundir.prepare(resume=resume, force=force)
    resume_from = dist.broadcast_object(resume_from)
    recorded = None
    if resume_from is not None:
        header = read_header(resume_from)
        if header["name"] != run.name:
            raise ConfigError(f"{folder} holds a {header['name']!r} run, not {run.name!r}; choose another --out")
        recorded = recorded_precision(header)
    host = host_settings(run, device, threads, recorded)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    rng.seed_everything(run.train.seed)  # identical initial weights on every process
    run, data = load_data(run, spec)
    model = build_model(spec, run.model, training=True)
    model.to(device, channels_last=run.train.channels_last)
    for net in model.nets.values():
        dist.broadcast_module(net)
    if run.train.compile:
        for net in model.nets.values():
            net.compile()
    use_fused_optimizers(model.optimizers, device)
    if dist.is_main:
        rundir.write_config({**run.to_dict(), "host": host["record"]})
    rng.seed_everything(run.train.seed, dist.rank)  # distinct training randomness per process
    trainer = Trainer(run, model, data, rundir, device=device, dist=dist, progress=progress)
    trainer.start_messages.append(f"Using {host['threads_line']}; {host['precision_line']}")
    return trainer.fit(resume_from), rundir


def recorded_precision(header: dict[str, Any]) -> str | None:
    """The precision mode a training checkpoint's run computed in (from its state's structure), if recorded."""
    try:
        mode = header["state_structure"]["precision"]["mode"]
    except (KeyError, TypeError):
        return None
    return mode if mode in ("fp32", "bf16", "fp16") else None


def host_settings(run: RunConfig, device: torch.device, threads: Any, recorded: str | None = None) -> dict[str, Any]:
    """Threads, wait policy and the precision `auto` resolves to: one line each, and config.yaml's `host:`."""
    from ganzoo.bench.machine import cpu_model, matrix_flags

    requested = run.train.precision
    if requested != "auto":
        mode, why = requested, "as asked"
    elif recorded is not None:
        mode, why = recorded, "auto, kept as this run recorded it"
    else:
        from ganzoo.engine.auto_precision import choose_precision

        choice = choose_precision(device)
        mode, why = choice.mode, f"auto: {choice.reason}"
    record = {
        "threads": threads.threads, "threads_source": threads.source, "omp_wait": threads.wait,
        "omp_wait_source": threads.wait_source,
        "omp_wait_in_effect": threads.wait_in_time, "precision": mode, "precision_reason": why,
        "device": str(device), "cpu": cpu_model(), "cpu_flags": " ".join(matrix_flags()),
        "torch": str(torch.__version__),
    }
    return {"record": record, "threads_line": threads.describe(), "precision_line": f"precision {mode} ({why})"}


def train_run(run: RunConfig, *, out: str | None = None, resume: bool = True, force: bool = False,
              progress: bool = True) -> int:
    """`ganzoo train`: train, print where the results are, and return the process exit code."""
    from ganzoo.engine.trainer import Interrupted

    device = resolve_device(run.train.device)
    dist = init_distributed(device.type)
    try:
        try:
            result, rundir = train(run, out=out, resume=resume, force=force, progress=progress, dist=dist)
        except Interrupted as stop:
            if dist.is_main:
                where = f" --out {Path(stop.checkpoint).parent.parent}" if stop.checkpoint else ""
                print(f"Stopped at step {stop.step}; checkpoint written to {stop.checkpoint}. "
                      f"Resume with the same command{where}.", file=sys.stderr)
            return stop.exit_code
        if dist.is_main:
            _summary(run, rundir, result)
        return 0
    finally:
        shutdown(dist)


def _summary(run: RunConfig, rundir: RunDir, result: Any) -> None:
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    console.print(f"[bold]Finished[/bold] {run.name}: {result.steps} steps in {result.seconds:.0f} s")
    console.print(f"  run folder   {rundir.root}")
    if result.samples:
        console.print(f"  samples      {result.samples[-1]}")
    if result.last_checkpoint:
        console.print(f"  checkpoint   {result.last_checkpoint}")
        console.print(f"  next         ganzoo sample {result.last_checkpoint} --out samples.png")
