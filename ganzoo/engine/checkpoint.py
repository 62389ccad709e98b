"""The one checkpoint writer and reader: safetensors files with a self-describing header.

A file holds tensors under three prefixes: `net/NAME/...` (network weights), `ema/NAME/...` (EMA
copies) and `state/...` (optimizer, scheduler, RNG, data position and family state). Its metadata
header (string to string) holds:

  format          "ganzoo.checkpoint"
  format_version  "1"
  kind            "training" (everything needed to resume) or "weights" (networks only)
  name, plugin, plugin_version, ganzoo_version, torch_version
  config          JSON of the full resolved run config (model and training options)
  step, epoch     progress when written
  data            the data reference trained on; data_info: JSON summary of it
  nets, ema       JSON lists of the network names stored under net/ and ema/
  state           JSON of the non-tensor state, with tensors replaced by {"__tensor__": key}
  created         UTC time of writing (ISO 8601)
  notes           JSON object of free-form provenance (e.g. converted from, degraded features)

Files are written atomically: a temporary file in the same folder, fsync, then rename. No pickle is
ever read or written. Every reader checks the header against the schema in `ganzoo.engine.header`
before trusting any of it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.engine.header import FORMAT, FORMAT_VERSION, KINDS, parse_header
from ganzoo.errors import CheckpointError

__all__ = ["FORMAT", "FORMAT_VERSION", "KINDS", "Checkpoint", "load_checkpoint", "load_module_state",
           "read_header", "save_checkpoint", "write_safetensors_atomic"]


# -- nested state <-> (JSON structure, tensors) ---------------------------------------------------
def flatten_state(obj: Any, prefix: str = "state") -> tuple[Any, dict[str, torch.Tensor]]:
    """Split nested state into a JSON-able structure and a flat dict of tensors."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            tensors[path] = value
            return {"__tensor__": path}
        if isinstance(value, Mapping):
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: walk(v, f"{path}/{k}") for k, v in value.items()}
            return {"__items__": [[_key(k), walk(v, f"{path}/{_key_path(k)}")] for k, v in value.items()]}
        if isinstance(value, tuple):
            return {"__tuple__": [walk(v, f"{path}/{i}") for i, v in enumerate(value)]}
        if isinstance(value, list):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(value)]
        if isinstance(value, float) and not math.isfinite(value):
            return {"__float__": repr(value)}
        if isinstance(value, (bool, int, float, str)) or value is None:
            return value
        if hasattr(value, "item") and callable(value.item):  # numpy scalars
            return walk(value.item(), path)
        raise TypeError(f"cannot store {type(value).__name__} at {path} in a checkpoint")

    return walk(obj, prefix), tensors


def _key(k: Any) -> Any:
    if isinstance(k, (int, str, bool)) or k is None:
        return k
    raise TypeError(f"unsupported mapping key {k!r} in checkpoint state")


def _key_path(k: Any) -> str:
    return f"k{k}"


