"""What a model SOURCE argument names, checked before torch is imported (one-line errors in milliseconds).

SOURCE is a checkpoint file, a run folder, a run's `checkpoints/` folder, or a catalogue `name.tag`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError, UnknownNameError


@dataclass(frozen=True)
class CheckedSource:
    """A SOURCE whose file and header (or catalogue name) were checked; `path` is None for a `name.tag`."""

    source: str
    path: Path | None
    spec: Any
    meta: dict[str, Any] | None = None

    @property
    def load_ref(self) -> str:
        """What to hand to `ganzoo.engine.inference.load`."""
        return str(self.path) if self.path is not None else self.source


def check_source(source: str) -> CheckedSource:
    """Resolve and check SOURCE without torch: file present, a ganzoo checkpoint, its plugin installed."""
    from ganzoo.engine.peek import checkpoint_in_folder, looks_like_path, read_header_fast, spec_for_header

    if looks_like_path(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise CheckpointError(f"no checkpoint at {path}")
        if path.is_dir():
            path = checkpoint_in_folder(path)
        meta = read_header_fast(path)
        return CheckedSource(source, path, spec_for_header(meta, path), meta)
    from ganzoo.registry import get_registry

    registry = get_registry()
    resolved = registry.resolve_model(source)
    if resolved.tag is None:
        tags = registry.checkpoint_tags(resolved.spec.name)
        hint = f" (e.g. {resolved.spec.name}.{tags[0]})" if tags else f"; {resolved.spec.name!r} has none"
        raise UnknownNameError(f"{source!r} names no pretrained checkpoint and no file: use NAME.TAG{hint}")
    return CheckedSource(source, None, resolved.spec)


def task_hint(task: str) -> str:
    """The command that uses a model of `task`."""
    return {"image-to-image": "ganzoo translate", "style-transfer": "ganzoo stylize"}.get(task, "ganzoo sample")


def an(word: str) -> str:
    """`word` with its indefinite article ('an image-to-image', 'a conditional')."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word
