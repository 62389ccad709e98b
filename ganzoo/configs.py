"""Typed configs: dataclasses whose fields become CLI options, YAML keys and checkpoint metadata.

One mechanism for every model: a plugin declares a dataclass with `option(...)` fields (in a module
that imports neither torch nor its own heavy code), and ganzoo derives the `ganzoo train NAME` options,
`ganzoo info` listing, `--set key=value` parsing and `config.yaml` from it.

Precedence, lowest first: dataclass defaults < registry.yaml `defaults` < `--config FILE` <
`--set key=value` < explicit command-line flags.

Every value is checked against its field's declaration, whichever layer it comes from: its type,
`choices`, bounds (`min`, `max`, `below` for a strict upper bound), a tuple's `length`, and, for
floats, that it is a finite number (NaN and infinities pass every comparison; a field that means
them declares `finite=False`). Integers without a declared bound stay within 64 bits (what torch
and numpy take). A bad value is one `ConfigError` naming the layer and the field.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass
from typing import Any, Literal, Union, get_args, get_origin

from ganzoo.errors import ConfigError

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
_NONE = {"none", "null", "~", ""}

#: Integers stay within what torch and numpy take unless a field declares its own bounds.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
#: The seeds torch, numpy and Python's `random` all accept.
SEED_MAX = 2**64 - 1


def option(
    default: Any = MISSING,
    help: str = "",
    *,
    choices: Sequence[Any] | None = None,
    min: float | None = None,
    max: float | None = None,
    below: float | None = None,
    length: int | None = None,
    finite: bool = True,
    cli: bool = True,
    default_factory: Any = MISSING,
) -> Any:
    """A config field with its help text (and optional choices and bounds) for CLI and docs.

    `min`/`max` bound numbers inclusively and `below` exclusively (each item of a tuple); `length`
    fixes a tuple's number of items; `finite=False` lets a float field take nan and inf.
    """
    metadata = {"help": help, "choices": tuple(choices) if choices else None, "min": min, "max": max,
                "below": below, "length": length, "finite": finite, "cli": cli}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    if isinstance(default, (list, dict, set)):
        raise TypeError("use a tuple default, or default_factory= for mutable defaults")
    return dataclasses.field(default=default, metadata=metadata)


def betas_option(default: Any, help: str = "", **kwargs: Any) -> Any:
    """An Adam-style `(beta1, beta2)` field: two values, each in [0, 1)."""
    return option(default, help, min=0, below=1, length=2, **kwargs)


@dataclass(frozen=True)
class FieldInfo:
    """One config field, described for the CLI, `ganzoo info` and documentation."""

    name: str
    type: Any
    type_name: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None
    optional: bool
    base: Any
    item: Any
    minimum: float | None
    maximum: float | None
    cli: bool
    below: float | None = None
    length: int | None = None
    finite: bool = True

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def is_bool(self) -> bool:
        return self.base is bool

    @property
    def is_sequence(self) -> bool:
        return self.base is tuple

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type_name,
            "default": to_jsonable(self.default),
            "help": self.help,
            "choices": list(self.choices) if self.choices else None,
        }


def _unwrap(tp: Any) -> tuple[Any, bool, Any, tuple[Any, ...] | None]:
    """(base type, optional?, item type for tuples, literal choices)."""
    optional = False
    origin = get_origin(tp)
    if origin is Union or (hasattr(types, "UnionType") and isinstance(tp, types.UnionType)):
        args = [a for a in get_args(tp) if a is not type(None)]
        optional = len(args) < len(get_args(tp))
        if len(args) != 1:
            raise TypeError(f"unsupported union type {tp!r}")
        tp = args[0]
        origin = get_origin(tp)
    if origin is Literal:
        choices = get_args(tp)
        return type(choices[0]), optional, None, tuple(choices)
    if origin in (tuple, list, Sequence):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        item = args[0] if args else str
        return tuple, optional, item, None
    if tp in (int, float, str, bool):
        return tp, optional, None, None
    if tp is Any:
        return str, optional, None, None
    raise TypeError(f"unsupported config field type {tp!r}")


def _type_name(base: Any, optional: bool, item: Any, choices: tuple[Any, ...] | None) -> str:
    if choices:
        name = "|".join(str(c) for c in choices)
    elif base is tuple:
        name = f"{getattr(item, '__name__', 'str')},..."
    else:
        name = base.__name__
    return f"{name} or none" if optional else name


def describe(cls: type) -> list[FieldInfo]:
    """The fields of a config dataclass, in declaration order."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name.startswith("_"):
            continue
        base, optional, item, literal = _unwrap(hints[f.name])
        choices = f.metadata.get("choices") or literal
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        out.append(
            FieldInfo(
                name=f.name,
                type=hints[f.name],
                type_name=_type_name(base, optional, item, choices),
                default=default,
                help=f.metadata.get("help", ""),
                choices=tuple(choices) if choices else None,
                optional=optional,
                base=base,
                item=item,
                minimum=f.metadata.get("min"),
                maximum=f.metadata.get("max"),
                cli=f.metadata.get("cli", True),
                below=f.metadata.get("below"),
                length=f.metadata.get("length"),
                finite=f.metadata.get("finite", True),
            )
        )
    return out


