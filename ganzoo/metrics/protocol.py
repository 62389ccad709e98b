"""Results with their protocol stamp: JSON lines, and the check that results are comparable (torch-free)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_bytes_atomic
from ganzoo.errors import GanzooError

PROTOCOL_VERSION = 2
"""Bumped whenever ganzoo changes how a metric is computed; results of different versions never mix.
2: `ganzoo eval` compares both sides at the smaller one's size and scores a model's `ganzoo sample` images."""

COMPARED_KEYS: tuple[str, ...] = (
    "protocol_version",
    "extractor",
    "extractor_weights_sha256",
    "feature_dim",
    "extractor_input_size",
    "resizer",
    "quantize",
    "image_size",
    "channels",
    "n_fake",
    "n_ref",
    "ref_fingerprint",
    "ref_split",
    "ref_image_size",
    "options",
)
"""Protocol fields that must be equal for two results to share a table (seed and versions are provenance)."""


@dataclass
class EvalResult:
    """Metric values, the protocol they were measured with, and what was measured."""

    values: dict[str, float]
    protocol: dict[str, Any]
    source: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    elapsed_s: float = 0.0
    origin: str = ""
    higher_is_better: dict[str, bool] = field(default_factory=dict)
    """Value name -> whether larger is better (from the metric's record; spreads such as `kid_std` are False)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "values": dict(self.values),
            "higher_is_better": dict(self.higher_is_better),
            "protocol": dict(self.protocol),
            "source": dict(self.source),
            "created": self.created,
            "elapsed_s": round(self.elapsed_s, 3),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], origin: str = "") -> EvalResult:
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict) or not isinstance(
            data.get("protocol"), dict
        ):
            raise GanzooError(f"{origin or 'result'} is not a ganzoo eval result (needs 'values' and 'protocol')")
        return cls(
            values={k: float(v) for k, v in data["values"].items()},
            protocol=dict(data["protocol"]),
            source=dict(data.get("source") or {}),
            created=str(data.get("created", "")),
            elapsed_s=float(data.get("elapsed_s", 0.0)),
            origin=origin,
            higher_is_better={k: bool(v) for k, v in (data.get("higher_is_better") or {}).items()},
        )

    @property
    def label(self) -> str:
        return str(self.source.get("source") or self.origin or "?")


def append_jsonl(path: str | os.PathLike[str], result: EvalResult) -> None:
    """Append one result as a JSON line; the file is rewritten atomically (never half-written)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.read_bytes() if target.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    line = json.dumps(result.to_json(), sort_keys=False).encode() + b"\n"
    write_bytes_atomic(target, old + line)


def read_jsonl(path: str | os.PathLike[str]) -> list[EvalResult]:
    """Every result in a JSON-lines file (blank lines skipped; a malformed line is an error naming it)."""
    p = Path(path)
    if not p.is_file():
        raise GanzooError(f"{p}: no such results file")
    results = []
    for number, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GanzooError(f"{p}:{number} is not JSON ({exc.msg})") from None
        results.append(EvalResult.from_json(data, origin=f"{p}:{number}"))
    return results


def protocol_differences(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, a's value, b's value) for every compared protocol field that differs."""
    return [(k, a.get(k), b.get(k)) for k in COMPARED_KEYS if a.get(k) != b.get(k)]


def check_comparable(results: Sequence[EvalResult]) -> None:
    """Raise one line naming the first result whose protocol differs from the first result's."""
    if not results:
        return
    first = results[0]
    for other in results[1:]:
        diff = protocol_differences(first.protocol, other.protocol)
        if diff:
            key, va, vb = diff[0]
            more = f" (and {len(diff) - 1} more fields)" if len(diff) > 1 else ""
            raise GanzooError(
                f"cannot compare {first.origin or first.label} and {other.origin or other.label}: protocol field "
                f"{key!r} differs ({_short(va)} vs {_short(vb)}){more}; re-evaluate with the same settings"
            )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def metric_columns(results: Iterable[EvalResult]) -> list[str]:
    """Metric names over all results, in first-seen order (per-class values last)."""
    seen: dict[str, None] = {}
    for r in results:
        for k in r.values:
            seen.setdefault(k, None)
    names = list(seen)
    return [k for k in names if "/" not in k] + [k for k in names if "/" in k]