def unflatten_state(structure: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of `flatten_state`."""
    if isinstance(structure, list):
        return [unflatten_state(v, tensors) for v in structure]
    if isinstance(structure, dict):
        if "__tensor__" in structure:
            key = structure["__tensor__"]
            if key not in tensors:
                raise CheckpointError(f"checkpoint state refers to a missing tensor {key!r}")
            return tensors[key]
        if "__tuple__" in structure:
            return tuple(unflatten_state(v, tensors) for v in structure["__tuple__"])
        if "__items__" in structure:
            return {k: unflatten_state(v, tensors) for k, v in structure["__items__"]}
        if "__float__" in structure:
            return float(structure["__float__"])
        return {k: unflatten_state(v, tensors) for k, v in structure.items()}
    return structure


# -- files ----------------------------------------------------------------------------------------
@dataclass
class Checkpoint:
    """A loaded checkpoint: header fields, network weights, EMA weights and the rest of the state."""

    path: str
    meta: dict[str, Any]
    nets: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    ema: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @property
    def step(self) -> int:
        return int(self.meta.get("step", 0))

    @property
    def config(self) -> dict[str, Any]:
        return self.meta["config"]

    def inference_weights(self, net: str) -> dict[str, torch.Tensor]:
        """The EMA weights of `net` when stored, else its raw weights."""
        if net in self.ema:
            return self.ema[net]
        if net in self.nets:
            return self.nets[net]
        raise CheckpointError(f"{self.path} holds no weights for network {net!r} (has: {', '.join(self.nets)})")


def save_checkpoint(
    path: str | Path,
    *,
    kind: str,
    name: str,
    plugin: str,
    plugin_version: str,
    config: Mapping[str, Any],
    step: int,
    epoch: int = 0,
    data: str = "",
    data_info: Mapping[str, Any] | None = None,
    nets: Mapping[str, Mapping[str, torch.Tensor]],
    ema: Mapping[str, Mapping[str, torch.Tensor]] | None = None,
    state: Mapping[str, Any] | None = None,
    notes: Mapping[str, Any] | None = None,
) -> Path:
    """Write a checkpoint atomically and return its path."""
    from ganzoo import __version__

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    tensors: dict[str, torch.Tensor] = {}
    for prefix, group in (("net", nets), ("ema", ema or {})):
        for net_name, sd in group.items():
            for key, value in sd.items():
                tensors[f"{prefix}/{net_name}/{key}"] = value
    structure, state_tensors = flatten_state(dict(state or {}), "state")
    tensors.update(state_tensors)
    meta = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "kind": kind,
        "name": name,
        "plugin": plugin,
        "plugin_version": plugin_version,
        "ganzoo_version": __version__,
        "torch_version": torch.__version__,
        "config": json.dumps(config, sort_keys=True),
        "step": str(int(step)),
        "epoch": str(int(epoch)),
        "data": data or "",
        "data_info": json.dumps(dict(data_info or {}), sort_keys=True, default=str),
        "nets": json.dumps(list(nets)),
        "ema": json.dumps(list(ema or {})),
        "state": json.dumps(structure),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "notes": json.dumps(dict(notes or {}), sort_keys=True, default=str),
    }
    return write_safetensors_atomic(path, tensors, meta)


def write_safetensors_atomic(path: str | Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str]) -> Path:
    """Write a safetensors file through a temporary file, fsync and rename (the only writer)."""
    from safetensors.torch import save_file

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    prepared = _prepare(tensors)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        save_file(prepared, str(tmp), metadata=dict(meta))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    return target


def _prepare(tensors: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # safetensors refuses tensors that share memory: give every stored tensor its own storage.
    seen: set[int] = set()
    out = {}
    for key, value in tensors.items():
        t = value.detach().cpu().contiguous()
        if t.numel():
            ptr = t.untyped_storage().data_ptr()
            if ptr in seen:
                t = t.clone()
                ptr = t.untyped_storage().data_ptr()
            seen.add(ptr)
        out[key] = t
    return out


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_header(path: str | Path) -> dict[str, Any]:
    """The parsed, validated header of a ganzoo checkpoint (no tensors are read)."""
    meta, _ = _open(path, load_tensors=False)
    return meta


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and validate a whole checkpoint; every problem is one `CheckpointError` line."""
    meta, tensors = _open(path, load_tensors=True)
    ck = Checkpoint(str(path), meta)
    for key, value in tensors.items():
        prefix, _, rest = key.partition("/")
        if prefix in ("net", "ema"):
            net_name, _, param = rest.partition("/")
            getattr(ck, "nets" if prefix == "net" else "ema").setdefault(net_name, {})[param] = value
    state_tensors = {k: v for k, v in tensors.items() if k.startswith("state/")}
    ck.state = unflatten_state(meta.pop("state_structure", {}), state_tensors) or {}
    return ck


def load_networks(path: str | Path, names: list[str] | tuple[str, ...]) -> Checkpoint:
    """The header and the inference weights (EMA when stored, else raw) of the networks `names` only.

    Other tensors (the other networks, optimizer moments, anything else the file holds) are not read:
    the safetensors file is memory-mapped and only the wanted tensors are copied out.
    """
    from safetensors import safe_open

    file = Path(path)
    meta, _ = _open(file, load_tensors=False)
    meta.pop("state_structure", None)
    ck = Checkpoint(str(file), meta)
    wanted: dict[str, tuple[str, str, str]] = {}
    for name in names:
        prefix = "ema" if name in meta.get("ema", []) else "net" if name in meta.get("nets", []) else None
        if prefix is not None:
            wanted[name] = (prefix, f"{prefix}/{name}/", name)
    try:
        with safe_open(str(file), framework="pt", device="cpu") as fh:
            keys = list(fh.keys())
            for key in keys:
                for prefix, start, name in wanted.values():
                    if key.startswith(start):
                        target = ck.ema if prefix == "ema" else ck.nets
                        target.setdefault(name, {})[key[len(start):]] = fh.get_tensor(key).clone()
    except Exception as exc:
        reason = " ".join(str(exc).split())[:160]
        raise CheckpointError(
            f"{file} is not a readable safetensors file (truncated or corrupt: {reason}); "
            "use another checkpoint from the run's checkpoints/ folder"
        ) from None
    return ck


def _open(path: str | Path, *, load_tensors: bool) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    from safetensors import safe_open

    file = Path(path)
    if not file.exists():
        raise CheckpointError(f"no checkpoint at {file}")
    if file.is_dir():
        raise CheckpointError(f"{file} is a folder; give a .safetensors checkpoint file")
    try:
        with safe_open(str(file), framework="pt", device="cpu") as fh:
            raw = fh.metadata() or {}
            names = list(fh.keys())
            meta = parse_header(raw, file, names)
            # clone(): fresh, aligned memory; tensors at odd offsets of the file buffer can round
            # reductions differently, which would break bit-exact resume.
            tensors = {k: fh.get_tensor(k).clone() for k in names} if load_tensors else {}
    except CheckpointError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:160]
        raise CheckpointError(
            f"{file} is not a readable safetensors file (truncated or corrupt: {reason}); "
            "use another checkpoint from the run's checkpoints/ folder"
        ) from None
    return meta, tensors


