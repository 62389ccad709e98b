"""The curated catalogue `registry.yaml`: every first-party model, its plugin and its pretrained weights.

The file ships inside the core package. Its schema is versioned (`schema_version`) and checked by
`validate()`, which the test suite and `nox -s registry` run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.specs import NAME_RE, TASKS

SCHEMA_VERSION = 1
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
CHECKPOINT_FORMATS = (
    "ganzoo",  # a ganzoo safetensors file
    "torch-state-dict",  # a plain torch.save({network name: state_dict}) file in the model's own layout
    "cyclegan-reference",  # junyanz/pytorch-CycleGAN-and-pix2pix generator .pth
    "pix2pix-reference",  # junyanz/pytorch-CycleGAN-and-pix2pix pix2pix generator .pth (U-Net, batch norm)
    "pgan-pytorch-gan-zoo",  # facebookresearch/pytorch_GAN_zoo PGAN .pth
    "stylegan2-ada-pickle",  # NVlabs/stylegan2-ada-pytorch network .pkl (read by a restricted unpickler)
    "fast-neural-style-examples",  # pytorch/examples fast_neural_style .pth
    "torchvision-vgg",  # torchvision VGG16/VGG19 .pth
    "pytorch-fid-inception",  # pytorch-fid Inception .pth
)


@dataclass(frozen=True)
class CatalogueCheckpoint:
    """Pretrained weights listed for a model, addressed as `model.tag`."""

    tag: str
    url: str
    mirrors: tuple[str, ...]
    sha256: str | None
    size: int | None
    license: str
    source: str
    dataset: str
    format: str
    summary: str = ""
    hash_note: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.mirrors)

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "url": self.url,
            "mirrors": list(self.mirrors),
            "sha256": self.sha256,
            "size": self.size,
            "license": self.license,
            "source": self.source,
            "dataset": self.dataset,
            "format": self.format,
            "summary": self.summary,
            "hash_note": self.hash_note,
        }


@dataclass(frozen=True)
class CatalogueModel:
    """A catalogue entry: the model name belongs to `plugin`."""

    name: str
    plugin: str
    task: str
    summary: str
    paper: str
    aliases: tuple[str, ...]
    defaults: Mapping[str, Mapping[str, Any]]
    checkpoints: Mapping[str, CatalogueCheckpoint]

    @property
    def install_line(self) -> str:
        return f"pip install {self.plugin}"


@dataclass(frozen=True)
class Catalogue:
    """The parsed `registry.yaml`."""

    schema_version: int
    models: Mapping[str, CatalogueModel]
    auxiliary: Mapping[str, CatalogueCheckpoint]
    path: str = ""

    def owner_of(self, name: str) -> CatalogueModel | None:
        """The catalogue entry a model name or alias belongs to."""
        if name in self.models:
            return self.models[name]
        for model in self.models.values():
            if name in model.aliases:
                return model
        return None


def default_path() -> Path:
    """Where the catalogue shipped with the core package lives."""
    return Path(str(resources.files("ganzoo").joinpath("registry.yaml")))


def _load_yaml(path: Path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


@lru_cache(maxsize=4)
def load(path: str | None = None) -> Catalogue:
    """Load and validate the catalogue; a malformed file raises `ConfigError` listing every problem."""
    file = Path(path) if path else default_path()
    try:
        raw = _load_yaml(file)
    except FileNotFoundError:
        raise ConfigError(f"catalogue {file} is missing; reinstall ganzoo-core") from None
    problems = validate(raw)
    if problems:
        raise ConfigError(f"catalogue {file} is invalid: " + "; ".join(problems))
    return _parse(raw, str(file))


def _parse(raw: Mapping[str, Any], path: str) -> Catalogue:
    models = {}
    for name, entry in (raw.get("models") or {}).items():
        checkpoints = {
            tag: _checkpoint(tag, ck) for tag, ck in (entry.get("checkpoints") or {}).items()
        }
        models[name] = CatalogueModel(
            name=name,
            plugin=entry["plugin"],
            task=entry["task"],
            summary=entry["summary"],
            paper=entry.get("paper", ""),
            aliases=tuple(entry.get("aliases") or ()),
            defaults={k: dict(v or {}) for k, v in (entry.get("defaults") or {}).items()},
            checkpoints=checkpoints,
        )
    auxiliary = {tag: _checkpoint(tag, ck) for tag, ck in (raw.get("weights") or {}).items()}
    return Catalogue(int(raw["schema_version"]), models, auxiliary, path)


def _checkpoint(tag: str, ck: Mapping[str, Any]) -> CatalogueCheckpoint:
    return CatalogueCheckpoint(
        tag=tag,
        url=ck["url"],
        mirrors=tuple(ck.get("mirrors") or ()),
        sha256=ck.get("sha256"),
        size=ck.get("size"),
        license=ck["license"],
        source=ck["source"],
        dataset=ck["dataset"],
        format=ck["format"],
        summary=ck.get("summary", ""),
        hash_note=ck.get("hash_note", ""),
        config=dict(ck.get("config") or {}),
    )


_MODEL_KEYS = {"plugin", "task", "summary", "paper", "aliases", "defaults", "checkpoints"}
_CHECKPOINT_REQUIRED = {"url", "sha256", "size", "license", "source", "dataset", "format"}
_CHECKPOINT_KEYS = _CHECKPOINT_REQUIRED | {"mirrors", "summary", "hash_note", "config"}


def validate(raw: Any) -> list[str]:
    """Every problem with a parsed `registry.yaml` document (empty when it follows the schema)."""
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        return ["the document must be a mapping"]
    if raw.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version must be {SCHEMA_VERSION}, got {raw.get('schema_version')!r}")
    unknown_top = set(raw) - {"schema_version", "models", "weights"}
    if unknown_top:
        problems.append(f"unknown top-level keys: {', '.join(sorted(unknown_top))}")
    models = raw.get("models")
    if not isinstance(models, Mapping) or not models:
        problems.append("'models' must be a non-empty mapping")
        return problems
    claimed: dict[str, str] = {}
    for name, entry in models.items():
        where = f"models.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(f"{where}: name must be lower case letters, digits and underscores")
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be a mapping")
            continue
        extra = set(entry) - _MODEL_KEYS
        if extra:
            problems.append(f"{where}: unknown keys {', '.join(sorted(extra))}")
        for key in ("plugin", "task", "summary"):
            if not isinstance(entry.get(key), str) or not entry.get(key):
                problems.append(f"{where}.{key}: required string")
        if entry.get("task") not in TASKS:
            problems.append(f"{where}.task: must be one of {', '.join(TASKS)}")
        plugin = entry.get("plugin", "")
        if isinstance(plugin, str) and not re.match(r"^[a-z0-9][a-z0-9\-]*$", plugin):
            problems.append(f"{where}.plugin: must be a distribution name like 'ganzoo-dcgan'")
        for alias in [name, *(entry.get("aliases") or [])]:
            if alias in claimed and claimed[alias] != name:
                problems.append(f"{where}: name or alias {alias!r} already belongs to {claimed[alias]!r}")
            claimed[alias] = name
        defaults = entry.get("defaults") or {}
        if not isinstance(defaults, Mapping) or set(defaults) - {"model", "train"}:
            problems.append(f"{where}.defaults: a mapping with optional 'model' and 'train' mappings")
        problems.extend(_validate_checkpoints(where, entry.get("checkpoints") or {}))
    problems.extend(_validate_checkpoints("weights", raw.get("weights") or {}))
    return problems


def _validate_checkpoints(where: str, checkpoints: Any) -> list[str]:
    problems: list[str] = []
    if not isinstance(checkpoints, Mapping):
        return [f"{where}.checkpoints: must be a mapping of tag to checkpoint"]
    for tag, ck in checkpoints.items():
        at = f"{where}.checkpoints.{tag}" if where != "weights" else f"weights.{tag}"
        if not isinstance(tag, str) or not TAG_RE.match(tag):
            problems.append(f"{at}: tag must be lower case letters, digits, '_' or '-'")
        if not isinstance(ck, Mapping):
            problems.append(f"{at}: must be a mapping")
            continue
        missing = _CHECKPOINT_REQUIRED - set(ck)
        if missing:
            problems.append(f"{at}: missing {', '.join(sorted(missing))}")
        extra = set(ck) - _CHECKPOINT_KEYS
        if extra:
            problems.append(f"{at}: unknown keys {', '.join(sorted(extra))}")
        for url in [ck.get("url"), *(ck.get("mirrors") or [])]:
            if not isinstance(url, str) or not re.match(r"^(https?|file)://", url):
                problems.append(f"{at}: {url!r} is not an http(s) or file URL")
        sha = ck.get("sha256")
        if sha is None:
            if not ck.get("hash_note"):
                problems.append(f"{at}: sha256 is null, so hash_note must say why (e.g. not published)")
        elif not isinstance(sha, str) or not SHA256_RE.match(sha):
            problems.append(f"{at}.sha256: must be 64 lower-case hex digits (the full hash) or null")
        size = ck.get("size")
        if size is not None and (not isinstance(size, int) or size <= 0):
            problems.append(f"{at}.size: must be a positive byte count or null")
        if size is None and sha is not None:
            problems.append(f"{at}.size: a checkpoint with a known sha256 must also give its size")
        for key in ("license", "source", "dataset"):
            if not isinstance(ck.get(key), str) or not ck.get(key):
                problems.append(f"{at}.{key}: required string")
        if ck.get("format") not in CHECKPOINT_FORMATS:
            problems.append(f"{at}.format: must be one of {', '.join(CHECKPOINT_FORMATS)}")
    return problems
