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
