"""Pretrained weights from the catalogue: `ganzoo download NAME.TAG`, and `NAME.TAG` as a SOURCE.

The original file (a reference `.pth`, ...) is fetched with the one download function (cached per
URL in `weights_dir()/original/`), read
without unpickling arbitrary objects (`torch.load(weights_only=True)`), converted by the model's
plugin to ganzoo's layout, checked by loading it into the model, and stored as a self-describing
safetensors checkpoint (kind "weights") in `weights_dir()/NAME.TAG.safetensors`.

A plugin provides the conversion for each format it supports through `ModelSpec.converters`:
`convert(path: Path, checkpoint: CatalogueCheckpoint) -> Converted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError, ConfigError, UnknownNameError


@dataclass
class Converted:
    """Weights in a model's own layout: network name -> state dict, plus config values they need."""

    nets: dict[str, dict[str, Any]]
    model: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)


def load_torch_weights(path: Path) -> dict[str, Any]:
    """Read a PyTorch `.pth` file of tensors without unpickling arbitrary objects (weights_only=True).

    Converters use this; a file that needs arbitrary code to load is refused in one line.
    """
    import pickle

    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(
            f"{path} cannot be read as plain weights (weights_only=True refused it: {reason}); "
            "ganzoo never unpickles arbitrary objects"
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a {type(data).__name__}, not a dictionary of weights")
    return data


def converted_path(name: str, tag: str) -> Path:
    from ganzoo.paths import weights_dir

    return weights_dir() / f"{name}.{tag}.safetensors"


def raw_path(name: str, tag: str, url: str) -> Path:
    """Where the original file fetched from `url` is cached: one file per URL, so that another `--url`
    never reuses (or is checked against) what an earlier URL delivered."""
    import hashlib

    from ganzoo.paths import weights_dir

    suffix = Path(url.split("?")[0]).suffix or ".bin"
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]
    return weights_dir() / "original" / f"{name}.{tag}-{key}{suffix}"


def fetch_pretrained(ref: str, *, url: str | None = None, force: bool = False,
                     trust_hash_mismatch: bool = False, progress: bool = True) -> Path:
    """The converted checkpoint for `NAME.TAG`, downloading and converting it on first use."""
    from ganzoo.registry import get_registry

    registry = get_registry()
    resolved = registry.resolve_model(ref)
    if resolved.tag is None:
        tags = registry.checkpoint_tags(resolved.spec.name)
        hint = f" (e.g. {resolved.spec.name}.{tags[0]})" if tags else f"; {resolved.spec.name!r} has none"
        raise UnknownNameError(f"{ref!r} names no pretrained checkpoint: use NAME.TAG{hint}")
    spec, tag = resolved.spec, resolved.tag
    entry = resolved.checkpoint
    assert entry is not None
    target = converted_path(spec.name, tag)
    if target.exists() and not force:
        return target
    if entry.format == "ganzoo":
        converter = None
    else:
        converter = spec.converters.get(entry.format)
        if converter is None:
            raise ConfigError(
                f"plugin {spec.plugin} {spec.plugin_version} cannot convert {entry.format!r} weights "
                f"for {spec.name}.{tag}; upgrade the plugin"
            )
    from ganzoo.download import download

    urls = (url,) if url else entry.urls
    raw = download(
        urls,
        raw_path(spec.name, tag, urls[0]),
        sha256=entry.sha256,
        size=entry.size,
        progress=progress,
        trust_hash_mismatch=trust_hash_mismatch,
        description=f"{spec.name}.{tag}",
    )
    if converter is None:
        return _install_ganzoo_file(raw, target, spec.name)
    return _convert(spec, tag, entry, raw, converter, target, source_url=urls[0])


def _install_ganzoo_file(raw: Path, target: Path, name: str) -> Path:
    import shutil

    from ganzoo.engine.checkpoint import read_header

    header = read_header(raw)
    if header["name"] != name:
        raise CheckpointError(f"{raw} holds a {header['name']!r} checkpoint, not {name!r}")
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(raw, tmp)
    tmp.replace(target)
    return target


def _convert(spec, tag: str, entry, raw: Path, converter: str, target: Path, *, source_url: str) -> Path:
    from ganzoo._lazy import import_string
    from ganzoo.engine.checkpoint import load_module_state, save_checkpoint
    from ganzoo.engine.run import build_model
    from ganzoo.registry import get_registry
    from ganzoo.run_config import resolve

    converted = import_string(converter)(raw, entry)
    if not isinstance(converted, Converted):
        raise CheckpointError(f"plugin {spec.plugin}: converter {converter} returned {type(converted).__name__}")
    catalogue = get_registry().catalogue.models.get(spec.name)
    run = resolve(
        spec,
        catalogue_defaults=catalogue.defaults if catalogue else None,
        extra_model={**dict(entry.config), **converted.model},
        train_flags={"data": entry.dataset},
    )
    model = build_model(spec, run.model, training=False)
    for name, weights in converted.nets.items():
        if name not in model.nets:
            raise CheckpointError(f"converter of {spec.name}.{tag} produced unknown network {name!r}")
        load_module_state(model.nets[name], weights, what=name, source=f"{spec.name}.{tag} ({raw.name})")
    from ganzoo.download import sha256_file

    notes = {
        "converted_from": entry.format,
        "source_url": source_url,
        "source_sha256": sha256_file(raw),
        "license": entry.license,
        "source": entry.source,
        "dataset": entry.dataset,
        **converted.notes,
    }
    return save_checkpoint(
        target,
        kind="weights",
        name=spec.name,
        plugin=spec.plugin,
        plugin_version=spec.plugin_version,
        config=run.to_dict(),
        step=0,
        data=entry.dataset,
        nets={name: model.nets[name].state_dict() for name in converted.nets},
        notes=notes,
    )
