"""`ganzoo train`: from a resolved RunConfig to a finished (or resumable) run folder."""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from ganzoo.data.source import DataSource
from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.distributed import DistInfo, init_distributed, shutdown
from ganzoo.engine.header import recorded
from ganzoo.engine.model import Model, data_options_for
from ganzoo.engine.precision import resolve_device
from ganzoo.engine.rundir import RunDir, default_run_folder
from ganzoo.engine.runlock import LOCK_NAME, RunLock
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.run_config import RunConfig
from ganzoo.specs import ModelSpec


class AlreadyFinished(Exception):
    """The run in the folder has already reached its length: nothing to train (nothing was changed)."""

    def __init__(self, folder: Path, step: int, total: int, *, by_epochs: bool, epochs: int | None,
                 checkpoint: Path, task: str) -> None:
        super().__init__(f"{folder} is already finished at step {step}")
        self.folder, self.step, self.total, self.checkpoint, self.task = folder, step, total, checkpoint, task
        self.by_epochs, self.epochs = by_epochs, epochs


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
          progress: bool = True, dist: DistInfo | None = None, announce: bool = False,
          stop_if_finished: bool = False) -> tuple[Any, RunDir]:
    """Train `run` into the run folder `out` (resuming from its last checkpoint when there is one).

    Returns (TrainResult, RunDir); raises `Interrupted` after a SIGINT/SIGTERM checkpoint. A run that
    has already reached its length is left as it is: its result is returned, or with `stop_if_finished`
    `AlreadyFinished` is raised. With `announce`, process 0 prints the run folder as training starts.
    """
    from ganzoo.engine import rng
    from ganzoo.engine.compile import choose_compile, compile_nets, recorded_compile
    from ganzoo.engine.layout import choose_channels_last, recorded_channels_last
    from ganzoo.engine.signals import StopRequest
    from ganzoo.engine.speed import speed_up_bf16_convs, tune_host_allocator, use_fused_optimizers
    from ganzoo.engine.thread_probe import probe_threads, recorded_thread_count, twin_factory
    from ganzoo.engine.trainer import Trainer
    from ganzoo.threads import apply_threads, settle_threads

    tune_host_allocator()
    threads = apply_threads(run.train.threads)
    device = resolve_device(run.train.device)
    dist = dist or DistInfo()
    if dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    spec = model_spec(run)
    folder = Path(out) if out else default_run_folder(run.to_dict(), spec.default_data)
    folder = Path(dist.broadcast_object(str(folder)))
    rundir = RunDir(folder)
    lock = RunLock(folder)  # one trainer per run folder, held by process 0
    created: list[Path] = []  # folders this start made, removed again if it fails before training
    try:
        # Everything that can be checked is checked before anything is created or changed.
        resume_from, clear = _on_main(dist, lambda: _lock_and_plan(rundir, lock, resume=resume, force=force))
        recorded, recorded_comp, recorded_layout, recorded_grads, recorded_threads = None, None, None, None, None
        if resume_from is not None:
            header = read_header(resume_from)
            if header["name"] != run.name:
                raise ConfigError(f"{folder} holds a {header['name']!r} run, not {run.name!r}; choose another --out")
            recorded, recorded_comp = recorded_precision(header), recorded_compile(header)
            recorded_layout = recorded_channels_last(header)
            recorded_grads = recorded_weight_grads(header)
            recorded_threads = recorded_thread_count(header)
        host = host_settings(run, device, threads, recorded)
        layout = choose_channels_last(run.train.channels_last, host["record"]["precision"], device.type,
                                      recorded_layout)
        run = run.replace_train(channels_last=layout.channels_last)  # config.yaml and checkpoints record it
        host["record"].update(channels_last=layout.channels_last, channels_last_reason=layout.reason)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        rng.seed_everything(run.train.seed)  # identical initial weights on every process
        run, data = load_data(run, spec)
        model = build_model(spec, run.model, training=True)
        model.to(device, channels_last=run.train.channels_last)
        for net in model.nets.values():
            dist.broadcast_module(net)
        compiling = choose_compile(run.train.compile, model.default_compile, recorded_comp)
        run = run.replace_train(compile=compiling.enabled)  # config.yaml and checkpoints record the choice
        host["record"].update(compile=compiling.enabled, compile_reason=compiling.reason)
        if compiling.enabled:
            compile_nets(model.nets)
        grads_why = "kept as this run recorded it"
        if recorded_grads is None and dist.enabled:  # every process computes its gradients the same way
            recorded_grads = dist.broadcast_object(_product_grads_wanted(host["record"]["precision"], device))
            grads_why = "as process 0 measured"
        product_grads, grads_line = speed_up_bf16_convs(model, host["record"]["precision"], device, compiling.enabled,
                                                        recorded_grads, why=grads_why)
        host["record"].update(weight_grads=grads_line)
        use_fused_optimizers(model.optimizers, device)
        make_twin = twin_factory(spec, run, device, host["record"]["precision"], product_grads)
        threads = settle_threads(threads, recorded_threads, probe_allowed=device.type == "cpu" and not dist.enabled
                                 and not compiling.enabled,
                                 probe=lambda counts: probe_threads(run, make_twin, data, device, counts))
        if threads.belongs_to_run:
            run = run.replace_train(threads=threads.threads)  # recorded, and kept on resume (bit-exact resume)
        host["record"].update(threads=threads.threads, threads_source=threads.source)
        host["threads_line"] = threads.describe()
        rng.seed_everything(run.train.seed, dist.rank)  # distinct training randomness per process
        trainer = Trainer(run, model, data, rundir, device=device, dist=dist, progress=progress)
        trainer.precision.product_weight_grads = product_grads
        trainer.start_messages.append(f"Using {host['threads_line']}; {host['precision_line']}"
                                      + ("; channels-last" if layout.channels_last else "")
                                      + ("; networks compiled" if compiling.enabled else ""))
        trainer.begin(resume_from)  # a resume that does not fit this run is refused here
        if resume_from is not None and trainer.finished:
            if not stop_if_finished:
                return trainer.result_so_far(resume_from), rundir
            by_epochs = run.train.steps is None and run.train.epochs is not None
            raise AlreadyFinished(folder, trainer.step, trainer.total_steps, by_epochs=by_epochs,
                                  epochs=trainer.epochs_done, checkpoint=resume_from, task=spec.task)
        # From the start line on, Ctrl-C asks for a graceful stop (a checkpoint, exit 130): a signal that came
        # before the training loop would otherwise be lost or raised wherever the process happened to be.
        with StopRequest() as stop:
            if announce and dist.is_main:
                from ganzoo.engine.run_messages import say, start_line

                say(start_line(run.name, folder, trainer.step if resume_from is not None else None))
            # Only now is the run folder created or changed.
            _on_main(dist, lambda: _make_ready(rundir, lock, created, run, host["record"], clear=clear))
            return trainer.fit(stop=stop), rundir
    except BaseException:
        if dist.is_main:
            _remove_created(created, rundir)
        raise
    finally:
        lock.release()


