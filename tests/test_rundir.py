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


def test_a_second_lock_on_a_folder_refuses_naming_the_holder(tmp_path):
    import os

    import pytest

    from ganzoo.engine.runlock import LOCK_NAME, RunLock
    from ganzoo.errors import ConfigError

    folder = tmp_path / "run"
    folder.mkdir()
    with RunLock(folder) as first:
        assert first.held and (folder / LOCK_NAME).read_text().startswith(f"pid={os.getpid()} ")
        with pytest.raises(ConfigError, match=f"in use by process {os.getpid()} "):
            RunLock(folder).acquire()
    assert not (folder / LOCK_NAME).exists()
    with RunLock(folder) as again:  # free again once released
        assert again.held


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path):
    from ganzoo.engine.runlock import LOCK_NAME, RunLock

    folder = tmp_path / "run"
    folder.mkdir()
    dead = _dead_pid()
    (folder / LOCK_NAME).write_text(f"pid={dead} host=elsewhere\n")  # what kill -9 leaves: a file, no flock
    lock = RunLock(folder).acquire()
    try:
        assert lock.taken_over_from == dead
    finally:
        lock.release()


def test_training_a_finished_run_again_returns_its_result_and_changes_nothing(toy_registry, tmp_path):
    from ganzoo.testing import smoke_train

    out = tmp_path / "run"
    first = smoke_train("toy", out, steps=4)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    again = smoke_train("toy", out, steps=4)  # as `ganzoo stylize --run-dir` does with the same steps
    assert again.steps == first.steps == 4 and again.last_checkpoint == out / "checkpoints/last.safetensors"
    assert again.samples == first.samples[-1:] or again.samples == first.samples
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_a_lock_still_held_by_the_workers_of_a_dead_trainer_says_to_try_again(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import pytest

    from ganzoo.engine.runlock import RunLock, pid_alive
    from ganzoo.errors import ConfigError

    folder = tmp_path / "run"
    folder.mkdir()
    # A trainer takes the lock, forks a worker (which inherits the flock) and dies without cleaning up.
    script = (
        "import os, sys, time\n"
        "from ganzoo.engine.runlock import RunLock\n"
        f"RunLock({str(folder)!r}).acquire()\n"
        "worker = os.fork()\n"
        "if worker == 0:\n"
        "    devnull = os.open(os.devnull, os.O_WRONLY); os.dup2(devnull, 1); os.dup2(devnull, 2)\n"
        "    time.sleep(60); os._exit(0)\n"
        "print(os.getpid(), worker, flush=True); os._exit(0)\n"
    )
    trainer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    pid, worker = (int(v) for v in trainer.stdout.split())
    try:
        assert not pid_alive(pid) and pid_alive(worker)
        with pytest.raises(ConfigError, match=f"what is left of process {pid}, which has ended.*try again"):
            RunLock(folder).acquire()
    finally:
        os.kill(worker, signal.SIGKILL)  # the worker this test made
    deadline = time.time() + 30
    while pid_alive(worker) and time.time() < deadline:
        time.sleep(0.05)
    with RunLock(folder) as lock:  # once the worker is gone, the lock is taken over
        assert lock.taken_over_from == pid
