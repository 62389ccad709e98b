"""A model set up through the real engine, as `ganzoo train NAME` sets it up, stepped in rounds.

`EngineSession(name, ...)` resolves the run configuration with the same precedence rules as
`ganzoo train` (the model's defaults, registry.yaml, `--set`, flags), resolves the model's data (its
built-in default or `data`), builds the model with the plugin's factory, and creates the real
`Trainer` without a run folder. `run(n)` then performs `n` more training steps through
`Trainer.fit` (so every step goes through `StepContext`, the `BatchStream` and `model.train_step`,
with the Trainer's own per-step work) and returns one `StepRecord` per step.

With `measure_threads`, a thread count nobody chose is measured as a fresh `ganzoo train` run
measures it (ganzoo.engine.thread_probe); otherwise the session keeps the count `apply_threads`
gives (side-by-side comparisons want one count on both sides).

Differences from `ganzoo train`, all outside the step: no run folder (so no checkpoint or sample
files), no progress display, and training-health diagnostics off (`diagnostics_every` 0; they run
every 100 steps in a normal run and are timed by the health module itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from ganzoo.bench.probe import StepProbe, StepRecord
from ganzoo.data.source import DataSource
from ganzoo.engine.model import Model
from ganzoo.run_config import RunConfig

__all__ = ["EngineSession", "StepRecord", "resolve_run"]


def resolve_run(
    name: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    train_overrides: Mapping[str, Any] | None = None,
    set_items: Sequence[str] = (),
) -> tuple[RunConfig, Any]:
    """The RunConfig `ganzoo train NAME` would use with these model and training flags, and the spec."""
    from ganzoo.registry import get_registry
    from ganzoo.run_config import resolve

    registry = get_registry()
    spec = registry.resolve_model(name).spec
    entry = registry.catalogue.models.get(spec.name)
    run = resolve(spec, catalogue_defaults=entry.defaults if entry else None, set_items=tuple(set_items),
                  model_flags=dict(overrides or {}), train_flags=dict(train_overrides or {}))
    return run, spec


class EngineSession:
    """One model, its data and a Trainer (no run folder), instrumented by a `StepProbe`."""

    def __init__(
        self,
        name: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        train_overrides: Mapping[str, Any] | None = None,
        set_items: Sequence[str] = (),
        planned_steps: int = 1000,
        weight_grads: bool | None = None,
        measure_threads: bool = False,
    ) -> None:
        from ganzoo.engine import rng
        from ganzoo.engine.compile import choose_compile, compile_nets
        from ganzoo.engine.layout import choose_channels_last
        from ganzoo.engine.precision import resolve_device
        from ganzoo.engine.run import build_model, load_data
        from ganzoo.engine.speed import speed_up_bf16_convs, tune_host_allocator, use_fused_optimizers
        from ganzoo.engine.thread_probe import probe_threads, twin_factory
        from ganzoo.engine.trainer import Trainer
        from ganzoo.threads import apply_threads, settle_threads

        tune_host_allocator()  # as ganzoo.engine.run.train does
        train = {"diagnostics_every": 0, "steps": planned_steps, **dict(train_overrides or {})}
        run, spec = resolve_run(name, overrides=overrides, train_overrides=train, set_items=set_items)
        self.threads = apply_threads(run.train.threads)
        self.device = resolve_device(run.train.device)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        # The same order as ganzoo.engine.run.train: seed, data, model, device, compile, optimizers, reseed.
        precision = run.train.precision
        if precision == "auto":
            from ganzoo.engine.auto_precision import choose_precision

            precision = choose_precision(self.device).mode
        layout = choose_channels_last(run.train.channels_last, precision, self.device.type)
        run = run.replace_train(channels_last=layout.channels_last)
        rng.seed_everything(run.train.seed)
        run, data = load_data(run, spec)
        model = build_model(spec, run.model, training=True)
        model.to(self.device, channels_last=run.train.channels_last)
        compiling = choose_compile(run.train.compile, model.default_compile)
        run = run.replace_train(compile=compiling.enabled)
        if compiling.enabled:
            compile_nets(model.nets)
        product_grads, self.weight_grads = speed_up_bf16_convs(model, precision, self.device, compiling.enabled,
                                                               weight_grads)
        use_fused_optimizers(model.optimizers, self.device)
        if measure_threads:  # the thread count a fresh `ganzoo train` would settle on, measured if nobody chose
            make_twin = twin_factory(spec, run, self.device, precision, product_grads)
            self.threads = settle_threads(self.threads, None, probe_allowed=self.device.type == "cpu"
                                          and not compiling.enabled,
                                          probe=lambda counts: probe_threads(run, make_twin, data, self.device,
                                                                             counts))
        rng.seed_everything(run.train.seed)
        self.run_config: RunConfig = run
        self.spec = spec
        self.data: DataSource = data
        self.model: Model = model
        self.trainer = Trainer(run, model, data, None, device=self.device, progress=False)
        self.probe = StepProbe(self.trainer)

    @property
    def batch_size(self) -> int:
        return self.trainer.stream.batch_size

    def run(self, steps: int, *, count_flops: bool = False) -> list[StepRecord]:
        """Train `steps` more steps; with `count_flops` the first of them runs under the FLOP counter
        (and is not timed, so `steps - 1` records come back)."""
        if steps < 1:
            return []
        self.probe.clear()
        if count_flops:
            self.probe.count_next_step()
        self.trainer.total_steps = self.trainer.step + steps
        self.trainer.fit()
        return list(self.probe.records)

    def close(self) -> None:
        self.probe.detach()
        self.trainer.stream.close()