def load_module_state(module: torch.nn.Module, state: Mapping[str, torch.Tensor], *, what: str, source: str) -> None:
    """Load weights into a network, turning any key, shape or type mismatch into one clear line.

    Stored tensors of another precision of the same kind (float64 or float16 weights into a float32
    model, int32 counters into int64 ones) are converted, with one warning line; integer or boolean
    tensors where the network has floating ones (quantized int8 weights, say), or the reverse, are
    refused.
    """
    expected = module.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if mismatched:
            parts.append(f"{len(mismatched)} shape mismatches (e.g. {mismatched[0]})")
        raise CheckpointError(f"{source}: weights of {what} do not fit the model: " + "; ".join(parts))
    converted = _check_dtypes(expected, state, what=what, source=source)
    if converted:
        import sys

        kinds = ", ".join(f"{_dtype_name(a)} -> {_dtype_name(b)}" for a, b in sorted(converted, key=str))
        print(f"Warning: {source}: weights of {what} are stored in another precision than the model's "
              f"({kinds}); converted on loading", file=sys.stderr, flush=True)
    module.load_state_dict(dict(state), strict=True)


def _dtype_kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "boolean"
    if dtype.is_complex:
        return "complex"
    return "floating" if dtype.is_floating_point else "integer"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _check_dtypes(expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor], *, what: str,
                  source: str) -> set[tuple[torch.dtype, torch.dtype]]:
    """The (stored, model) floating type pairs to convert; raises for tensors of another kind of type."""
    converted: set[tuple[torch.dtype, torch.dtype]] = set()
    for key, want in expected.items():
        got = state[key].dtype
        if got == want.dtype:
            continue
        if _dtype_kind(got) != _dtype_kind(want.dtype):
            raise CheckpointError(
                f"{source}: {what}.{key} is stored as {_dtype_name(got)} ({_dtype_kind(got)}) where the model has "
                f"{_dtype_name(want.dtype)}; ganzoo does not convert between kinds of types (e.g. quantized "
                "weights), so store the weights as floating point"
            )
        converted.add((got, want.dtype))
    return converted
