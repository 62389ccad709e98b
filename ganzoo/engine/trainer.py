"""The one training loop every family runs through.

The Trainer owns: run length, the deterministic data stream, precision, EMA, schedulers, logging to
metrics.jsonl and the progress display, sample grids from fixed inputs, checkpoints (periodic, last,
best), exact resume, SIGINT/SIGTERM, the non-finite-loss stop and distributed bookkeeping. A model
only provides `train_step` and its family-specific pieces (see `ganzoo.engine.model.Model`).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.augment.augmentation import AUGMENT_STREAM, Augmentation
from ganzoo.augment.spec import parse_augment
from ganzoo.data.source import DataSource
from ganzoo.data.stream import BatchStream
from ganzoo.data.subset import training_subset
from ganzoo.engine import rng
from ganzoo.engine.balance import BalancePolicy
from ganzoo.engine.checkpoint import Checkpoint, load_checkpoint, load_module_state, save_checkpoint
from ganzoo.engine.context import StepContext
from ganzoo.engine.distributed import DistInfo
from ganzoo.engine.ema import EMA
from ganzoo.engine.header import state_mismatch
from ganzoo.engine.health import Health
from ganzoo.engine.images import save_grid
from ganzoo.engine.model import Model
from ganzoo.engine.precision import Precision
from ganzoo.engine.progress import Progress
from ganzoo.engine.rundir import IDENTITY_TRAIN_OPTIONS, RunDir, link_or_copy
from ganzoo.engine.signals import StopRequest
from ganzoo.errors import CheckpointError, ConfigError, TrainingStopped
from ganzoo.run_config import RunConfig
from ganzoo.seeding import derive_seed

PREVIEW_STREAM = 0x9E7


class Interrupted(Exception):
    """Training was stopped by SIGINT/SIGTERM after writing a checkpoint."""

    def __init__(self, exit_code: int, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"interrupted at step {step}")
        self.exit_code = exit_code
        self.step = step
        self.checkpoint = checkpoint


@dataclass
class TrainResult:
    """What a finished run produced."""

    steps: int
    epochs: int
    last_checkpoint: Path | None
    samples: list[Path] = field(default_factory=list)
    final_logs: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


class Trainer:
    """Runs a model's `train_step` for a number of steps with everything around it."""

    def __init__(
        self,
        run: RunConfig,
        model: Model,
        data: DataSource,
        rundir: RunDir | None,
        *,
        device: torch.device,
        dist: DistInfo | None = None,
        progress: bool = True,
        preview_count: int = 64,
    ) -> None:
        self.run = run
        self.train_cfg = run.train
        self.model = model
        self.data = data = training_subset(data, getattr(run.train, "subset", None))
        self.rundir = rundir
        self.device = device
        self.dist = dist or DistInfo()
        self.show_progress = progress and self.dist.is_main
        self.precision = Precision.create(run.train.precision, device, channels_last=run.train.channels_last)
        self.stream = BatchStream(
            data.train,
            run.train.batch_size,
            seed=run.train.seed,
            rank=self.dist.rank,
            world_size=self.dist.world_size,
            num_workers=run.train.num_workers,
            device=device,
            in_memory=data.in_memory,
        )
        if not model.adversarial and (run.train.d_steps is not None or run.train.balance not in ("", "none")):
            raise ConfigError(
                f"--d-steps and --balance apply to models with a discriminator; {run.name!r} has none"
            )
        d_steps = run.train.d_steps or model.default_d_steps
        self.balance = BalancePolicy.parse(run.train.balance, d_steps)
        augment = parse_augment(run.train.augment)
        if augment.enabled and not model.augmentable:
            raise ConfigError(
                f"--augment applies to models that augment every discriminator input; {run.name!r} does not "
                "support it: train without --augment"
            )
        self.augmentation = Augmentation(augment, seed=run.train.seed, rank=self.dist.rank,
                                         reduce=self._sum_over_processes if self.dist.enabled else None)
        decay = run.train.ema_decay if run.train.ema_decay is not None else model.default_ema_decay
        ema_nets = {n: model.nets[n] for n in model.ema_nets if n in model.nets}
        self.ema = EMA(ema_nets, decay) if decay and ema_nets else None
        self.step = 0
        self.epochs_done = 0
        self.total_steps = self._run_length()
        self.ctx = StepContext(model, self.stream, self.precision, self.balance, self.dist,
                               total_steps=self.total_steps, seed=run.train.seed, augmentation=self.augmentation)
        self.preview_count = preview_count
        self.preview_inputs: Any = None
        self.samples: list[Path] = []
        self.best_value: float | None = None
        #: Read logged values back at every step (CPU); else sum them on the device until logging.
        self.read_logs_every_step = device.type == "cpu"
        self._log_sums: dict[str, Any] = {}  # floats, or device tensors until read back
        self._log_counts: dict[str, int] = {}
        self._log_count = 0
        self._last_log_time = time.perf_counter()
        self._last_log_images = 0
        self._last_logs: dict[str, float] = {}
        self._tensorboard = None
        self.health: Health | None = None
        #: Lines shown once the first step of this session has succeeded (e.g. threads and precision).
        self.start_messages: list[str] = []

    # -- set-up -----------------------------------------------------------------------------
    def _run_length(self) -> int:
        t = self.train_cfg
        spe = self.stream.steps_per_epoch
        if t.steps is not None:
            return t.steps
        if t.epochs is not None:
            return max(1, math.ceil(t.epochs * spe / max(1, self.balance.d_steps)))
        hint = self.model.total_steps_hint(spe)
        if hint:
            return hint
        raise ConfigError(f"model {self.run.name!r} has no default run length; give --steps or --epochs")

    def _sum_over_processes(self, values: list[float]) -> list[float]:
        """`values` summed over every process of a distributed run (ADA's sign statistics)."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(tensor)
        return tensor.tolist()

    def _make_preview_inputs(self) -> Any:
        generator = torch.Generator().manual_seed(derive_seed(PREVIEW_STREAM, self.train_cfg.seed))
        try:
            return self.model.preview_inputs(self.preview_count, generator, self.data)
        except NotImplementedError:
            return None

    # -- the loop ---------------------------------------------------------------------------
    def begin(self, resume_from: Path | None = None) -> None:
        """Attach the data and restore `resume_from` (checking it fits this run); writes nothing.

        `fit` calls it unless it was called first (to check a resume before the run folder is touched).
        """
        self.model.attach_data(self.data)
        self.preview_inputs = self._make_preview_inputs()
        if resume_from is not None:
            self.load(resume_from)
        self._begun_from: Path | None = resume_from
        self._begun = True

    @property
    def finished(self) -> bool:
        """Whether the run length is reached already (a resumed run that has nothing left to do)."""
        return self.step >= self.total_steps or self._epochs_reached()

    def result_so_far(self, checkpoint: Path | None) -> TrainResult:
        """The result of a run that has nothing left to do (after `begin`), its sample grids included."""
        samples = self.rundir.samples_written() if self.rundir is not None else []
        return TrainResult(self.step, self.epochs_done, checkpoint, samples)

    def fit(self, resume_from: Path | None = None, *, stop: StopRequest | None = None) -> TrainResult:
        """Train to the end (or a graceful stop); `stop`: a `StopRequest` already listening for signals
        (else one is installed for the loop)."""
        start_time = time.perf_counter()
        if getattr(self, "_begun", False):
            resume_from = self._begun_from
        else:
            self.begin(resume_from)
        self._begun = False  # a later fit() begins again
        if self.rundir is not None and self.dist.is_main and resume_from is not None:
            self.rundir.truncate_after(self.step)
        if self.ema is not None:
            self.ema.to(self.device)
        self.model.train()
        self.model.on_train_start(self.ctx)
        # Training health (ganzoo.engine.health): diagnostics on process 0 every --diagnostics-every steps.
        health = self.health = Health(
            self.model, self.data, every=self.train_cfg.diagnostics_every if self.dist.is_main else 0,
            seed=self.train_cfg.seed, batch_size=self.train_cfg.batch_size,
            rundir=self.rundir if self.dist.is_main else None)
        health.start(self.step)
        self._open_tensorboard()
        progress = Progress(self.total_steps, start=self.step, description=self.run.name, enabled=self.show_progress)
        self._last_log_images = self.ctx.images_seen
        interrupted: Interrupted | None = None
        try:
            with contextlib.nullcontext(stop) if stop is not None else StopRequest() as stop:
                while self.step < self.total_steps and not self._epochs_reached():
                    self.ctx.step = self.step
                    with health.capture(self.step + 1):  # gradient norms at a diagnostics step
                        logs = self._train_step()
                    self.step += 1
                    if progress.interactive:  # after the first step: a run that fails at once shows only its error
                        self._show_start_messages(progress)
                    self.precision.end_step()
                    if self.ema is not None:
                        self.ema.update()
                    if self.model.scheduler_interval == "step":
                        for scheduler in self.model.schedulers.values():
                            scheduler.step()
                    self._finish_epochs()
                    self._accumulate(logs)
                    if self.read_logs_every_step:
                        self._check_finite(logs)
                    health.after_step(self.step, self.epochs_done, logs, progress)
                    self._periodic(progress)
                    if self.dist.all_agree(stop.requested):
                        path = self.save()
                        interrupted = Interrupted(stop.exit_code or 130, self.step, path)
                        break
        finally:
            progress.close()
            if self._tensorboard is not None:
                self._tensorboard.close()
        if interrupted is not None:
            raise interrupted
        self._flush_logs(progress, force=True)
        last = self.save()
        if self.step % self.train_cfg.sample_every != 0 or not self.samples:
            self.write_samples()
        return TrainResult(self.step, self.epochs_done, last, list(self.samples), dict(self._last_logs),
                           time.perf_counter() - start_time)

    def _train_step(self) -> dict[str, Any]:
        try:
            return self.model.train_step(self.ctx)
        except ValueError as exc:
            # torch's batch norm refuses to train on one value per channel (a batch of one image through
            # a BatchNorm1d, say): a batch size the model cannot use, not a bug.
            if "Expected more than 1 value per channel" not in str(exc):
                raise
            raise ConfigError(
                f"a batch of {self.train_cfg.batch_size} is too small for {self.run.name}'s batch normalisation "
                "(it needs more than one value per channel); use a larger --batch-size"
            ) from None

    def _epochs_reached(self) -> bool:
        return self.train_cfg.epochs is not None and self.train_cfg.steps is None and \
            self.epochs_done >= self.train_cfg.epochs

    def _finish_epochs(self) -> None:
        while self.stream.next_epoch > self.epochs_done:
            if self.model.scheduler_interval == "epoch":
                for scheduler in self.model.schedulers.values():
                    scheduler.step()
            self.model.on_epoch_end(self.epochs_done)
            self.epochs_done += 1

    def _periodic(self, progress: Progress) -> None:
        t = self.train_cfg
        at_end = self.step >= self.total_steps
        if self.step % t.log_every == 0 and not at_end:
            self._flush_logs(progress)
        else:
            progress.update(self.step)
        if self.step % t.sample_every == 0:
            self.write_samples()
        if t.eval_every and self.step % t.eval_every == 0:
            self.evaluate(progress)
        if self.step % t.checkpoint_every == 0 and not at_end:
            self.save(periodic=True)

    # -- logging ----------------------------------------------------------------------------
    def _accumulate(self, logs: Mapping[str, Any]) -> None:
        # On the CPU, values are read at once (it costs nothing); on an accelerator they are summed
        # on the device and read back in one transfer when logging, so the step never waits for it.
        for key, value in logs.items():
            if not isinstance(value, torch.Tensor):
                v: Any = float(value)
            elif self.read_logs_every_step:
                v = float(value.detach().float().item())
            else:
                v = value.detach().to(torch.float32 if self.device.type == "mps" else torch.float64).reshape(())
            previous = self._log_sums.get(key)
            self._log_sums[key] = v if previous is None else previous + v
            self._log_counts[key] = self._log_counts.get(key, 0) + 1
        self._log_count += 1
        self._step_logs = logs

    def _read_log_sums(self) -> None:
        """Bring sums kept on the device to the host (one transfer, one synchronisation)."""
        keys = [k for k, v in self._log_sums.items() if isinstance(v, torch.Tensor)]
        if keys:
            values = torch.stack([self._log_sums[k].to(self.device) for k in keys]).cpu().tolist()
            self._log_sums.update(zip(keys, values))

    def _check_finite(self, logs: Mapping[str, Any]) -> None:
        for key, value in logs.items():
            v = float(value.detach().float().item()) if isinstance(value, torch.Tensor) else float(value)
            if not math.isfinite(v):
                last = self.rundir.last if self.rundir is not None and self.rundir.last.exists() else None
                kept = f"the last good checkpoint is kept at {last}" if last else "no checkpoint was written yet"
                message = (f"non-finite loss at step {self.step}: {key}={v}; training stopped and {kept}. "
                           "Try a lower learning rate, --precision fp32, or a different loss")
                if self.rundir is not None and self.dist.is_main:  # for `ganzoo report`'s timeline
                    self.rundir.append_event({"step": self.step, "type": "stop", "kind": "non_finite", "message": message})
                raise TrainingStopped(message)

    def _flush_logs(self, progress: Progress, force: bool = False) -> None:
        if self._log_count == 0:
            return
        self._read_log_sums()
        if not self.read_logs_every_step:
            self._check_finite(self._means())
        now = time.perf_counter()
        images = self.ctx.images_seen - self._last_log_images
        elapsed = max(1e-9, now - self._last_log_time)
        ips = images / elapsed
        means = {**self._means(), **self.augmentation.log_values()}
        record: dict[str, Any] = {"step": self.step, "epoch": self.epochs_done, **means,
                                  "images_per_s": ips, "lr": self._learning_rates()}
        if self.ctx.counters:
            record["counters"] = dict(self.ctx.counters)
        if self.rundir is not None and self.dist.is_main:
            self.rundir.append_metrics(record)
        if self._tensorboard is not None:
            for key, value in means.items():
                self._tensorboard.add_scalar(key, value, self.step)
        self._last_logs = means
        self._show_start_messages(progress)  # without a terminal: with the first log line
        progress.update(self.step, images_per_s=ips, logs=means, log_line=True)
        self._log_sums, self._log_counts, self._log_count = {}, {}, 0
        self._last_log_time, self._last_log_images = now, self.ctx.images_seen

    def _means(self) -> dict[str, float]:
        # Each value averages over the steps that logged it (e.g. D losses on steps without a D update).
        return {k: v / max(1, self._log_counts.get(k, 1)) for k, v in self._log_sums.items()}

    def _learning_rates(self) -> dict[str, float]:
        return {name: float(opt.param_groups[0]["lr"]) for name, opt in self.model.optimizers.items()}

    def _open_tensorboard(self) -> None:
        if not self.train_cfg.tensorboard or self.rundir is None or not self.dist.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
        self._tensorboard = SummaryWriter(str(self.rundir.root / "tensorboard"))

    # -- samples ----------------------------------------------------------------------------
    def inference_nets(self) -> dict[str, torch.nn.Module]:
        nets = dict(self.model.nets)
        if self.ema is not None:
            nets.update(self.ema.copies)
        return nets

    def write_samples(self) -> Path | None:
        if self.rundir is None or not self.dist.is_main or self.preview_inputs is None:
            return None
        nets = self.inference_nets()
        modes = {name: net.training for name, net in nets.items()}
        for net in nets.values():
            net.eval()
        try:
            with torch.no_grad():
                images, nrow = self.model.preview(self.preview_inputs, nets)
        finally:
            for name, net in nets.items():
                net.train(modes[name])
        meta = {"ganzoo:model": self.run.name, "ganzoo:step": str(self.step), "ganzoo:seed": str(self.train_cfg.seed)}
        path = save_grid(images, self.rundir.sample_path(self.step), nrow=nrow, metadata=meta)
        tag = self.model.preview_tag()
        if tag:
            link_or_copy(path, self.rundir.stage_sample_path(tag))
        self.samples.append(path)
        return path

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(self, progress: Progress) -> None:
        """Periodic evaluation (--eval-every): log the metric and keep best.safetensors."""
        from ganzoo.metrics import evaluate_generator

        if not self.dist.is_main:
            return
        nets = self.inference_nets()
        modes = {name: net.training for name, net in nets.items()}
        for net in nets.values():
            net.eval()
        classes = self.model.num_classes

        def generate(n: int, seed: int) -> Any:
            gen = torch.Generator().manual_seed(seed)
            if classes:
                labels = torch.arange(n) % classes
                return self.model.generate(n, generator=gen, labels=labels, nets=nets), labels
            return self.model.generate(n, generator=gen, nets=nets)

        metric = self.train_cfg.eval_metric
        try:
            with torch.no_grad():
                result = evaluate_generator(generate, self._reference_data(), [metric], n=self.train_cfg.eval_n,
                                            extractor=self.train_cfg.eval_extractor,
                                            seed=derive_seed(self.train_cfg.seed, 0xE7A1), device=self.device)
        finally:
            for name, net in nets.items():
                net.train(modes[name])
        key = metric if metric in result.values else next(iter(result.values))
        value = float(result.values[key])
        higher = bool(result.higher_is_better.get(key, False))
        improved = self.best_value is None or (value > self.best_value if higher else value < self.best_value)
        if self.rundir is not None:
            self.rundir.append_metrics({"step": self.step, "eval": result.to_json()})
        progress.message(f"step {self.step}: {key}={value:.4f}" + (" (best)" if improved else ""))
        if improved:
            self.best_value = value
            if self.rundir is not None:
                self._write_checkpoint(self.rundir.best, self.state(gather=False))

    def _reference_data(self) -> DataSource:
        """The training data without random augmentation, for reference statistics."""
        if getattr(self, "_clean_data", None) is None:
            from ganzoo.data import resolve_data
            from ganzoo.engine.model import data_options_for

            self._clean_data = resolve_data(self.data.ref, data_options_for(self.run.model, split="test"))
        return self._clean_data

    def _show_start_messages(self, progress: Progress) -> None:
        while self.start_messages:
            progress.message(self.start_messages.pop(0))

    # -- checkpoints ------------------------------------------------------------------------
    def state(self, gather: bool = True) -> dict[str, Any]:
        """Everything besides network weights needed to continue exactly.

        With `gather` (a collective call: every process must make it) the RNG states of all
        processes are stored, so a resume with the same process count is exact.
        """
        rng_states = self.dist.gather_objects(rng.capture()) if gather else None
        augment = self.augmentation.state_dict()
        # Every process draws its own augmentations: keep each one's generator state, like the RNGs above.
        augment["rng_ranks"] = (self.dist.gather_objects(augment["rng"]) or []) if gather and self.dist.enabled else []
        return {
            "optimizers": {name: opt.state_dict() for name, opt in self.model.optimizers.items()},
            "schedulers": {name: sch.state_dict() for name, sch in self.model.schedulers.items()},
            "precision": self.precision.state_dict(),
            "rng": rng_states[0] if rng_states else rng.capture(),
            "rng_ranks": rng_states or [],
            "stream": self.stream.state_dict(),
            "balance": self.balance.state_dict(),
            "augment": augment,
            "counters": dict(self.ctx.counters),
            "images_seen": self.ctx.images_seen,
            "epochs_done": self.epochs_done,
            "best_value": self.best_value,
            "world_size": self.dist.world_size,
            "extra": self.model.extra_state(),
        }

    def save(self, periodic: bool = False) -> Path | None:
        """Write checkpoints/last.safetensors (and a periodic copy); only process 0 writes."""
        state = self.state()  # every process takes part (RNG gathering)
        if self.rundir is None or not self.dist.is_main:
            return None
        if periodic and self.train_cfg.keep > 0:
            path = self._write_checkpoint(self.rundir.periodic_checkpoint(self.step), state)
            link_or_copy(path, self.rundir.last)
            self.rundir.prune_periodic(self.train_cfg.keep)
        else:
            self._write_checkpoint(self.rundir.last, state)
        return self.rundir.last

    def _write_checkpoint(self, path: Path, state: dict[str, Any] | None = None) -> Path:
        return save_checkpoint(
            path,
            kind="training",
            name=self.run.name,
            plugin=self.run.plugin,
            plugin_version=self.run.plugin_version,
            config=self.run.to_dict(),
            step=self.step,
            epoch=self.epochs_done,
            data=self.train_cfg.data or "",
            data_info=self.data.info(),
            nets={name: net.state_dict() for name, net in self.model.nets.items()},
            ema=self.ema.state_dict() if self.ema is not None else None,
            state=state if state is not None else self.state(),
            notes=getattr(self.model, "notes", lambda: {})(),
        )

    def load(self, path: Path) -> None:
        """Restore everything `save` wrote, so the next step is the one the straight run would take."""
        ck = load_checkpoint(path)
        self._check_compatible(ck)
        try:
            self._restore(ck, path)
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
            # The header's schema is checked on reading; what a state means is known only here.
            reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:160]
            raise CheckpointError(
                f"{path}: its training state does not fit this run ({reason}); the file is damaged or was "
                "edited: resume from another checkpoint, or start over with --no-resume --force"
            ) from None

    def _restore(self, ck: Checkpoint, path: Path) -> None:
        state = ck.state
        mismatch = state_mismatch(state, self.state(gather=False))
        if mismatch:
            raise CheckpointError(f"{path}: its training state does not fit this run ({mismatch}); the file is "
                                  "damaged or was edited: resume from another checkpoint, or start over with "
                                  "--no-resume --force")
        # Family state first: a family whose networks change shape (a new scale, a grown layer)
        # rebuilds them here, before weights and optimizer states are loaded into them.
        self.model.load_extra_state(state.get("extra", {}))
        for name, net in self.model.nets.items():
            if name not in ck.nets:
                raise CheckpointError(f"{path} holds no weights for network {name!r}")
            load_module_state(net, ck.nets[name], what=name, source=str(path))
        if self.ema is not None:
            if ck.ema:
                self.ema.load_state_dict(ck.ema)
            else:  # EMA turned on while resuming: start it from the current weights
                for name, twin in self.ema.copies.items():
                    twin.load_state_dict(self.model.nets[name].state_dict())
        for name, opt in self.model.optimizers.items():
            if name in state.get("optimizers", {}):
                opt.load_state_dict(state["optimizers"][name])
        for name, sch in self.model.schedulers.items():
            if name in state.get("schedulers", {}):
                sch.load_state_dict(state["schedulers"][name])
        self.precision.load_state_dict(state.get("precision", {}))
        self.stream.load_state_dict(state["stream"])
        self.balance.load_state_dict(state.get("balance", {}))
        self.ctx.counters = dict(state.get("counters", {}))
        self.ctx.images_seen = int(state.get("images_seen", 0))
        self.epochs_done = int(state.get("epochs_done", 0))
        self.best_value = state.get("best_value")
        self.step = ck.step
        self._restore_augmentation(state.get("augment", {}))
        ranks = state.get("rng_ranks") or []
        if len(ranks) == self.dist.world_size and self.dist.rank < len(ranks):
            rng.restore(ranks[self.dist.rank])
        elif self.dist.rank == 0 and "rng" in state and self.dist.world_size == 1:
            rng.restore(state["rng"])
        else:  # a different process count: fresh, distinct streams per process
            rng.seed_everything(derive_seed(self.train_cfg.seed, self.step), self.dist.rank)
        self.model.to(self.device, channels_last=self.train_cfg.channels_last)
        _match_state_layout(self.model.optimizers.values())
        self.model.adjust_for_resume()

    def _restore_augmentation(self, state: Mapping[str, Any]) -> None:
        """ADA's p and statistics, and this process's augmentation generator (fresh if the process count changed)."""
        ranks = state.get("rng_ranks") or []
        if self.dist.world_size > 1 and len(ranks) != self.dist.world_size:
            fresh = torch.Generator().manual_seed(derive_seed(AUGMENT_STREAM, self.train_cfg.seed, self.step,
                                                              self.dist.rank))
            self.augmentation.load_state_dict(dict(state), rng=fresh.get_state())
        else:
            self.augmentation.load_state_dict(dict(state), rng=ranks[self.dist.rank] if ranks else None)

    def _check_compatible(self, ck: Checkpoint) -> None:
        if ck.name != self.run.name:
            raise CheckpointError(f"{ck.path} is a {ck.name!r} checkpoint, not {self.run.name!r}")
        if ck.kind != "training":
            raise CheckpointError(f"{ck.path} holds weights only (kind {ck.kind!r}); it cannot resume training")
        saved = ck.config.get("model", {})
        current = self.run.to_dict()["model"]
        differing = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
        if differing:
            detail = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in differing[:4])
            raise ConfigError(
                f"the run in {Path(ck.path).parent.parent} was trained with different model options ({detail}); "
                "resume with the same options, or start over with --no-resume --force or another --out"
            )
        saved_train = ck.config.get("train", {})
        for key in IDENTITY_TRAIN_OPTIONS:
            if key in saved_train and saved_train[key] != getattr(self.train_cfg, key):
                raise ConfigError(
                    f"the run in {Path(ck.path).parent.parent} was trained with {key}={saved_train[key]!r}, "
                    f"not {getattr(self.train_cfg, key)!r}; resume with the same value or use another --out"
                )


def _match_state_layout(optimizers: Any) -> None:
    """Give each optimizer state tensor its parameter's memory layout (a checkpoint stores them contiguous).

    A straight channels-last run keeps Adam's moments channels-last like their parameters; the fused and
    for-each optimizer kernels then step them element by element in the same order. Restored contiguous
    beside channels-last parameters, they would be stepped differently and the resume would not be exact.
    """
    for opt in optimizers:
        for param, state in opt.state.items():
            for key, value in state.items():
                if (isinstance(value, torch.Tensor) and value.shape == param.shape
                        and value.stride() != param.stride()):
                    state[key] = torch.empty_like(param, dtype=value.dtype).copy_(value)

