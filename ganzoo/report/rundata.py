"""Read a run folder for `ganzoo report`: config, metrics, health checks, events and sample grids.

Works on a finished, a running or an interrupted run: lines that do not parse (a last line being
written, a line cut by a crash) are skipped and counted, and nothing is assumed about which files exist.
Torch-free.
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError

SAMPLE_NAME = re.compile(r"^step-(\d+)\.png$")


@dataclass
class RunData:
    """Everything a report shows about one run folder."""

    root: Path
    config: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    """Training log lines (losses, accuracies, lr, counters), by step."""
    health: list[dict[str, Any]] = field(default_factory=list)
    """Diagnostics checks: {"step": N, **health record}."""
    evals: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    samples: list[tuple[int, Path]] = field(default_factory=list)
    checkpoint_step: int | None = None
    unreadable_lines: int = 0

    @property
    def name(self) -> str:
        return str(self.config.get("name") or self.root.name)

    @property
    def train(self) -> dict[str, Any]:
        return dict(self.config.get("train") or {})

    @property
    def planned_steps(self) -> int | None:
        steps = self.train.get("steps")
        return int(steps) if isinstance(steps, int) else None

    @property
    def last_step(self) -> int:
        steps = [r["step"] for r in self.metrics + self.health] + [s for s, _ in self.samples]
        if self.checkpoint_step is not None:
            steps.append(self.checkpoint_step)
        return max(steps, default=0)

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "warning"]

    @property
    def stops(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == "stop"]

    @property
    def status(self) -> str:
        if self.stops:
            return f"stopped at step {self.stops[-1]['step']} ({self.stops[-1].get('kind', 'error')})"
        planned = self.planned_steps
        if planned is not None and self.checkpoint_step is not None and self.checkpoint_step >= planned:
            return "finished"
        return f"running or interrupted at step {self.last_step}"


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of a JSON-lines file (with an integer `step`), and how many lines were unreadable."""
    if not path.exists():
        return [], 0
    records, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
                record["step"] = int(record["step"])
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            records.append(record)
    return records, bad


def checkpoint_step(path: Path) -> int | None:
    """The `step` in a safetensors checkpoint's metadata header (read without torch), or None."""
    try:
        with open(path, "rb") as fh:
            (size,) = struct.unpack("<Q", fh.read(8))
            if size > 100_000_000:
                return None
            header = json.loads(fh.read(size))
        return int(header["__metadata__"]["step"])
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def find_run_folder(path: str | Path) -> Path:
    """The run folder `path` names: the folder itself, or the folder of a file inside it (a checkpoint, metrics.jsonl)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise GanzooError(f"{p} does not exist; give the run folder that `ganzoo train --out` wrote")
    candidates = [p] if p.is_dir() else []
    candidates += list(p.parents)[:3]
    for folder in candidates:
        if any((folder / name).exists() for name in ("metrics.jsonl", "config.yaml", "samples", "events.jsonl")):
            return folder
    raise GanzooError(f"{p} is not a run folder (no metrics.jsonl, config.yaml or samples/); "
                      "give the folder that `ganzoo train --out` wrote")


def load_run(path: str | Path) -> RunData:
    """Read the run folder at (or around) `path`."""
    root = find_run_folder(path)
    run = RunData(root)
    config_path = root / "config.yaml"
    if config_path.exists():
        import yaml

        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8"))
            run.config = loaded if isinstance(loaded, dict) else {}
        except yaml.YAMLError:
            run.unreadable_lines += 1
    records, bad = read_jsonl(root / "metrics.jsonl")
    run.unreadable_lines += bad
    for record in records:
        if isinstance(record.get("health"), dict):
            run.health.append({"step": record["step"], **record["health"]})
        elif "eval" in record:
            run.evals.append(record)
        else:
            run.metrics.append(record)
    run.events, bad = read_jsonl(root / "events.jsonl")
    run.unreadable_lines += bad
    samples = root / "samples"
    if samples.is_dir():
        for p in samples.iterdir():
            m = SAMPLE_NAME.match(p.name)
            if m and p.is_file():
                run.samples.append((int(m.group(1)), p))
        run.samples.sort()
    run.checkpoint_step = checkpoint_step(root / "checkpoints" / "last.safetensors")
    return run
