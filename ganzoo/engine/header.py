"""The schema of a ganzoo checkpoint's metadata header, checked before anything trusts it (torch-free).

safetensors metadata is a mapping of text to text; ganzoo stores JSON in some of the values. A file
from anywhere may carry anything there, so every reader (`read_header`, `load_checkpoint`) goes
through `parse_header`, which checks each field's type, the JSON fields' nesting depth and size,
the format version, and that the networks and state tensors the header names are in the file.
Whatever is wrong becomes one `CheckpointError` line naming the file and the field.

| field | type |
| --- | --- |
| format | "ganzoo.checkpoint" |
| format_version | integer text, 1 to the version this ganzoo reads |
| kind | "training" or "weights" |
| name | model name (lower case, digits, underscores) |
| plugin, plugin_version, ganzoo_version, torch_version, created, data | text |
| config | JSON object; its `model` and `train` sections map option names to a scalar or a list of scalars |
| step, epoch | non-negative integer text (64-bit) |
| nets | JSON list of distinct network names, each holding tensors under `net/NAME/` |
| ema | JSON list of distinct network names, each holding tensors under `ema/NAME/` |
| state | JSON structure; `{"__tensor__": KEY}` leaves name tensors under `state/` |
| data_info, notes | JSON objects |

Fields this version does not know are kept as text and otherwise ignored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError
from ganzoo.specs import NAME_RE

FORMAT = "ganzoo.checkpoint"
FORMAT_VERSION = 1
KINDS = ("training", "weights")
REQUIRED = ("format", "format_version", "kind", "name", "plugin", "config", "step", "nets")

#: Deepest nesting of lists and objects in a JSON field (a training state is about 8 deep).
MAX_DEPTH = 32
#: Longest JSON field, in characters (a training state is about 20 KB).
MAX_JSON_CHARS = 16 << 20
#: Longest plain text field (versions, names, the data reference).
MAX_TEXT = 4096
#: Most networks one checkpoint may list.
MAX_NETS = 256
MAX_INT = 2**63 - 1

_NET_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")
_TEXT_FIELDS = ("plugin", "plugin_version", "ganzoo_version", "torch_version", "created", "data")
_SPECIAL_KEYS = ("__tensor__", "__tuple__", "__items__", "__float__")


class _Bad(Exception):
    """One problem with one field (turned into a CheckpointError naming the file)."""


def parse_header(raw: Mapping[str, Any], file: str | Path, tensor_names: Collection[str]) -> dict[str, Any]:
    """The checked, decoded header of `file`: JSON fields parsed, numbers as ints.

    `tensor_names` are the keys of the file's tensors (read from its header, not its data).
    The decoded state structure is returned under `state_structure`.
    """
    if not isinstance(raw, Mapping) or raw.get("format") != FORMAT:
        raise CheckpointError(
            f"{file} is a safetensors file but not a ganzoo checkpoint (no ganzoo header); "
            "pretrained weights from elsewhere are converted with 'ganzoo download NAME.TAG'"
        )
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        raise CheckpointError(f"{file} has an incomplete ganzoo header (missing {', '.join(missing)})")
    field = "format_version"
    try:
        version = _int_text(raw["format_version"], low=1)
        if version > FORMAT_VERSION:
            raise CheckpointError(
                f"{file} was written by a newer ganzoo (checkpoint format {version}, this version reads up to "
                f"{FORMAT_VERSION}); upgrade ganzoo-core"
            )
        meta: dict[str, Any] = {k: v for k, v in raw.items() if isinstance(k, str)}
        meta["format_version"] = version
        field = "kind"
        if raw["kind"] not in KINDS:
            raise _Bad(f"{_short(raw['kind'])} is not one of {', '.join(KINDS)}")
        field = "name"
        name = _text(raw["name"])
        if not NAME_RE.match(name):
            raise _Bad(f"{_short(name)} is not a model name")
        for field in _TEXT_FIELDS:
            meta[field] = _text(raw.get(field, ""))
        field = "step"
        meta["step"] = _int_text(raw["step"], low=0)
        field = "epoch"
        meta["epoch"] = _int_text(raw.get("epoch", "0"), low=0)
        field = "config"
        meta["config"] = _config(_json(raw["config"]))
        tensors = set(tensor_names)
        for field, prefix in (("nets", "net"), ("ema", "ema")):
            names = _net_names(_json(raw.get(field, "[]")))
            held = {key.split("/", 2)[1] for key in tensors if key.startswith(prefix + "/") and key.count("/") >= 2}
            absent = [n for n in names if n not in held]
            if absent:
                raise _Bad(f"lists networks {absent[:4]} that the file holds no {prefix}/ tensors for")
            meta[field] = names
        field = "state"
        structure = _json(raw.get("state", "{}"))
        _check_state(structure, tensors)
        meta["state_structure"] = structure
        for field in ("data_info", "notes"):
            value = _json(raw.get(field, "{}"))
            if not isinstance(value, dict):
                raise _Bad(f"must be a JSON object, not {_kind(value)}")
            meta[field] = value
    except _Bad as bad:
        raise CheckpointError(f"{file} has a corrupt ganzoo header (field {field}: {bad})") from None
    return meta


# -- field types ----------------------------------------------------------------------------------
def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        raise _Bad(f"expected text, got {_kind(value)}")
    if len(value) > limit:
        raise _Bad(f"text of {len(value)} characters is longer than {limit}")
    return value


def _int_text(value: Any, *, low: int) -> int:
    text = _text(value, 40).strip()
    if not re.fullmatch(r"[+-]?[0-9]{1,20}", text):
        raise _Bad(f"{_short(text)} is not an integer")
    number = int(text)
    if not low <= number <= MAX_INT:
        raise _Bad(f"{number} is out of range ({low} to 2**63-1)")
    return number


def _json(value: Any) -> Any:
    """Decode a JSON field after checking its size and nesting depth (so decoding cannot recurse deeply)."""
    text = _text(value, MAX_JSON_CHARS)
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise _Bad(f"JSON nested {depth} levels deep (at most {MAX_DEPTH})")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"not valid JSON ({' '.join(str(exc).split())[:80]})") from None


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def _depth(text: str) -> int:
    """Deepest bracket nesting of JSON text, ignoring brackets inside strings (no parsing, no recursion)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _config(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"must be a JSON object, not {_kind(value)}")
    for section in ("model", "train"):
        options = value.get(section, {})
        if not isinstance(options, dict):
            raise _Bad(f"its {section} section must be a JSON object, not {_kind(options)}")
        for key, item in options.items():
            items = item if isinstance(item, list) else [item]
            if isinstance(item, list) and len(item) > MAX_TEXT:
                raise _Bad(f"{section}.{_short(key)} is a list of {len(item)} values")
            for v in items:
                if not (v is None or isinstance(v, (bool, int, float, str))):
                    raise _Bad(f"{section}.{_short(key)} holds {_kind(v)}, not an option value")
    for key in ("name", "plugin", "plugin_version", "ganzoo_version"):
        if key in value and value[key] is not None and not isinstance(value[key], str):
            raise _Bad(f"its {key} must be text, not {_kind(value[key])}")
    return value


