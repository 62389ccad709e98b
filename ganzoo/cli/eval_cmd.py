"""`ganzoo eval SOURCE --data REF`: metrics with a recorded protocol, and comparison tables."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import click

from ganzoo.configs import SEED_MAX
from ganzoo.errors import ConfigError, GanzooError

DEFAULT_N = 10_000
"""Generated images per evaluation when --n is not given (FID-10k)."""


def _metric_help() -> str:
    return ("Comma-separated metrics: fid, kid, is, pr (precision/recall), class_acc, intra_fid, or a plugin's. "
            "[default: fid,kid]")


@click.command("eval")
@click.argument("source", required=False)
@click.option("--data", "data_ref", default=None, metavar="REF",
              help="Reference data [default: the data the model was trained on; required for a folder].")
@click.option("--metric", "metric", default="fid,kid", metavar="NAMES", help=_metric_help())
@click.option("--n", "n", type=click.IntRange(min=2), default=None,
              help=f"Images to generate [default: {DEFAULT_N}]; for a folder, how many of its images to use [all].")
@click.option("--extractor", default=None, metavar="NAME",
              help="Feature extractor: inception-fid, digits, timm:MODEL or a plugin's "
                   "[default: digits for the built-in digits, else inception-fid].")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="The extractor's weights file (e.g. pt_inception-2015-12-05-6726825d.pth, or a timm model's).")
@click.option("--seed", type=click.IntRange(0, SEED_MAX), default=0, show_default=True, help="Seed of the latents and of KID's subsets.")
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True,
              help="Reference split of the data.")
@click.option("--n-ref", "n_ref", type=click.IntRange(min=2), default=None,
              help="Reference images [default: the whole split, at most 50000].")
@click.option("--domain", type=click.Choice(["a", "b"]), default=None,
              help="For two-domain data (unpaired or paired): the domain to compare with [default: b].")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Images generated or read per step; a model's images are those 'ganzoo sample' writes with the "
                   "same --seed, --n and --batch-size.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, mps or auto.")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Append the result as one JSON line to this file.")
@click.option("--compare", "compare", multiple=True, type=click.Path(dir_okay=False),
              help="Results file (JSON lines) to include in the table; repeatable. Refuses results measured "
                   "with different protocols.")
@click.option("--list", "list_only", is_flag=True, help="List the installed metrics and feature extractors, and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def eval_cmd(source: str | None, data_ref: str | None, metric: str, n: int | None, extractor: str | None,
             weights: str | None, seed: int, split: str, n_ref: int | None, domain: str | None, batch_size: int,
             device: str, out: str | None, compare: tuple[str, ...], list_only: bool, as_json: bool) -> None:
    """Compute metrics of SOURCE against reference data, stamped with how they were measured.

    SOURCE is a checkpoint file, a run folder, a pretrained NAME.TAG, or a folder of images. In a
    folder, one sub-folder per class or files named *-labelN.png give the labels that conditional
    metrics (class_acc, intra_fid) need.

    \b
      ganzoo eval runs/dcgan-.../checkpoints/last.safetensors --metric fid,kid,pr
      ganzoo eval samples/ --data digits --out results.jsonl
      ganzoo eval --compare a.jsonl --compare b.jsonl
    """
    from ganzoo.metrics.protocol import append_jsonl, check_comparable, read_jsonl

    if list_only:
        print_catalogue(as_json)
        return
    if source is None and not compare:
        raise click.UsageError("give a SOURCE to evaluate, or --compare FILE to show saved results")
    results = []
    for path in compare:
        results.extend(read_jsonl(path))
    new = None
    if source is not None:
        weights = preflight(source, data_ref=data_ref, metric=metric, extractor=extractor, weights=weights)
        new = evaluate_source(source, data_ref=data_ref, metric=metric, n=n, extractor=extractor, weights=weights,
                              seed=seed, split=split, n_ref=n_ref, domain=domain, batch_size=batch_size,
                              device=device, progress=not as_json)
        new.origin = source
        results.append(new)
    check_comparable(results)
    if new is not None and out:
        append_jsonl(out, new)
    if as_json:
        from ganzoo.cli._output import print_json

        print_json(new.to_json() if new is not None and not compare else [r.to_json() for r in results])
        return
    print_table(results)
    if new is not None and out:
        click.echo(f"Appended the result to {out}", err=True)


def print_catalogue(as_json: bool) -> None:
    """The installed metrics and extractors (torch-free: records only)."""
    from ganzoo.cli._output import print_json, stdout_console, warn_plugin_problems
    from ganzoo.registry import get_registry

    registry = get_registry()
    warn_plugin_problems(registry)
    metrics = [registry.metrics.get(name) for name in registry.metrics.names()]
    extractors = [registry.extractors.get(name) for name in registry.extractors.names()]
    if as_json:
        print_json({
            "metrics": [{"name": m.name, "summary": m.summary, "plugin": m.plugin, "needs_labels": m.needs_labels,
                         "higher_is_better": m.higher_is_better} for m in metrics],
            "extractors": [{"name": e.name, "summary": e.summary, "plugin": e.plugin, "feature_dim": e.feature_dim,
                            "input_size": e.input_size, "weights_file": e.weights_file} for e in extractors],
        })
        return
    from rich.table import Table

    console = stdout_console()
    table = Table(title="metrics")
    for col in ("name", "better", "summary", "plugin"):
        table.add_column(col)
    for m in metrics:
        table.add_row(m.name, "higher" if m.higher_is_better else "lower", m.summary, m.plugin)
    console.print(table)
    table = Table(title="feature extractors (also timm:MODEL with --weights)")
    for col in ("name", "features", "input", "summary", "plugin"):
        table.add_column(col)
    for e in extractors:
        table.add_row(e.name, str(e.feature_dim), f"{e.input_size}x{e.input_size}", e.summary, e.plugin)
    console.print(table)


def _is_run_folder(path: Path) -> bool:
    """A run folder or its checkpoints/ folder (evaluated as the model), not a folder of images."""
    return (path / "checkpoints" / "last.safetensors").is_file() or (path / "last.safetensors").is_file()


def preflight(source: str, *, data_ref: str | None, metric: str, extractor: str | None,
              weights: str | None) -> str | None:
    """Check, before torch is imported and before any image is decoded, what can fail in one line.

    The metric and extractor names, the source (a checkpoint's file and header, or a folder with
    --data) and, for a folder, the extractor's weights: the FID Inception file is located (or
    downloaded) now, not after the reference set was read (for a model: once the model is built).
    Returns the weights file to use (None: the extractor's own).
    """
    from ganzoo.registry import get_registry

    registry = get_registry()
    names = [p.strip() for p in metric.split(",") if p.strip()]
    if not names:
        raise ConfigError("no metric given; e.g. --metric fid,kid")
    for name in names:
        registry.metric(name)
    if extractor is not None and not extractor.startswith("timm:"):
        registry.extractor(extractor)
    if weights is not None and not Path(weights).expanduser().is_file():
        raise ConfigError(f"--weights {weights}: no such file")
    path = Path(source).expanduser()
    if path.is_dir() and not _is_run_folder(path):
        if not data_ref:
            raise ConfigError("evaluating a folder of images needs --data REF (the reference data set)")
        return extractor_weights(extractor, data_ref, weights)
    from ganzoo.cli._sources import check_source

    check_source(source)  # the model's own size is checked when it is built, then the weights (extractor_weights)
    return weights


def extractor_weights(extractor: str | None, reference: str, weights: str | None) -> str | None:
    """The weights file the extractor will use, located (or downloaded) now: one line if it is missing."""
    from ganzoo.metrics.catalog import DEFAULT_EXTRACTOR, default_extractor_for

    chosen = extractor or default_extractor_for(str(reference).split(":", 1)[0])
    if chosen != DEFAULT_EXTRACTOR:
        return weights
    from ganzoo.metrics.weights import locate_inception_weights

    return str(locate_inception_weights(weights))


def evaluate_source(source: str, *, data_ref: str | None, metric: str, n: int | None, extractor: str | None,
                    weights: str | None, seed: int, split: str, n_ref: int | None, domain: str | None,
                    batch_size: int, device: str, progress: bool) -> Any:
    """Evaluate a folder of images or a model (checkpoint, run folder, name.tag)."""
    from ganzoo.metrics.evaluate import evaluate_batches, parse_metric_names, resolve_metrics

    resolve_metrics(parse_metric_names(metric))  # unknown names fail before anything is loaded
    path = Path(source).expanduser()
    if path.is_dir() and not _is_run_folder(path):
        from ganzoo.metrics.images import first_image, folder_batches, scan_folder

        if not data_ref:
            raise ConfigError("evaluating a folder of images needs --data REF (the reference data set)")
        first = first_image(path)[None]
        size = _compare_size(data_ref, first, split, domain)
        data = _resolve_reference(data_ref, first, size)
        scanned = scan_folder(path, data.class_names or ())
        batches = folder_batches(scanned, batch_size, limit=n)
        total = min(n, len(scanned)) if n else len(scanned)
        info: dict[str, Any] = {"source": source, "kind": "folder", "images": len(scanned)}
        description = "reading"
    else:
        batches, total, info, default_data = _model_batches(source, n or DEFAULT_N, seed, batch_size, device)
        reference = data_ref or default_data
        weights = extractor_weights(extractor, reference, weights)  # before the reference set is read
        (first, _), batches = _peek(batches)
        size = _compare_size(reference, first, split, domain)
        data = _resolve_reference(reference, first, size)
        description = "generating"
    image_key = _image_key(data, domain)
    return evaluate_batches(
        _resized(batches, size), data, metric, extractor=extractor, weights=weights, device=_device(device),
        seed=seed, split=split, n_ref=n_ref, image_key=image_key, total=total, progress=progress, source=info,
        description=description, source_size=(int(first.shape[-2]), int(first.shape[-1])),
    )


def _compare_size(data_ref: str, images, split: str, domain: str | None) -> int:
    """The one size both sides are compared at: the smallest side of the source's and the reference's images.

    The reference's own size is that of its first image at full resolution (headers only for folders),
    so `eval A --data B` and `eval B --data A` compare the same pictures.
    """
    from ganzoo.data import DataOptions, resolve_data
    from ganzoo.metrics.reference import split_dataset

    _, c, h, w = images.shape
    probe = resolve_data(data_ref, DataOptions(channels=int(c), preload=False))
    dataset = split_dataset(probe, split)
    sides = [int(h), int(w)]
    if len(dataset):
        item = dataset[(0, 0)][_image_key(probe, domain)]
        sides += [int(item.shape[-2]), int(item.shape[-1])]
    return min(sides)


def _resized(batches, size: int):
    """The source's batches resized to size x size as the reference's are (bicubic on 8-bit pictures)."""
    from ganzoo.metrics.images import resize_square

    for images, labels in batches:
        yield resize_square(images, size), labels


def _peek(batches):
    iterator = iter(batches)
    try:
        first = next(iterator)
    except StopIteration:
        raise GanzooError("there are no images to evaluate") from None
    return first, itertools.chain([first], iterator)


def _device(name: str):
    from ganzoo.engine.precision import resolve_device

    return resolve_device(name)


def _model_batches(source: str, n: int, seed: int, batch_size: int, device: str):
    import torch

    from ganzoo.engine.inference import load

    loaded = load(source, device=_device(device))
    if loaded.spec.task not in ("unconditional", "conditional"):
        hint = "'ganzoo translate'" if loaded.spec.task == "image-to-image" else "'ganzoo stylize'"
        raise ConfigError(
            f"{loaded.spec.name!r} is a {loaded.spec.task} model: write its outputs to a folder with {hint}, "
            "then run 'ganzoo eval FOLDER --data REF'"
        )
    k = loaded.num_classes
    # Exactly what `ganzoo sample SOURCE --seed S --n N --batch-size B --out FOLDER` writes: one generator
    # seeded with S over chunks of B, labels 0, 1, ..., k-1, 0, ... for a conditional model.
    labels = torch.arange(n) % k if k else None

    def batches():
        start = 0
        for images in loaded.iter_generate(n, seed=seed, labels=labels, batch_size=batch_size):
            count = images.shape[0]
            yield images, (labels[start:start + count] if labels is not None else None)
            start += count

    info = {
        "source": source,
        "kind": "model",
        "model": loaded.spec.name,
        "plugin": loaded.spec.plugin,
        "plugin_version": loaded.spec.plugin_version,
        "step": getattr(loaded.checkpoint, "step", None),
    }
    default_data = getattr(loaded.run_config.train, "data", None) or loaded.spec.default_data
    return batches(), n, info, default_data


def _resolve_reference(data_ref: str, images, size: int) -> Any:
    from ganzoo.data import DataOptions, resolve_data

    return resolve_data(data_ref, DataOptions(image_size=size, channels=int(images.shape[1])))


def _image_key(data: Any, domain: str | None) -> str:
    if data.kind in ("unpaired", "paired"):
        return domain or "b"
    if domain is not None:
        raise ConfigError(f"--domain applies to unpaired and paired data; {data.ref!r} is {data.kind}")
    if data.kind == "style":
        raise ConfigError(f"{data.ref!r} is a style data set (content and style images); evaluate against image data")
    return "image"


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e5):
        return f"{value:.4g}"
    return f"{value:.4f}"


def protocol_line(protocol: dict[str, Any]) -> str:
    """One readable line summarising a protocol."""
    sha = protocol.get("extractor_weights_sha256") or "unknown"
    split = f" [{protocol['ref_split']}]" if protocol.get("ref_split") else ""
    ref = f"{protocol.get('n_ref')} {protocol.get('ref_data')}{split} images" if protocol.get("n_ref") else "no reference"
    size = "x".join(str(s) for s in protocol.get("image_size") or [])
    return (f"extractor {protocol.get('extractor')} (weights sha256 {sha[:12]}), resizer: {protocol.get('resizer')}; "
            f"{protocol.get('n_fake')} images at {size} vs {ref}; seed {protocol.get('seed')}; "
            f"ganzoo {protocol.get('ganzoo_version')}")


def _short_label(label: str) -> str:
    parts = Path(label).parts
    return str(Path(*parts[-2:])) if len(parts) > 2 else label


def print_table(results) -> None:
    """A rich table: one row per metric (with its spread, if any), one column per result, protocol beneath."""
    from rich.markup import escape
    from rich.table import Table

    from ganzoo.cli._output import stdout_console
    from ganzoo.metrics.protocol import metric_columns

    columns = metric_columns(results)
    rows = [c for c in columns if "/" not in c and not (c.endswith("_std") and c[:-4] in columns)]
    headers = [_short_label(r.label) for r in results]
    if len(set(headers)) < len(headers):
        headers = [f"#{i + 1} {h}" for i, h in enumerate(headers)]
    table = Table(title="ganzoo eval")
    table.add_column("metric")
    for header in headers:
        table.add_column(escape(header), justify="right", overflow="fold")
    for name in rows:
        cells = []
        for r in results:
            if name not in r.values:
                cells.append("-")
                continue
            cell = _fmt(r.values[name])
            if f"{name}_std" in r.values:
                cell += f" ± {_fmt(r.values[name + '_std'])}"
            cells.append(cell)
        table.add_row(name, *cells)
    console = stdout_console()
    console.print(table)
    console.print("protocol: " + escape(protocol_line(results[0].protocol)), soft_wrap=True)
