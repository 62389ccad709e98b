"""Training health: diagnostics every N steps (`--diagnostics-every`) and warnings with what to try.

At a diagnostics step the Trainer records, in `metrics.jsonl` as `{"step": N, "epoch": E, "health": {...}}`
and as one line in the progress display:

- `d_acc_real`, `d_acc_fake`: the discriminator's accuracy on real and generated images, averaged
  over the steps since the previous check (from what the model logs);
- `grad_norm`: the L2 norm of the gradients each optimizer stepped with at this step, read by an
  optimizer step hook (the update itself is not touched);
- `diversity_pixel`, `diversity_feature`: the mean pairwise distance of images generated from a fixed
  latent batch, relative to the same on a fixed batch of real images (1.0 = as diverse as the data),
  in pixel space and in the feature space of the data set's own extractor (`digits` for the digits);
- `class_coverage` (and `class_acc` for conditional models): the share of classes the extractor's
  classifier finds among the generated images (and how many carry the label they were asked for);
  `class_fractions` (with `class_samples`): the share of each class among them, which `ganzoo report`
  draws as a histogram;
- `seconds`, `overhead`: what this check cost, and all checks so far as a share of training time.

Feature-space diversity and class coverage run when they fit in a budget (3% of the training time
by default); the cheap parts run at every check. Diagnostics use their own random generator, run
the networks in evaluation mode without gradients and restore the global random state, so they never
change what training does: a run with diagnostics gives bit-identical weights to one without.

Warnings (one line each, at most once per `cooldown` checks per kind, also appended to `events.jsonl`):
`d_winning`, `mode_collapse`, `vanishing_gradients`, `exploding_gradients`.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import statistics
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from ganzoo.seeding import derive_seed

if TYPE_CHECKING:
    from ganzoo.data.source import DataSource
    from ganzoo.engine.model import Model
    from ganzoo.engine.rundir import RunDir

HEALTH_STREAM = 0x4EA17
"""Seed stream of the diagnostics' own random generator (fixed latents, real reference batch)."""

PIXEL_SIDE = 64
"""Images larger than this are average-pooled to at most this side before pixel distances."""

_OBSERVED = ("d_acc_real", "d_acc_fake", "loss_g")
_NOTHING = contextlib.nullcontext()

WARNING_KINDS = ("d_winning", "mode_collapse", "vanishing_gradients", "exploding_gradients", "diagnostics_failed")


@dataclass
class HealthConfig:
    """Sizes, budget and warning thresholds of the diagnostics."""

    samples: int = 64
    """Images generated from the fixed latent batch (and real images in the reference batch)."""
    budget: float = 0.03
    """Share of training time the optional parts (features, classes) may use."""
    feature_cost_prior: float = 0.15
    """Seconds the first feature computation is assumed to cost, before it has been measured."""
    collapse_fraction: float = 0.25
    """Diversity below this share of the real data's counts as collapsed."""
    collapse_patience: int = 2
    """Consecutive collapsed checks (with no recovery between the first and the last) before the warning."""
    winning_accuracy: float = 0.95
    """Discriminator accuracy (mean of real and fake) at or above which it is winning."""
    winning_window: int = 3
    """Consecutive checks of a winning discriminator (with a generator loss rising from check to check)."""
    vanishing: float = 1e-6
    """Gradient norm below which gradients have vanished (adversarial families)."""
    vanishing_patience: int = 2
    exploding: float = 1e4
    """Gradient norm above which gradients have exploded (adversarial families)."""
    exploding_jump: float = 100.0
    """A gradient norm this many times its recent median has exploded (every family)."""
    cooldown: int = 10
    """Checks between two warnings of the same kind (and network)."""


DEFAULTS = HealthConfig()


@dataclass
class HealthWarning:
    """One warning: the step it was raised at, its kind, the one-line message and the values behind it."""

    step: int
    kind: str
    message: str
    values: dict[str, Any] = field(default_factory=dict)

    def event(self) -> dict[str, Any]:
        """The record appended to events.jsonl."""
        return {"step": self.step, "type": "warning", "kind": self.kind, "message": self.message,
                "values": self.values, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}


# -- arithmetic -------------------------------------------------------------------------------------
def mean_pairwise_distance(x: torch.Tensor) -> float:
    """Mean Euclidean distance between all pairs of rows of `x` (N x ...), divided by sqrt(row length)."""
    flat = x.reshape(x.shape[0], -1).double()
    n, dim = flat.shape
    if n < 2:
        return float("nan")
    flat = flat - flat.mean(dim=0, keepdim=True)  # same distances, less cancellation (identical rows give 0)
    sq = (flat * flat).sum(dim=1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * flat @ flat.T).clamp_min_(0.0)
    d2.fill_diagonal_(0.0)
    return float(d2.sqrt().sum()) / (n * (n - 1)) / math.sqrt(dim)


