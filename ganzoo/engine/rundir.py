"""The run folder: config.yaml, metrics.jsonl, samples/*.png and checkpoints/*.safetensors."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganzoo.atomic import write_text_atomic
from ganzoo.errors import ConfigError

LAST = "last.safetensors"
BEST = "best.safetensors"
#: Temporary files of ganzoo's writers: `.NAME.PID.tmp` (checkpoints), `.NAME.PID.link` (links),
#: `.NAME.XXXXXXXX.tmp` (atomic writes); group 2 is the writer's process id when the name holds one.
TEMPORARY_RE = re.compile(r"\.(.+?)(?:\.(\d+))?(?:\.[a-z0-9_]{8})?\.(?:tmp|link)")
#: Temporary files without a process id are removed when untouched for this long.
STALE_SECONDS = 600.0
PERIODIC_RE = re.compile(r"step-(\d+)\.safetensors")


#: The training options a resume must keep (with the model's options): what identifies a run. The
#: Trainer refuses a resume that changes one of them; the default run folder is derived from them.
IDENTITY_TRAIN_OPTIONS = ("seed", "batch_size", "data", "subset")


def run_identity(config: Mapping[str, Any], default_data: str = "") -> dict[str, Any]:
    """What makes two runs the same run: the model, its options, and the seed, batch size, data and subset.

    Run length, intervals, EMA, balance and speed options may change between a run and its resume,
    so they are not part of it. `config` is a run config as a dict (`RunConfig.to_dict()`).
    """
    train = dict(config.get("train") or {})
    if not train.get("data"):
        train["data"] = default_data
    return {
        "name": config.get("name"),
        "model": config.get("model") or {},
        "train": {key: train.get(key) for key in IDENTITY_TRAIN_OPTIONS},
    }


def default_run_folder(config: Mapping[str, Any], default_data: str = "") -> Path:
    """`runs/NAME-DATA-HASH`: the same model with the same identity (`run_identity`) gets the same folder.

    So running the same command again finds the run it started, and continues it.
    """
    identity = run_identity(config, default_data)
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:8]
    data = str(identity["train"]["data"] or "")
    label = re.sub(r"[^a-z0-9]+", "-", Path(data.rstrip("/\\")).name.lower()).strip("-")[:24]
    return Path("runs") / "-".join(part for part in (str(identity["name"]), label, digest) if part)


class RunDir:
    """Paths and writers of one run folder (only process 0 writes)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.checkpoints = self.root / "checkpoints"
        self.samples = self.root / "samples"
        self.config_path = self.root / "config.yaml"
        self.metrics_path = self.root / "metrics.jsonl"
        self.events_path = self.root / "events.jsonl"

    @property
    def last(self) -> Path:
        return self.checkpoints / LAST

    @property
    def best(self) -> Path:
        return self.checkpoints / BEST

    def create(self) -> None:
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.samples.mkdir(parents=True, exist_ok=True)

    def remove_stale_temporaries(self) -> None:
        """Delete temporary files that no running process is writing (never a finished file).

        Temporaries named after a process (`.NAME.PID.tmp`, `.NAME.PID.link`) are removed when that
        process is gone; others (`.NAME.XXXX.tmp`) when untouched for `STALE_SECONDS`.
        """
        import time

        from ganzoo.engine.runlock import pid_alive

        now = time.time()
        for folder in (self.root, self.checkpoints, self.samples):
            if not folder.is_dir():
                continue
            for tmp in folder.iterdir():
                if not tmp.name.startswith(".") or not tmp.is_file() or tmp.is_symlink():
                    continue
                match = TEMPORARY_RE.fullmatch(tmp.name)
                if match and match.group(2):  # written by process PID
                    if not pid_alive(int(match.group(2))):
                        tmp.unlink(missing_ok=True)
                elif match or tmp.name.startswith(".tmp"):  # ours without a PID, or safetensors' own
                    try:
                        if now - tmp.stat().st_mtime > STALE_SECONDS:
                            tmp.unlink(missing_ok=True)
                    except FileNotFoundError:
                        pass

    def has_content(self) -> bool:
        """Whether the folder holds anything but ganzoo's own skeleton of a run that never got going.

        The skeleton is the lock, temporary files, empty `checkpoints/` and `samples/` folders, empty
        logs and a `config.yaml` (what a start that failed or was killed before its first step leaves).
        """
        if not self.root.is_dir():
            return False
        from ganzoo.engine.runlock import LOCK_NAME

        skeleton_files = {LOCK_NAME, self.config_path.name, self.metrics_path.name, self.events_path.name}
        for path in self.root.iterdir():
            if path.name in (self.checkpoints.name, self.samples.name) and path.is_dir() and not path.is_symlink():
                if any(not _is_temporary(p) for p in path.iterdir()):
                    return True
            elif path.name in skeleton_files and path.is_file():
                if path.name in (self.metrics_path.name, self.events_path.name) and path.stat().st_size:
                    return True
            elif not _is_temporary(path):
                return True
        return False

    def clear_for_restart(self) -> None:
        """Remove what a previous run wrote here (only ganzoo's own files and folders)."""
        for path in (self.config_path, self.metrics_path, self.events_path, self.root / "report.png"):
            path.unlink(missing_ok=True)
        for folder in (self.checkpoints, self.samples):
            if folder.exists():
                shutil.rmtree(folder)

    def plan(self, *, resume: bool, force: bool) -> tuple[Path | None, bool]:
        """Decide, without changing anything: (the checkpoint to resume from, whether to clear the folder first).

        Raises a one-line `ConfigError` for a folder that must not be used.
        """
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"--out {self.root} is a file, not a folder")
        if resume and self.last.exists():
            return self.last, False
        if not self.root.exists():
            return None, False
        if self.has_content():
            if not resume and not force:
                raise ConfigError(
                    f"run folder {self.root} is not empty; add --force to start over there "
                    "(its checkpoints, samples and metrics are replaced) or choose another --out"
                )
            if resume and not force:
                raise ConfigError(
                    f"run folder {self.root} is not empty but holds no checkpoints/{LAST} to resume from; "
                    "add --force to start over there or choose another --out"
                )
        return None, True

    def make_ready(self, *, clear: bool) -> None:
        """Clear what `plan` said to clear, remove stale temporary files and create the skeleton."""
        self.remove_stale_temporaries()
        if clear:
            self.clear_for_restart()
        self.create()

    def prepare(self, *, resume: bool, force: bool) -> Path | None:
        """Make the folder ready; return the checkpoint to resume from, if any."""
        resume_from, clear = self.plan(resume=resume, force=force)
        self.make_ready(clear=clear)
        return resume_from

    # -- writers ----------------------------------------------------------------------------
    def write_config(self, data: Mapping[str, Any]) -> None:
        import yaml

        text = "# Resolved configuration of this run (ganzoo train --config accepts this file).\n"
        text += yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False)
        write_text_atomic(self.config_path, text)

    def append_metrics(self, record: Mapping[str, Any]) -> None:
        _append_jsonl(self.metrics_path, record)

    def append_event(self, record: Mapping[str, Any]) -> None:
        _append_jsonl(self.events_path, record)

    def truncate_after(self, step: int) -> None:
        """Drop metric and event lines logged after `step` (written after the checkpoint resumed from)."""
        for path in (self.metrics_path, self.events_path):
            if not path.exists():
                continue
            kept = []
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    if int(json.loads(line).get("step", 0)) <= step:
                        kept.append(line)
                except (ValueError, AttributeError):
                    continue
            write_text_atomic(path, "".join(k + "\n" for k in kept))

    def sample_path(self, step: int) -> Path:
        return self.samples / f"step-{step:06d}.png"

    def stage_sample_path(self, tag: str) -> Path:
        return self.samples / f"stage-{tag}.png"

    def samples_written(self) -> list[Path]:
        """The sample grids `samples/step-N.png`, oldest first."""
        found = []
        for path in self.samples.glob("step-*.png"):
            match = re.fullmatch(r"step-(\d+)\.png", path.name)
            if match:
                found.append((int(match.group(1)), path))
        return [path for _, path in sorted(found)]

    def periodic_checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:06d}.safetensors"

    def periodic_checkpoints(self) -> list[Path]:
        """The periodic checkpoints `step-N.safetensors`, oldest first (by step number, not by name)."""
        found = []
        for path in self.checkpoints.glob("step-*.safetensors"):
            match = PERIODIC_RE.fullmatch(path.name)
            if match:
                found.append((int(match.group(1)), path))
        return [path for _, path in sorted(found)]

    def prune_periodic(self, keep: int) -> None:
        """Delete all but the newest `keep` periodic checkpoints."""
        periodic = self.periodic_checkpoints()
        for old in periodic[: max(0, len(periodic) - keep)]:
            old.unlink(missing_ok=True)


def _is_temporary(path: Path) -> bool:
    return path.is_file() and (TEMPORARY_RE.fullmatch(path.name) is not None or path.name.startswith(".tmp"))


def _append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    line = json.dumps(record, default=_json_default, allow_nan=True)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def link_or_copy(source: Path, target: Path) -> None:
    """Make `target` hold the same file as `source` (hard link when possible), atomically."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)