def _lock_and_plan(rundir: RunDir, lock: RunLock, *, resume: bool, force: bool) -> tuple[Path | None, bool]:
    """Take the lock of an existing run folder (before touching anything in it) and plan the start."""
    if rundir.root.is_dir():
        _take_lock(rundir, lock)
    return rundir.plan(resume=resume, force=force)


def _take_lock(rundir: RunDir, lock: RunLock) -> None:
    lock.acquire()
    if lock.taken_over_from is not None:
        print(f"Taking over run folder {rundir.root} from process {lock.taken_over_from}, which is no longer "
              "running", file=sys.stderr, flush=True)


def _make_ready(rundir: RunDir, lock: RunLock, created: list[Path], run: RunConfig, host: dict[str, Any], *,
                clear: bool) -> None:
    """Create (or clear) the run folder, lock it and write its config.yaml."""
    missing = [p for p in (rundir.root, *rundir.root.parents) if not p.exists()]
    rundir.root.mkdir(parents=True, exist_ok=True)
    created.extend(missing)
    _take_lock(rundir, lock)
    rundir.make_ready(clear=clear)
    rundir.write_config({**run.to_dict(), "host": host})


def _remove_created(created: list[Path], rundir: RunDir) -> None:
    """Remove the folders a failed start created, if they hold nothing but ganzoo's skeleton.

    A run that fails at its first step (a batch its model cannot use, say) leaves nothing behind; one
    that logged, sampled or checkpointed anything (a Ctrl-C checkpoint, a non-finite-loss event) is kept.
    """
    if not created or rundir.has_content():
        return
    for folder in (rundir.checkpoints, rundir.samples):
        with contextlib.suppress(OSError):
            folder.rmdir()
    for path in (rundir.config_path, rundir.root / LOCK_NAME):
        path.unlink(missing_ok=True)
    for folder in created:  # deepest first
        with contextlib.suppress(OSError):
            folder.rmdir()


