"""The full, resolved configuration of one run: which model, its typed config and the training options.

Resolution order (lowest first): dataclass defaults < the model spec's `train_defaults` <
registry.yaml `defaults` < `--config FILE` < `--set key=value` < explicit command-line flags.
The result is what `config.yaml` and every checkpoint header store, so a checkpoint alone can rebuild
its model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo import configs
from ganzoo.errors import ConfigError
from ganzoo.specs import ModelSpec
from ganzoo.train_config import TrainConfig, check_limits

_META_KEYS = {"name", "plugin", "plugin_version", "ganzoo_version", "format_version", "host"}


def load_config_class(spec: ModelSpec) -> type:
    """Import the model's config dataclass (a torch-free module by contract)."""
    from ganzoo._lazy import import_string

    cls = import_string(spec.config)
    if not dataclasses.is_dataclass(cls):
        raise ConfigError(f"model {spec.name!r}: {spec.config} is not a dataclass")
    return cls


@dataclass
class RunConfig:
    """A model name with its resolved model config and training options."""

    name: str
    plugin: str
    plugin_version: str
    train: TrainConfig
    model: Any

    def to_dict(self) -> dict[str, Any]:
        from ganzoo import __version__

        return {
            "name": self.name,
            "plugin": self.plugin,
            "plugin_version": self.plugin_version,
            "ganzoo_version": __version__,
            "train": configs.to_dict(self.train),
            "model": configs.to_dict(self.model),
        }

    def replace_model(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **changes))

    def replace_train(self, **changes: Any) -> RunConfig:
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))


#: A config file larger than this is refused unread (a run's config.yaml is about 2 KB).
MAX_CONFIG_BYTES = 1 << 20


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file (a run's config.yaml or a hand-written one): UTF-8 text holding a mapping."""
    import yaml

    file = Path(path)
    try:
        if not file.is_file():
            raise ConfigError(f"config file {file} does not exist" if not file.exists()
                              else f"config file {file} is not a regular file")
        with open(file, "rb") as fh:
            data_bytes = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror or exc}") from None
    if len(data_bytes) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {file} is larger than {MAX_CONFIG_BYTES // 1024} KiB; "
                          "is it really a YAML file of options?")
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"config file {file} is not a text file (UTF-8 YAML expected)") from None
    if "\x00" in text:
        raise ConfigError(f"config file {file} is not a text file (it holds NUL bytes)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {file} is not valid YAML{where}") from None
    except RecursionError:
        raise ConfigError(f"config file {file} is nested too deeply to be a file of options") from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {file} must hold a mapping of options, not {_kind(data)}")
    return dict(data)


