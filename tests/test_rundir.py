"""The run folder's own bookkeeping: periodic-checkpoint pruning, leftover temporary files, the skeleton."""

from __future__ import annotations

from pathlib import Path

from ganzoo.engine.rundir import RunDir


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_pruning_keeps_the_newest_by_step_number_past_999999(tmp_path):
    rundir = RunDir(tmp_path / "run")
    rundir.create()
    steps = [500_000, 999_999, 1_000_000, 1_500_000, 2_000_000]
    for step in steps:
        _touch(rundir.periodic_checkpoint(step))
    # As text, "step-1000000" sorts before "step-999999": the newest would be the ones deleted.
    assert sorted(p.name for p in rundir.checkpoints.iterdir())[0] == "step-1000000.safetensors"
    rundir.prune_periodic(keep=2)
    kept = sorted(p.name for p in rundir.checkpoints.iterdir())
    assert kept == ["step-1500000.safetensors", "step-2000000.safetensors"]
    assert [p.name for p in rundir.periodic_checkpoints()] == kept


def test_pruning_leaves_other_files_alone(tmp_path):
    rundir = RunDir(tmp_path / "run")
    rundir.create()
    for step in (10, 20, 30):
        _touch(rundir.periodic_checkpoint(step))
    keep = [_touch(rundir.last), _touch(rundir.checkpoints / "step-notes.safetensors")]
    rundir.prune_periodic(keep=1)
    assert sorted(p.name for p in rundir.checkpoints.iterdir()) == sorted(
        [p.name for p in keep] + ["step-000030.safetensors"])


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftover_temporaries_of_dead_processes_are_removed_and_live_ones_kept(tmp_path):
    import os
    import subprocess
    import sys

    rundir = RunDir(tmp_path / "run")
    rundir.create()
    dead, live = _dead_pid(), subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        gone = [
            _touch(rundir.checkpoints / f".last.safetensors.{dead}.link"),  # a kill between link and rename
            _touch(rundir.samples / f".stage-8.png.{dead}.link"),
            _touch(rundir.checkpoints / f".step-000010.safetensors.{dead}.tmp"),  # a kill during a save
        ]
        old = _touch(rundir.root / ".config.yaml.k3j4h5g6.tmp")  # an atomic write's, long untouched
        os.utime(old, (0, 0))
        gone.append(old)
        kept = [
            _touch(rundir.checkpoints / f".last.safetensors.{live.pid}.link"),  # being written right now
            _touch(rundir.checkpoints / f".last.safetensors.{live.pid}.tmp"),
            _touch(rundir.root / ".metrics.jsonl.a1b2c3d4.tmp"),  # fresh: maybe in flight
            _touch(rundir.last),
            _touch(rundir.root / ".hidden-notes"),  # not ours
        ]
        rundir.remove_stale_temporaries()
        assert [p for p in gone if p.exists()] == []
        assert [p for p in kept if not p.exists()] == []
    finally:
        live.kill()
        live.wait()