def _on_main(dist: DistInfo, work: Callable[[], Any]) -> Any:
    """Run `work` on process 0 and give its result to every process; its error is raised on every process."""
    outcome: tuple[str, Any] = ("ok", None)
    if dist.is_main:
        try:
            outcome = ("ok", work())
        except GanzooError as exc:
            if not dist.enabled:
                raise
            outcome = ("error", (exc.message, exc.exit_code))
    kind, value = dist.broadcast_object(outcome)
    if kind == "error":
        message, exit_code = value
        raise GanzooError(message, exit_code=exit_code)
    return value


def recorded_precision(header: dict[str, Any]) -> str | None:
    """The precision mode a training checkpoint's run computed in (from its state's structure), if recorded."""
    return recorded(header, "state_structure", "precision", "mode", allowed=("fp32", "bf16", "fp16"))


def recorded_weight_grads(header: dict[str, Any]) -> bool | None:
    """Whether a training checkpoint's run took the matrix-product weight gradients, if recorded."""
    return recorded(header, "state_structure", "precision", "product_weight_grads")


def _product_grads_wanted(precision: str, device: torch.device) -> bool | None:
    """This host's measured choice of weight gradients where it applies (bf16 on a CPU), else None."""
    if precision != "bf16" or device.type != "cpu":
        return None
    from ganzoo.engine.conv_grad import choose_weight_grad

    return choose_weight_grad()[0]


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
    device = resolve_device(run.train.device)
    dist = init_distributed(device.type)
    with _sigterm_exits():
        return _train_and_report(run, out=out, resume=resume, force=force, progress=progress, dist=dist)


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM outside the training loop exits through Python (so the run folder's lock is released)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        raise SystemExit(143)

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _train_and_report(run: RunConfig, *, out: str | None, resume: bool, force: bool, progress: bool,
                      dist: DistInfo) -> int:
    from ganzoo.engine.run_messages import finished_lines, say, summary_lines
    from ganzoo.engine.trainer import Interrupted

    try:
        try:
            result, rundir = train(run, out=out, resume=resume, force=force, progress=progress, dist=dist,
                                   announce=True, stop_if_finished=True)
        except Interrupted as stop:
            if dist.is_main:
                say(f"Stopped at step {stop.step}; checkpoint written to {stop.checkpoint}. "
                    "Resume with the same command.")
            return stop.exit_code
        except AlreadyFinished as done:
            if dist.is_main:
                for line in finished_lines(run.name, done.folder, done.step, done.total, by_epochs=done.by_epochs,
                                           epochs=done.epochs, checkpoint=done.checkpoint, task=done.task,
                                           argv=sys.argv[1:]):
                    say(line)
            return 0
        if dist.is_main:
            for line in summary_lines(run.name, rundir.root, result, model_spec(run).task):
                say(line)
        return 0
    finally:
        shutdown(dist)