def parse_value(info: FieldInfo, raw: Any, where: str = "") -> Any:
    """Convert a string (from the CLI or `--set`) or a YAML value to the field's type, checking it."""
    label = f"{where}{info.name}"
    says_none = isinstance(raw, str) and raw.strip().lower() in _NONE
    if raw is None or (says_none and (info.optional or info.base not in (str, tuple))):
        if info.optional:
            return None
        raise ConfigError(f"{label} cannot be empty (expected {info.type_name})")
    if says_none and info.base is tuple:
        value: Any = ()
    else:
        try:
            if info.base is tuple:
                if isinstance(raw, str):
                    parts = [p.strip() for p in raw.split(",") if p.strip()]
                elif isinstance(raw, (list, tuple)):
                    parts = list(raw)
                else:
                    parts = [raw]
                value = tuple(_scalar(info.item, p, label) for p in parts)
            else:
                value = _scalar(info.base, raw, label)
        except ConfigError:
            raise
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{label}: {short_repr(raw)} is not a valid {info.type_name}") from None
    if info.choices and value not in info.choices:
        raise ConfigError(f"{label}: {short_repr(value)} is not one of {', '.join(map(str, info.choices))}")
    if info.length is not None and isinstance(value, tuple) and len(value) != info.length:
        raise ConfigError(f"{label} needs {info.length} values, got {len(value)} ({short_repr(raw)})")
    for v in value if isinstance(value, tuple) else (value,):
        _check_number(info, v, label)
    return value


def _check_number(info: FieldInfo, v: Any, label: str) -> None:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return
    if isinstance(v, float) and not math.isfinite(v):
        if info.finite:
            raise ConfigError(f"{label}: {v} is not a finite number")
        return
    low = info.minimum if info.minimum is not None else (INT_MIN if isinstance(v, int) else None)
    high = info.maximum if info.maximum is not None else (INT_MAX if isinstance(v, int) else None)
    if low is not None and v < low:
        raise ConfigError(f"{label}: {v} is below the minimum {low}")
    if high is not None and v > high:
        raise ConfigError(f"{label}: {v} is above the maximum {high}")
    if info.below is not None and v >= info.below:
        raise ConfigError(f"{label}: {v} must be below {info.below}")


def short_repr(value: Any, limit: int = 80) -> str:
    """`repr(value)` cut to `limit` characters, without building the whole text of a huge value."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**60 else f"<{value.bit_length()}-bit integer>"
    elif isinstance(value, (list, tuple, dict)):
        text = f"<{type(value).__name__} of {len(value)}>"
    else:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _scalar(tp: Any, raw: Any, label: str) -> Any:
    if tp is bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{label}: {short_repr(raw)} is not a boolean (use true or false)")
    if tp is int:
        if isinstance(raw, bool):
            raise ValueError
        if isinstance(raw, float):
            if not raw.is_integer():
                raise ValueError
            return int(raw)
        text = str(raw).strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            as_float = float(text)  # accepts "1e3"
            if not as_float.is_integer():
                raise
            return int(as_float)
    if tp is float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise ValueError
        return float(raw)
    if tp is str:
        # Text, or a YAML scalar that reads as text (`data: 2024`); never a list or a mapping.
        if isinstance(raw, bool) or (not isinstance(raw, (str, int, float)) and not _is_date(raw)):
            raise ValueError
        text = str(raw)
        if "\x00" in text:
            raise ConfigError(f"{label}: text with a NUL character is not allowed")
        return text
    return tp(raw)


def _is_date(raw: Any) -> bool:
    import datetime

    return isinstance(raw, (datetime.date, datetime.datetime))


def build(cls: type, layers: Sequence[tuple[str, Mapping[str, Any]]]) -> Any:
    """Instantiate `cls` from named layers of overrides applied in order (later wins).

    Unknown keys raise `ConfigError` naming the layer and close matches; values are type-checked.
    """
    infos = {f.name: f for f in describe(cls)}
    values: dict[str, Any] = {}
    for layer_name, layer in layers:
        for key, raw in layer.items():
            if not isinstance(key, str):
                raise ConfigError(f"{layer_name}: option names are text, got {short_repr(key)}")
            name = key.replace("-", "_")
            if name not in infos:
                close = difflib.get_close_matches(name, list(infos), n=3) if len(name) < 100 else []
                hint = f" Did you mean: {', '.join(close)}?" if close else ""
                raise ConfigError(f"{layer_name}: unknown option {short_repr(key)}.{hint}")
            values[name] = parse_value(infos[name], raw, where=f"{layer_name}: ")
    missing = [n for n, f in infos.items() if f.default is MISSING and n not in values]
    if missing:
        raise ConfigError(f"missing required options: {', '.join(missing)}")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"invalid {cls.__name__}: {exc}") from None


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON/YAML-ready dict of a config dataclass (tuples become lists)."""
    return {f.name: to_jsonable(getattr(config, f.name)) for f in dataclasses.fields(config) if not f.name.startswith("_")}


def from_dict(cls: type, data: Mapping[str, Any], where: str = "config") -> Any:
    """Rebuild a config dataclass from `to_dict` output (e.g. a checkpoint header)."""
    return build(cls, [(where, data)])


def to_jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: to_jsonable(v) for k, v in value.items()}
    if value is MISSING:
        return None
    return value


def split_set_items(items: Sequence[str]) -> dict[str, str]:
    """Parse `--set key=value` items into a dict (later items win)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {short_repr(item)}")
        out[key.strip()] = value
    return out


def format_default(value: Any) -> str:
    if value is MISSING:
        return "(required)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)
