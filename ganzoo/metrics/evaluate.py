"""Compute metrics for generated images (from a generator or a folder) against a data set."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import numpy as np
import torch

from ganzoo.errors import GanzooError
from ganzoo.metrics.catalog import default_extractor_for
from ganzoo.metrics.context import METRIC_DEFAULTS, FeatureSet, MetricContext
from ganzoo.metrics.protocol import PROTOCOL_VERSION, EvalResult
from ganzoo.metrics.reference import quantize, reference_features
from ganzoo.seeding import derive_seed

Batch = tuple[torch.Tensor, "torch.Tensor | None"]
GENERATION_CHUNK = 250
"""Images asked of `generate` per call; chunk i is generated with seed derive_seed(seed, i)."""


def parse_metric_names(metrics: str | Sequence[str]) -> list[str]:
    """'fid,kid' or ['fid', 'kid'] -> ['fid', 'kid'] (order kept, duplicates dropped)."""
    parts = metrics.split(",") if isinstance(metrics, str) else [p for m in metrics for p in str(m).split(",")]
    names: list[str] = []
    for p in (x.strip() for x in parts):
        if p and p not in names:
            names.append(p)
    if not names:
        raise GanzooError("no metric given; e.g. --metric fid,kid")
    return names


def resolve_metrics(metrics: str | Sequence[str]) -> list[Any]:
    """The registered `MetricSpec` of each name (unknown names fail before any work is done)."""
    from ganzoo.registry import get_registry

    registry = get_registry()
    return [registry.metric(name) for name in parse_metric_names(metrics)]


def data_name(data: Any) -> str:
    """The data set name of a resolved data source (`digits` for `digits:32`)."""
    return str(getattr(data, "ref", "") or "").split(":", 1)[0]


def _plugin_versions() -> dict[str, str]:
    try:
        from ganzoo.registry import get_registry

        return {name: rec.version for name, rec in sorted(get_registry().plugins.records.items())}
    except GanzooError:
        return {}


class _Bars:
    """Rich progress bars on stderr, or nothing."""

    def __init__(self, enabled: bool) -> None:
        self.progress = None
        self.tasks: dict[str, Any] = {}
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
            )

    def __enter__(self) -> _Bars:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, name: str, done: int, total: int | None) -> None:
        if self.progress is None:
            return
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(self.tasks[name], completed=done, total=total)


def evaluate_batches(
    batches: Iterable[Batch],
    data: Any,
    metrics: str | Sequence[str],
    *,
    extractor: str | None = None,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    seed: int = 0,
    split: str = "train",
    n_ref: int | None = None,
    image_key: str = "image",
    options: Mapping[str, Any] | None = None,
    total: int | None = None,
    progress: bool = False,
    source: Mapping[str, Any] | None = None,
    description: str = "features",
    source_size: tuple[int, int] | None = None,
) -> EvalResult:
    """Metrics of the images in `batches` ((N x C x H x W in [-1, 1], labels or None) pairs) against `data`.

    `source_size` is the images' size before the caller resized them to the compared size (stamped as
    `source_image_size`; default: the size they arrive in).
    """
    from ganzoo._lazy import import_string
    from ganzoo.metrics.extractors import get_extractor

    started = time.perf_counter()
    specs = resolve_metrics(metrics)
    name = extractor or default_extractor_for(data_name(data))
    ext = get_extractor(name, weights, device)
    opts = {**METRIC_DEFAULTS, **dict(options or {})}
    feats: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    shape: tuple[int, int, int] | None = None
    count = 0
    with _Bars(progress) as bars:
        for images, lab in batches:
            if images.ndim != 4:
                raise GanzooError(f"expected N x C x H x W images, got shape {tuple(images.shape)}")
            if shape is None:
                shape = (int(images.shape[1]), int(images.shape[2]), int(images.shape[3]))
            elif tuple(images.shape[1:]) != shape:
                raise GanzooError(f"images changed shape from {shape} to {tuple(images.shape[1:])} between batches")
            f, lg = ext.extract(quantize(images.detach().float()))
            feats.append(f)
            if lg is not None:
                logits.append(lg)
            if lab is not None:
                labels.append(torch.as_tensor(lab).detach().cpu().long().view(-1).numpy())
            count += int(images.shape[0])
            bars.update(f"{description} ({ext.name})", count, total)
        if shape is None or count < 2:
            raise GanzooError(f"need at least 2 images to evaluate, got {count}")
        if labels and sum(len(x) for x in labels) != count:
            raise GanzooError("labels were given for some batches but not all")
        fake = FeatureSet(
            np.concatenate(feats),
            np.concatenate(logits) if logits else None,
            np.concatenate(labels) if labels else None,
        )
        ref_fields: dict[str, Any] = {}

        def load_real() -> FeatureSet:
            if data is None:
                raise GanzooError("these metrics need reference images: pass --data")
            fs, fields = reference_features(
                data, ext, split=split, count=n_ref, image_key=image_key,
                progress=lambda done, tot: bars.update(f"reference {data.ref} [{split}]", done, tot),
            )
            ref_fields.update(fields)
            return fs

        ctx = MetricContext(fake, ext, num_classes=getattr(data, "num_classes", None), seed=seed, options=opts,
                            real_loader=load_real)
        values: dict[str, float] = {}
        directions: dict[str, bool] = {}
        for spec in specs:
            out = import_string(spec.factory)(ctx)
            values.update({k: float(v) for k, v in out.items()})
            directions.update({k: bool(spec.higher_is_better) and not k.endswith("_std") for k in out})
            directions.update({k: v for k, v in ctx.higher_is_better.items() if k in out})
        opts.update(ctx.used)  # what the metrics used (e.g. KID's subset size on fewer images), not what was asked
    protocol = {
        "protocol_version": PROTOCOL_VERSION,
        **ext.protocol(),
        "quantize": "uint8",
        "image_size": [shape[1], shape[2]],
        "source_image_size": list(source_size) if source_size else [shape[1], shape[2]],
        "channels": shape[0],
        "n_fake": count,
        "n_ref": ref_fields.get("count"),
        "ref_data": getattr(data, "ref", None),
        "ref_fingerprint": getattr(data, "fingerprint", None) if ref_fields else None,
        "ref_split": _split_stamp(data, split) if ref_fields else None,
        "ref_image_size": ref_fields.get("image_size"),
        "seed": seed,
        "metrics": [s.name for s in specs],
        "options": opts,
        "ganzoo_version": _ganzoo_version(),
        "plugin_versions": _plugin_versions(),
    }
    return EvalResult(
        values=values, protocol=protocol, source=dict(source or {}),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        elapsed_s=time.perf_counter() - started, higher_is_better=directions,
    )


def _split_stamp(data: Any, split: str) -> str | None:
    """The reference split as stamped: None for a folder that has no splits (all of its images)."""
    return None if (getattr(data, "extras", None) or {}).get("unsplit") else split


def _ganzoo_version() -> str:
    from ganzoo import __version__

    return __version__


def generator_batches(
    generate: Callable[[int, int], Any],
    n: int,
    *,
    seed: int = 0,
    labels_for: Callable[[int, int], Any] | None = None,
    chunk: int = GENERATION_CHUNK,
) -> Iterator[Batch]:
    """Ask `generate(m, seed_i)` for n images in chunks; labels from its tuple result or `labels_for(m, seed_i)`."""
    if n < 2:
        raise GanzooError(f"--n must be at least 2, got {n}")
    for i, start in enumerate(range(0, n, chunk)):
        m = min(chunk, n - start)
        chunk_seed = derive_seed(seed, i)
        out = generate(m, chunk_seed)
        if isinstance(out, (tuple, list)):
            images, labels = out[0], out[1]
        else:
            images, labels = out, (labels_for(m, chunk_seed) if labels_for is not None else None)
        if not isinstance(images, torch.Tensor) or images.shape[0] != m:
            got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
            raise GanzooError(f"generate({m}, seed) returned {got}, expected {m} images")
        yield images, (torch.as_tensor(labels) if labels is not None else None)


def evaluate_generator(
    generate: Callable[[int, int], Any],
    data: Any,
    metrics: str | Sequence[str],
    *,
    n: int,
    extractor: str | None = None,
    seed: int = 0,
    labels_for: Callable[[int, int], Any] | None = None,
    weights: str | None = None,
    device: str | torch.device = "cpu",
    split: str = "train",
    n_ref: int | None = None,
    image_key: str = "image",
    options: Mapping[str, Any] | None = None,
    progress: bool = False,
    source: Mapping[str, Any] | None = None,
) -> EvalResult:
    """Metrics of `n` images from `generate(n, seed) -> images in [-1, 1]` against `data`.

    `generate` is called in chunks of 250 with seeds derived from `seed`; for conditional models it may
    return `(images, labels)`, or `labels_for(n, seed)` gives the labels it used. Cheap to call
    repeatedly: the extractor is built once per process and the reference features come from memory
    or from the `GANZOO_HOME/stats` cache after the first call.
    """
    return evaluate_batches(
        generator_batches(generate, n, seed=seed, labels_for=labels_for), data, metrics,
        extractor=extractor, weights=weights, device=device, seed=seed, split=split, n_ref=n_ref,
        image_key=image_key, options=options, total=n, progress=progress,
        source=source or {"source": "generator"}, description="generating",
    )


def evaluate_folder(
    folder: str,
    data: Any,
    metrics: str | Sequence[str],
    *,
    n: int | None = None,
    batch_size: int = 250,
    **kwargs: Any,
) -> EvalResult:
    """Metrics of the images in a folder (one sub-folder per class gives labels) against `data`."""
    from ganzoo.metrics.images import folder_batches, scan_folder

    scanned = scan_folder(folder, getattr(data, "class_names", ()) or ())
    total = min(n, len(scanned)) if n else len(scanned)
    kwargs.setdefault("source", {"source": str(folder), "kind": "folder"})
    return evaluate_batches(folder_batches(scanned, batch_size, limit=n), data, metrics, total=total,
                            description="reading", **kwargs)