def _net_names(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise _Bad(f"must be a JSON list of network names, not {_kind(value)}")
    if len(value) > MAX_NETS:
        raise _Bad(f"lists {len(value)} networks (at most {MAX_NETS})")
    for name in value:
        if not isinstance(name, str) or not _NET_NAME.match(name):
            raise _Bad(f"{_short(name)} is not a network name")
    if len(set(value)) != len(value):
        raise _Bad("lists a network twice")
    return list(value)


def _check_state(structure: Any, tensors: Collection[str]) -> None:
    """The forms `flatten_state` writes, with every tensor reference present in the file."""
    if not isinstance(structure, dict):
        raise _Bad(f"must be a JSON object, not {_kind(structure)}")
    stack = [structure]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            special = [k for k in _SPECIAL_KEYS if k in node]
            if not special:
                stack.extend(node.values())
                continue
            if len(node) != 1:
                raise _Bad(f"an object with {special[0]!r} has other keys too")
            key, value = special[0], node[special[0]]
            if key == "__tensor__":
                if not isinstance(value, str) or not value.startswith("state/") or value not in tensors:
                    raise _Bad(f"refers to a tensor {_short(value)} that the file does not hold")
            elif key == "__tuple__":
                if not isinstance(value, list):
                    raise _Bad(f"__tuple__ must be a list, not {_kind(value)}")
                stack.extend(value)
            elif key == "__items__":
                if not isinstance(value, list) or not all(isinstance(p, list) and len(p) == 2 for p in value):
                    raise _Bad("__items__ must be a list of [key, value] pairs")
                for item_key, item_value in value:
                    if not (item_key is None or isinstance(item_key, (str, int, bool))):
                        raise _Bad(f"__items__ has a key of type {_kind(item_key)}")
                    stack.append(item_value)
            elif not isinstance(value, str) or not _is_float_text(value):
                raise _Bad(f"__float__ must be 'nan', 'inf' or '-inf', not {_short(value)}")


def state_mismatch(saved: Any, fresh: Any, where: str = "state") -> str | None:
    """Where a loaded training state differs in kind from a fresh one of the same run (None: it conforms).

    Compared wherever both hold a value: numbers with numbers, text with text, booleans with booleans,
    tensors with tensors, lists and mappings item by item (their common keys and leading items). A fresh
    value of None (not known yet, e.g. a best score) accepts anything; a stored None is accepted where the
    run keeps a boolean (torch's optional flags such as an optimizer's `foreach` are None or a boolean).
    """
    stack = [(saved, fresh, where)]
    while stack:
        old, new, at = stack.pop()
        if new is None or (old is None and isinstance(new, bool)):
            continue
        got, want = _state_kind(old), _state_kind(new)
        if got != want:
            return f"{at} is {got}, this run keeps {want} there"
        if want == "a mapping":
            stack.extend((old[k], new[k], f"{at}/{k}") for k in new if k in old)
        elif want == "a list":
            stack.extend((a, b, f"{at}/{i}") for i, (a, b) in enumerate(zip(old, new)))
    return None


def _state_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return "a tensor"
    return _kind(value)


def _is_float_text(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value) if isinstance(value, (str, int, float, bool)) or value is None else f"<{_kind(value)}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def recorded(header: Mapping[str, Any], *keys: str, allowed: tuple[Any, ...] | type = bool) -> Any | None:
    """The value a checkpoint's header keeps under `keys` (e.g. "config", "train", "compile") if it is of
    type `allowed` (or one of the `allowed` values); None where it is missing or of another kind."""
    value: Any = header
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    ok = isinstance(value, allowed) if isinstance(allowed, type) else value in allowed
    return value if ok else None