def pixel_view(images: torch.Tensor, side: int | None = None) -> torch.Tensor:
    """`images` on the CPU in fp32, average-pooled to at most `PIXEL_SIDE` (or to `side`) pixels a side."""
    x = images.detach().float().cpu()
    target = side or min(PIXEL_SIDE, x.shape[-1])
    if x.shape[-1] != target or x.shape[-2] != target:
        x = F.adaptive_avg_pool2d(x, (target, target))
    return x


# -- gradient norms ---------------------------------------------------------------------------------
class GradientCapture:
    """Reads the gradient norm of every optimizer step taken while it is installed (read-only)."""

    def __init__(self, optimizers: Mapping[str, torch.optim.Optimizer]) -> None:
        self.norms: dict[str, list[torch.Tensor]] = {}
        self._handles = [opt.register_step_post_hook(partial(self._hook, name)) for name, opt in optimizers.items()]

    def _hook(self, name: str, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        grads = [p.grad for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        if not grads:
            return
        try:
            with torch.no_grad():
                norms = [torch.linalg.vector_norm(g.detach().float()) for g in grads if not g.is_sparse]
                total = torch.linalg.vector_norm(torch.stack(norms)) if norms else None
        except RuntimeError:  # e.g. gradients on several devices: no norm rather than a failed step
            return
        if total is not None:
            self.norms.setdefault(name, []).append(total)

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def result(self) -> dict[str, float]:
        """Per optimizer, the mean norm over the steps it took."""
        return {name: float(torch.stack(values).mean()) for name, values in self.norms.items() if values}


# -- warning rules ----------------------------------------------------------------------------------
class HealthRules:
    """Turns the sequence of checks into warnings (no torch; one instance per run)."""

    def __init__(self, config: HealthConfig = DEFAULTS, *, every: int = 1, adversarial: bool = True) -> None:
        self.config = config
        self.every = max(1, every)
        self.adversarial = adversarial
        self.history: list[dict[str, Any]] = []
        self.last_warned: dict[str, int] = {}

    def remember(self, kind: str, step: int) -> None:
        """Note a warning raised earlier in this run (e.g. read back from events.jsonl on resume)."""
        self.last_warned[kind] = max(step, self.last_warned.get(kind, step))

    def check(self, step: int, values: Mapping[str, Any]) -> list[HealthWarning]:
        """Add one check (`d_acc`, `loss_g`, `diversity_pixel`, `diversity_feature`, `grad_norm`); return new warnings."""
        entry = {"step": step, **values}
        self.history.append(entry)
        del self.history[: max(0, len(self.history) - 64)]
        found = [*self._winning(), *self._collapse(), *self._gradients()]
        return [w for w in found if self._allowed(w)]

    def _allowed(self, warning: HealthWarning) -> bool:
        key = warning.kind + (f":{warning.values['net']}" if "net" in warning.values else "")
        last = self.last_warned.get(key)
        if last is not None and warning.step - last < self.config.cooldown * self.every:
            return False
        self.last_warned[key] = warning.step
        return True

    def _recent(self, n: int, key: str) -> list[dict[str, Any]] | None:
        recent = self.history[-n:]
        if len(recent) < n or any(_missing(e.get(key)) for e in recent):
            return None
        return recent

    def _winning(self) -> list[HealthWarning]:
        c = self.config
        recent = self._recent(c.winning_window, "d_acc")
        if recent is None or any(_missing(e.get("loss_g")) for e in recent):
            return []
        if not all(e["d_acc"] >= c.winning_accuracy for e in recent):
            return []
        losses = [e["loss_g"] for e in recent]
        first, last = losses[0], losses[-1]
        if not (last > first and all(b >= a for a, b in itertools.pairwise(losses))):
            return []  # the generator loss must rise through the window, not just end higher
        step0, step1 = recent[0]["step"], recent[-1]["step"]
        message = (
            f"the discriminator is winning: its accuracy stayed above {c.winning_accuracy:.2f} "
            f"(now {recent[-1]['d_acc']:.2f}) while the generator loss rose from {first:.3g} to {last:.3g} "
            f"(steps {step0}-{step1}); try --balance skip-d:THRESHOLD or --balance adaptive, a lower "
            "discriminator learning rate than the generator's, or fewer --d-steps"
        )
        return [HealthWarning(step1, "d_winning", message,
                              {"d_acc": recent[-1]["d_acc"], "loss_g_from": first, "loss_g_to": last})]

    def _collapse(self) -> list[HealthWarning]:
        c = self.config
        step = self.history[-1]["step"]
        for key, space in (("diversity_feature", "features"), ("diversity_pixel", "pixels")):
            readings = [e for e in self.history if not _missing(e.get(key))][-c.collapse_patience:]
            if len(readings) < c.collapse_patience or readings[-1]["step"] != step:
                continue
            values = [e[key] for e in readings]
            if not all(v < c.collapse_fraction for v in values):
                continue
            if values[-1] > values[0] + 0.1 * c.collapse_fraction:
                continue  # low but recovering, as at the start of training
            step0 = readings[0]["step"]
            message = (
                f"possible mode collapse: sample diversity is {values[-1]:.2f} of the real data's ({space}) for "
                f"{len(values)} checks since step {step0}; try a lower generator learning rate, --balance adaptive, "
                "another loss (hinge, or wasserstein with a gradient penalty), a larger batch, or resuming from a "
                f"checkpoint before step {step0}"
            )
            return [HealthWarning(step, "mode_collapse", message, {"diversity": values[-1], "space": space})]
        return []

    def _gradients(self) -> list[HealthWarning]:
        c = self.config
        last = self.history[-1]
        norms: Mapping[str, float] = last.get("grad_norm") or {}
        found: list[HealthWarning] = []
        for name, value in norms.items():
            previous = [e["grad_norm"][name] for e in self.history[-11:-1]
                        if name in (e.get("grad_norm") or {}) and math.isfinite(e["grad_norm"][name])]
            median = statistics.median(previous) if len(previous) >= 3 else None
            jump = median is not None and median > 0 and value > c.exploding_jump * median
            if not math.isfinite(value) or jump or (self.adversarial and value > c.exploding):
                why = f"{value / median:.0f}x its recent median" if jump else f"above {c.exploding:.0e}"
                if not math.isfinite(value):
                    why = "not finite"
                message = (
                    f"exploding gradients: the {name} gradient norm is {value:.2e} ({why}); try a lower learning "
                    "rate, a gradient penalty or spectral normalisation, --precision fp32, or resuming from an "
                    "earlier checkpoint"
                )
                found.append(HealthWarning(last["step"], "exploding_gradients", message,
                                           {"net": name, "grad_norm": value, "median": median}))
                continue
            if not self.adversarial:
                continue
            streak = [e for e in self.history[-c.vanishing_patience:] if name in (e.get("grad_norm") or {})]
            if len(streak) == c.vanishing_patience and all(e["grad_norm"][name] < c.vanishing for e in streak):
                message = (
                    f"vanishing gradients: the {name} gradient norm is {value:.1e} (below {c.vanishing:.0e}) for "
                    f"{len(streak)} checks; the discriminator is probably saturated: use the non-saturating (bce) "
                    "or hinge loss, --balance skip-d:THRESHOLD, or a lower discriminator learning rate"
                )
                found.append(HealthWarning(last["step"], "vanishing_gradients", message,
                                           {"net": name, "grad_norm": value}))
        return found


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


# -- the diagnostics --------------------------------------------------------------------------------
@dataclass
class _Reference:
    """Diversity of a fixed batch of real images, at each image size generated images came in."""

    images: torch.Tensor
    labels: torch.Tensor | None
    pixel: dict[int, float] = field(default_factory=dict)
    feature: dict[tuple[int, int], float] = field(default_factory=dict)

    def at_size(self, height: int, width: int) -> torch.Tensor:
        """The real images brought to `height` x `width` (as a growing model's current stage makes them)."""
        if tuple(self.images.shape[-2:]) == (height, width):
            return self.images
        return F.interpolate(self.images, size=(height, width), mode="area")


class Health:
    """The diagnostics and warnings of one run (the Trainer calls `capture` and `after_step`)."""

    def __init__(
        self,
        model: Model,
        data: DataSource | None,
        *,
        every: int,
        seed: int,
        batch_size: int = 64,
        rundir: RunDir | None = None,
        config: HealthConfig | None = None,
    ) -> None:
        self.model = model
        self.data = data
        self.every = every
        self.seed = seed
        self.batch_size = max(1, batch_size)
        self.rundir = rundir
        self.config = config or DEFAULTS
        self.adversarial = bool(getattr(model, "adversarial", False))
        self.can_generate = _implements(model, "generate")
        self.rules = HealthRules(self.config, every=every, adversarial=self.adversarial)
        self.warnings: list[HealthWarning] = []
        self.last: dict[str, Any] = {}
        self._capture: GradientCapture | None = None
        self._observed: dict[str, list[torch.Tensor | float]] = {}
        self._reference: _Reference | bool | None = False  # False: not built yet; None: no usable real images
        self._extractor: Any = False  # False: not built yet; None: none for this data
        self._own_seconds = 0.0
        self._optional_seconds = 0.0
        self._optional_estimate: float | None = None
        self._clock = time.perf_counter
        self._started = self._clock()

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def due(self, step: int) -> bool:
        """True when the step numbered `step` (counting from 1) is a diagnostics step."""
        return self.enabled and step > 0 and step % self.every == 0

    def start(self, step: int) -> None:
        """Called before the first step (also after a resume): re-arm rate limits from events.jsonl."""
        # Time is measured as what diagnostics take from training: the training thread's CPU time on
        # the CPU, wall time on an accelerator (where the CPU mostly waits).
        self._clock = time.thread_time if self.model.device.type == "cpu" else time.perf_counter
        self._started = self._clock()
        if self.rundir is None or not self.rundir.events_path.exists():
            return
        import json

        for line in self.rundir.events_path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("type") == "warning" and int(event.get("step", 0)) <= step:
                values = event.get("values") or {}
                key = event.get("kind", "") + (f":{values['net']}" if "net" in values else "")
                self.rules.remember(key, int(event["step"]))

    def capture(self, step: int) -> contextlib.AbstractContextManager:
        """Around `train_step` of the step numbered `step`: read gradient norms when it is a diagnostics step."""
        return self._capturing() if self.due(step) else _NOTHING

    @contextlib.contextmanager
    def _capturing(self) -> Iterator[None]:
        began = self._clock()
        self._capture = GradientCapture(self.model.optimizers)
        self._own_seconds += self._clock() - began
        try:
            yield
        finally:
            self._capture.remove()

    def observe(self, logs: Mapping[str, Any]) -> None:
        """Keep, without reading them back from the device, the values the warnings need."""
        if not self.enabled:
            return
        observed = self._observed
        for key in _OBSERVED:
            value = logs.get(key)
            if value is not None:
                bucket = observed.get(key)
                if bucket is None:
                    bucket = observed[key] = []
                bucket.append(value)  # logs are detached already (the Model contract)
                if len(bucket) >= 1024:
                    bucket[:] = [_mean(bucket)]

    def after_step(self, step: int, epoch: int, logs: Mapping[str, Any], progress: Any = None) -> dict[str, Any] | None:
        """After the step numbered `step`: observe its logs and, at a diagnostics step, diagnose and warn."""
        if not self.enabled:
            return None
        self.observe(logs)
        if not self.due(step):
            return None
        began = self._clock()
        try:
            with _isolated_rng(self.model.device):
                record = self.diagnose(began)
        except Exception as exc:  # a diagnostics bug must not end a long run
            if os.environ.get("GANZOO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
                raise
            self._give_up(step, exc, progress)
            return None
        self.last = record
        values = {
            "d_acc": _mean_of(record.get("d_acc_real"), record.get("d_acc_fake")),
            "loss_g": record.pop("_loss_g", None),
            "grad_norm": record.get("grad_norm") or {},
        }
        for key in ("diversity_pixel", "diversity_feature"):
            values[key] = record.get(key)
        new = self.rules.check(step, values)
        seconds = self._clock() - began
        self._own_seconds += seconds
        elapsed = max(1e-9, self._clock() - self._started - self._own_seconds)
        record["seconds"] = seconds
        record["overhead"] = self._own_seconds / elapsed
        if self.rundir is not None:
            self.rundir.append_metrics({"step": step, "epoch": epoch, "health": record})
            for warning in new:
                self.rundir.append_event(warning.event())
        self.warnings.extend(new)
        if progress is not None:
            progress.message(f"health at step {step}: {summary_line(record)}")
            for warning in new:
                progress.message(f"Warning: step {warning.step}: {warning.message}")
        return record

    def _give_up(self, step: int, exc: Exception, progress: Any) -> None:
        self.every = 0
        detail = str(exc).splitlines()[0] if str(exc) else ""
        warning = HealthWarning(step, "diagnostics_failed",
                                f"training-health diagnostics failed ({type(exc).__name__}: {detail}) and are off "
                                "for the rest of this run; training goes on (GANZOO_DEBUG=1 shows the traceback)")
        self.warnings.append(warning)
        if self.rundir is not None:
            self.rundir.append_event(warning.event())
        if progress is not None:
            progress.message(f"Warning: step {step}: {warning.message}")

    # -- the measurements ---------------------------------------------------------------------
    def diagnose(self, began: float) -> dict[str, Any]:
        record: dict[str, Any] = {}
        observed, self._observed = self._observed, {}
        for key in ("d_acc_real", "d_acc_fake"):
            if observed.get(key):
                record[key] = _mean(observed[key])
        if observed.get("loss_g"):
            record["_loss_g"] = _mean(observed["loss_g"])
        if self._capture is not None:
            record["grad_norm"] = self._capture.result()
            self._capture = None
        if not self.can_generate:
            return record
        images, labels = self._generate()
        if images is None:
            return record
        reference = self._real_reference()
        side = pixel_view(images).shape[-1]
        pixel = mean_pairwise_distance(pixel_view(images))
        record["diversity_pixel_abs"] = pixel
        if reference is not None:
            real = reference.pixel.get(side)
            if real is None:
                real_images = reference.at_size(int(images.shape[-2]), int(images.shape[-1]))
                real = reference.pixel[side] = mean_pairwise_distance(pixel_view(real_images, side))
            record["diversity_pixel"] = pixel / real if real > 0 else None
        if self._optional_affordable(began):
            started = self._clock()
            self._features(images, labels, reference, record)
            cost = self._clock() - started
            self._optional_seconds += cost
            self._optional_estimate = cost if self._optional_estimate is None else 0.5 * (self._optional_estimate + cost)
        return record

    def _optional_affordable(self, began: float) -> bool:
        if self._extractor is None:
            return False
        training = max(0.0, began - self._started - self._own_seconds)
        credit = self.config.budget * training - self._own_seconds
        estimate = self._optional_estimate if self._optional_estimate is not None else self.config.feature_cost_prior
        return credit >= estimate

    def _fixed_generator(self, stream: int) -> torch.Generator:
        return torch.Generator().manual_seed(derive_seed(self.seed, HEALTH_STREAM, stream))

    def _class_count(self) -> int | None:
        k = getattr(self.model, "num_classes", None)
        return int(k) if k and getattr(self.model, "conditional", True) else None

    @torch.no_grad()
    def _generate(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        n = self.config.samples
        generator = self._fixed_generator(0)
        k = self._class_count()
        labels = torch.arange(n) % k if k else None
        nets = self.model.nets
        used = [nets[name] for name in getattr(self.model, "inference_nets", ()) if name in nets] or list(nets.values())
        modes = [net.training for net in used]
        for net in used:
            net.eval()
        chunks = []
        try:
            chunk = max(16, 2 * self.batch_size)  # no gradients: twice the training batch fits
            for start in range(0, n, chunk):
                size = min(chunk, n - start)
                chunk_labels = labels[start:start + size] if labels is not None else None
                out = self.model.generate(size, generator=generator, labels=chunk_labels, nets=nets)
                chunks.append(out.detach().float().cpu())
        except NotImplementedError:
            self.can_generate = False
            return None, None
        finally:
            for net, mode in zip(used, modes):
                net.train(mode)
        return torch.cat(chunks), labels

    def _real_reference(self) -> _Reference | None:
        if self._reference is not False:
            return self._reference  # type: ignore[return-value]
        self._reference = None
        train = getattr(self.data, "train", None)
        if train is None or len(train) < 2:
            return None
        n = min(self.config.samples, len(train))
        order = torch.randperm(len(train), generator=self._fixed_generator(1))[:n].tolist()
        keys = [(int(i), derive_seed(self.seed, HEALTH_STREAM, 2, int(i))) for i in order]
        try:
            with _isolated_rng(self.model.device, python=True):
                if hasattr(train, "get_batch"):
                    batch = train.get_batch(keys)
                else:
                    items = [train[key] for key in keys]
                    batch = {k: torch.stack([item[k] for item in items])
                             for k in items[0] if isinstance(items[0][k], torch.Tensor)}
        except Exception:  # data without a uniform image batch: no reference, diagnostics go on
            return None
        images = batch.get("image") if isinstance(batch, Mapping) else None
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            return None
        labels = batch.get("label")
        self._reference = _Reference(images.detach().float().cpu(), labels if isinstance(labels, torch.Tensor) else None)
        return self._reference

    def _get_extractor(self) -> Any:
        if self._extractor is not False:
            return self._extractor
        self._extractor = None
        from ganzoo.metrics.catalog import DEFAULT_EXTRACTOR, default_extractor_for
        data_name = lambda d: str(getattr(d, "ref", "") or "").split(":", 1)[0]  # noqa: E731

        name = default_extractor_for(data_name(self.data)) if self.data is not None else DEFAULT_EXTRACTOR
        if name == DEFAULT_EXTRACTOR:
            return None  # no cheap extractor made for this data: pixel space only
        try:
            from ganzoo.metrics.extractors import get_extractor

            self._extractor = get_extractor(name, None, "cpu")
        except Exception:  # missing weights: keep training, without feature diagnostics
            self._extractor = None
        return self._extractor

    def _features(self, images: torch.Tensor, labels: torch.Tensor | None, reference: _Reference | None,
                  record: dict[str, Any]) -> None:
        extractor = self._get_extractor()
        if extractor is None:
            return
        feats, logits = extractor.extract(images)
        feats_t = torch.from_numpy(feats)
        record["diversity_feature_abs"] = mean_pairwise_distance(feats_t)
        classes = extractor.num_classes if extractor.num_classes == getattr(self.data, "num_classes", None) else None
        if reference is not None:
            size = (int(images.shape[-2]), int(images.shape[-1]))
            if size not in reference.feature:
                ref_feats, _ = extractor.extract(reference.at_size(*size))
                reference.feature[size] = mean_pairwise_distance(torch.from_numpy(ref_feats))
            if reference.feature[size] > 0:
                record["diversity_feature"] = record["diversity_feature_abs"] / reference.feature[size]
        if classes and logits is not None:
            predicted = logits.argmax(1)
            record["class_coverage"] = _coverage(predicted, classes)
            counts = torch.bincount(torch.from_numpy(predicted).long(), minlength=classes).tolist()
            record["class_fractions"] = [round(float(c) / len(predicted), 4) for c in counts]
            record["class_samples"] = len(predicted)
            if labels is not None:
                record["class_acc"] = float((torch.from_numpy(predicted) == labels).float().mean())


def _coverage(predicted: Any, classes: int) -> float:
    return len({int(p) for p in predicted}) / classes


def _implements(model: Any, method: str) -> bool:
    from ganzoo.engine.model import Model

    return getattr(type(model), method, None) is not getattr(Model, method)


def _mean(values: Sequence[torch.Tensor | float]) -> float:
    tensors = [v for v in values if isinstance(v, torch.Tensor)]
    total = sum(float(v) for v in values if not isinstance(v, torch.Tensor))
    if tensors:
        try:
            total += float(torch.stack(tensors).detach().double().sum())  # one read-back from the device
        except RuntimeError:  # scalars of different shapes
            total += sum(float(t.detach().double().mean()) for t in tensors)
    return total / len(values)


def _mean_of(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@contextlib.contextmanager
def _isolated_rng(device: torch.device, *, python: bool = False) -> Iterator[None]:
    """Restore torch's global random states (CPU, and CUDA on a GPU) after the block; with `python`,
    also Python's and NumPy's (around data set code, which may use them)."""
    devices = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    if not python:
        with torch.random.fork_rng(devices=devices):
            yield
        return
    import random

    import numpy as np

    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


def summary_line(record: Mapping[str, Any]) -> str:
    """The health record in one short line for the progress display."""
    parts = []
    if record.get("d_acc_real") is not None and record.get("d_acc_fake") is not None:
        parts.append(f"D accuracy real {record['d_acc_real']:.2f} fake {record['d_acc_fake']:.2f}")
    norms = record.get("grad_norm") or {}
    if norms:
        parts.append("grad " + " ".join(f"{k} {v:.2e}" for k, v in norms.items()))
    if record.get("diversity_pixel") is not None:
        text = f"diversity {record['diversity_pixel']:.2f} of real"
        if record.get("diversity_feature") is not None:
            text += f" (features {record['diversity_feature']:.2f})"
        parts.append(text)
    elif record.get("diversity_pixel_abs") is not None:
        parts.append(f"diversity {record['diversity_pixel_abs']:.3f}")
    if record.get("class_coverage") is not None:
        text = f"classes {record['class_coverage']:.0%}"
        if record.get("class_acc") is not None:
            text += f", on label {record['class_acc']:.0%}"
        parts.append(text)
    return "; ".join(parts) if parts else "no diagnostics for this model"