def _kind(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


def split_sections(
    flat: Mapping[str, Any], model_fields: set[str], train_fields: set[str], where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sort `key: value` pairs into (model, train) by `model.`/`train.` prefix or by field name."""
    model: dict[str, Any] = {}
    train: dict[str, Any] = {}
    for key, value in flat.items():
        if not isinstance(key, str):
            raise ConfigError(f"{where}: option names are text, got {configs.short_repr(key)}")
        norm = key.replace("-", "_")
        if norm.startswith("model."):
            model[norm[6:]] = value
        elif norm.startswith("train."):
            train[norm[6:]] = value
        elif norm in model_fields and norm in train_fields:
            raise ConfigError(f"{where}: {key!r} is both a model and a training option; write model.{norm} or train.{norm}")
        elif norm in model_fields:
            model[norm] = value
        elif norm in train_fields:
            train[norm] = value
        else:
            from ganzoo.registry import suggest

            hint = suggest(norm, model_fields | train_fields) if len(norm) < 100 else ""
            raise ConfigError(f"{where}: unknown option {configs.short_repr(key)}." + hint)
    return model, train


def file_sections(
    data: Mapping[str, Any], model_fields: set[str], train_fields: set[str], where: str, name: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model and train overrides from a config file: `model:`/`train:` sections plus flat keys."""
    if "name" in data and data["name"] not in (None, name):
        raise ConfigError(f"{where} is for model {configs.short_repr(data['name'])}, not {name!r}")
    sections = {}
    for section in ("model", "train"):
        value = data.get(section)
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{where}: the {section}: section must be a mapping of options, not {_kind(value)}")
        for key in value or {}:
            if not isinstance(key, str):
                raise ConfigError(f"{where}: option names in the {section}: section are text, got {configs.short_repr(key)}")
        sections[section] = dict(value or {})
    model, train = sections["model"], sections["train"]
    flat = {k: v for k, v in data.items() if k not in _META_KEYS and k not in ("model", "train")}
    more_model, more_train = split_sections(flat, model_fields, train_fields, where)
    model.update(more_model)
    train.update(more_train)
    return model, train


def resolve(
    spec: ModelSpec,
    *,
    catalogue_defaults: Mapping[str, Mapping[str, Any]] | None = None,
    config_file: str | Path | None = None,
    set_items: Sequence[str] = (),
    model_flags: Mapping[str, Any] | None = None,
    train_flags: Mapping[str, Any] | None = None,
    extra_model: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Merge every layer into a `RunConfig`, type-checking each value and naming the layer at fault."""
    cls = load_config_class(spec)
    model_fields = {f.name for f in configs.describe(cls)}
    train_fields = {f.name for f in configs.describe(TrainConfig)}
    catalogue_defaults = catalogue_defaults or {}
    model_layers: list[tuple[str, Mapping[str, Any]]] = [
        ("registry.yaml defaults", catalogue_defaults.get("model", {})),
    ]
    train_layers: list[tuple[str, Mapping[str, Any]]] = [
        (f"{spec.name} training defaults", spec.train_defaults),
        ("registry.yaml defaults", catalogue_defaults.get("train", {})),
    ]
    if config_file is not None:
        where = f"config file {config_file}"
        model_file, train_file = file_sections(read_config_file(config_file), model_fields, train_fields, where, spec.name)
        model_layers.append((where, model_file))
        train_layers.append((where, train_file))
    if set_items:
        model_set, train_set = split_sections(configs.split_set_items(set_items), model_fields, train_fields, "--set")
        model_layers.append(("--set", model_set))
        train_layers.append(("--set", train_set))
    if extra_model:
        model_layers.append(("model", extra_model))
    model_layers.append(("command line", dict(model_flags or {})))
    train_layers.append(("command line", dict(train_flags or {})))
    data_ref = _effective_data(spec, train_layers)
    data_defaults = spec.data_defaults.get(data_ref, {})
    if data_defaults:
        # After the spec's and the catalogue's general defaults, before anything the user wrote.
        where = f"{spec.name} defaults for data {data_ref}"
        train_layers.insert(2, (where, data_defaults.get("train", {})))
        model_layers.insert(1, (where, data_defaults.get("model", {})))
    if _explicit_both(train_layers):
        raise ConfigError("give either --steps or --epochs, not both")
    train = configs.build(TrainConfig, [(name, _length_exclusive(layer)) for name, layer in train_layers])
    check_limits(train)
    model = configs.build(cls, model_layers)
    return RunConfig(spec.name, spec.plugin, spec.plugin_version, train, model)


def _effective_data(spec: ModelSpec, train_layers: Sequence[tuple[str, Mapping[str, Any]]]) -> str:
    """The data reference the run will use: the last layer that sets it, else the model's default."""
    ref = None
    for _, layer in train_layers:
        value = layer.get("data")
        if value not in (None, ""):
            ref = str(value)
    return ref or spec.default_data


def _length_exclusive(layer: Mapping[str, Any]) -> dict[str, Any]:
    # A layer that sets the run length in steps clears a lower layer's epochs, and vice versa.
    out = {k.replace("-", "_"): v for k, v in layer.items()}
    if out.get("steps") is not None and "epochs" not in out:
        out["epochs"] = None
    elif out.get("epochs") is not None and "steps" not in out:
        out["steps"] = None
    return out


def _explicit_both(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> bool:
    # Both set in the same user-facing layer is a contradiction; a default for one plus a user value
    # for the other means the user's value wins.
    for name, layer in layers:
        if name.endswith("training defaults"):
            continue
        keys = {k.replace("-", "_") for k in layer}
        if {"steps", "epochs"} <= keys and layer.get("steps") is not None and layer.get("epochs") is not None:
            return True
    return False


def from_header(data: Mapping[str, Any], spec: ModelSpec) -> RunConfig:
    """Rebuild a `RunConfig` from a checkpoint header or config.yaml written by `RunConfig.to_dict`."""
    cls = load_config_class(spec)
    if not isinstance(data, Mapping):
        raise ConfigError(f"checkpoint config must be a mapping, not {_kind(data)}")
    sections = {}
    for section in ("model", "train"):
        value = data.get(section) or {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"checkpoint config: the {section} section must be a mapping, not {_kind(value)}")
        sections[section] = value
    model = configs.build(cls, [("checkpoint config", _known(cls, sections["model"]))])
    train = configs.build(TrainConfig, [("checkpoint config", _known(TrainConfig, sections["train"]))])
    return RunConfig(spec.name, spec.plugin, spec.plugin_version, train, model)


def _known(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    # Newer files may carry options this version does not know; older ones lack new ones (defaults).
    names = {f.name for f in configs.describe(cls)}
    return {k: v for k, v in values.items() if k in names}
