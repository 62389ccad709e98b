"""A checkpoint's header and tensor table read without torch, so bad input is refused in milliseconds.

A safetensors file starts with an 8-byte little-endian length and that many bytes of JSON: the
string-to-string metadata under `__metadata__` and, for every tensor, its dtype, shape and byte
offsets. Reading them needs only the standard library; the header is then checked against the
schema of `ganzoo.engine.header`, as every reader does.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.engine.header import parse_header
from ganzoo.errors import CheckpointError, NotInstalledError, UnknownNameError

#: Largest header accepted (safetensors itself refuses more than 100 MB).
MAX_HEADER_BYTES = 100_000_000


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lies in the file: dtype, shape, and [begin, end) bytes after the header."""

    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int


def read_table(path: str | Path) -> tuple[dict[str, str], dict[str, TensorEntry]]:
    """The raw metadata and tensor table of a safetensors file; one `CheckpointError` line otherwise."""
    file = Path(path)
    if not file.exists():
        raise CheckpointError(f"no checkpoint at {file}")
    if file.is_dir():
        raise CheckpointError(f"{file} is a folder; give a .safetensors checkpoint file")
    if file.suffix.lower() in (".yaml", ".yml", ".json", ".jsonl", ".txt", ".png", ".jpg", ".jpeg"):
        raise CheckpointError(
            f"{file} is not a checkpoint: give a .safetensors file, e.g. RUN/checkpoints/last.safetensors, "
            "or the run folder"
        )
    try:
        size = file.stat().st_size
        with file.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise ValueError("shorter than a safetensors header")
            (length,) = struct.unpack("<Q", head)
            if length > min(MAX_HEADER_BYTES, size - 8):
                raise ValueError("header length beyond the file")
            table = json.loads(fh.read(length).decode("utf-8"))
        if not isinstance(table, dict):
            raise ValueError("header is not a JSON object")
        raw_meta = table.pop("__metadata__", None) or {}
        if not isinstance(raw_meta, dict):
            raise ValueError("metadata is not a JSON object")
        entries = {}
        for name, info in table.items():
            begin, end = info["data_offsets"]
            entries[name] = TensorEntry(str(info["dtype"]), tuple(int(d) for d in info["shape"]), int(begin), int(end))
        if entries and 8 + length + max(e.end for e in entries.values()) > size:
            raise ValueError("the tensors end beyond the file")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, RecursionError, OSError) as exc:
        reason = " ".join(str(exc).split())[:160]
        raise CheckpointError(
            f"{file} is not a readable safetensors file (truncated or corrupt: {reason}); "
            "use another checkpoint from the run's checkpoints/ folder"
        ) from None
    return raw_meta, entries


def read_header_fast(path: str | Path) -> dict[str, Any]:
    """The validated ganzoo header of a checkpoint file, without torch and without reading tensors."""
    raw, entries = read_table(path)
    return parse_header(raw, path, list(entries))


def spec_for_header(meta: dict[str, Any], path: str | Path, registry: Any = None) -> Any:
    """The installed ModelSpec a checkpoint header names; when its plugin is missing, says what to install."""
    if registry is None:
        from ganzoo.registry import get_registry

        registry = get_registry()
    name, plugin = meta["name"], meta.get("plugin") or ""
    if plugin:
        try:
            return registry.resolve_model(f"{plugin}:{name}").spec
        except UnknownNameError:
            pass
    try:
        return registry.resolve_model(name).spec
    except UnknownNameError:
        if not plugin or plugin in registry.plugins.records:
            raise
        version = meta.get("plugin_version") or ""
        raise NotInstalledError(
            f"{path} holds a {name!r} model of the plugin {plugin}{' ' + version if version else ''}, which is not "
            f"installed; install it with: pip install {plugin}"
        ) from None


def checkpoint_in_folder(folder: Path) -> Path:
    """The checkpoint a folder stands for: a run folder's or a `checkpoints/` folder's `last.safetensors`."""
    for candidate in (folder / "checkpoints" / "last.safetensors", folder / "last.safetensors"):
        if candidate.is_file():
            return candidate
    held = sorted(p.name for p in folder.glob("*.safetensors"))
    if len(held) == 1:
        return folder / held[0]
    hint = f" (it holds {', '.join(held[:4])}{', ...' if len(held) > 4 else ''}: name one)" if held else ""
    raise CheckpointError(
        f"{folder} holds no checkpoint{hint}; give a run folder, its checkpoints/ folder or a .safetensors file"
    )


def looks_like_path(source: str) -> bool:
    """True when SOURCE names a file or folder rather than a catalogue `name.tag`."""
    return Path(source).expanduser().exists() or source.endswith(".safetensors") or "/" in source or "\\" in source
