"""ganzoo.testing.background: long runs of slow tests started ahead, timed per process."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganzoo.testing.background import BackgroundRuns
from ganzoo.testing.quality import timed_cli

TINY = ("train", "dcgan", "--steps", "3", "--image-size", "16", "--batch-size", "8", "--set", "g_width=8",
        "--set", "d_width=8", "--sample-every", "3", "--diagnostics-every", "0")


def test_runs_started_ahead_finish_with_their_own_timings(tmp_path: Path) -> None:
    runs = BackgroundRuns(tmp_path)
    runs.add("tests/a.py::first", TINY)
    runs.add("tests/a.py::second", (*TINY, "--seed", "7"))
    runs.add("tests/a.py::first", ("never", "used"))  # the first registration wins
    runs.start()
    # While the background thread trains, a short foreground process is timed on its own.
    foreground = timed_cli("--help")
    assert runs.started
    second, first = runs.result("tests/a.py::second"), runs.result("tests/a.py::first")
    assert runs.finished
    assert foreground.returncode == 0 and "train" in foreground.stdout
    for result in (first, second):
        assert result.done.returncode == 0, result.done.stderr
        assert (result.run / "checkpoints" / "last.safetensors").exists()
        assert result.run.parent.parent == tmp_path and result.home.parent == result.run.parent
        assert result.done.cpu > 0 and result.done.wall > 0
    assert "seed: 7" in (second.run / "config.yaml").read_text()
    assert foreground.cpu < min(first.done.cpu, second.done.cpu)  # not the other processes' CPU time


def test_a_caller_waiting_for_a_run_runs_the_queued_ones_meanwhile(tmp_path: Path) -> None:
    import threading
    import time

    runs = BackgroundRuns(tmp_path)
    runs.add("first", (*TINY[:3], "20", *TINY[4:]))
    runs.add("second", TINY)
    runs.start()
    deadline = time.monotonic() + 60
    while runs.jobs["first"].process is None and time.monotonic() < deadline:  # the helper has taken it
        time.sleep(0.05)
    first = runs.result("first")  # "second" is run here while the helper thread runs "first"
    assert first.done.returncode == 0
    assert runs.jobs["first"].runner == "ganzoo-background-runs"
    assert runs.jobs["second"].runner == threading.current_thread().name
    assert runs.jobs["second"].finished.is_set() and runs.result("second").done.returncode == 0


def test_a_run_nobody_started_runs_when_asked(tmp_path: Path) -> None:
    runs = BackgroundRuns(tmp_path)
    runs.add("k", ("train", "no-such-model"))
    result = runs.result("k")  # never started: runs now, in this thread
    assert result.done.returncode != 0 and "no-such-model" in result.done.stderr


def test_stop_ends_a_run_still_going(tmp_path: Path) -> None:
    import time

    runs = BackgroundRuns(tmp_path)
    runs.add("long", ("train", "dcgan", "--steps", "100000", "--image-size", "16", "--batch-size", "8"))
    runs.add("queued", TINY)
    assert not runs.started and not runs.finished
    runs.start()
    deadline = time.monotonic() + 60
    while runs.jobs["long"].process is None and time.monotonic() < deadline:
        time.sleep(0.05)
    runs.stop()
    result = runs.result("long")
    assert runs.finished
    assert result.done.returncode == -9 and result.done.wall < 60
    assert runs.jobs["queued"].process is None  # never started after the stop
    with pytest.raises(RuntimeError, match="stopped before it started"):
        runs.result("queued")


def test_budgets_stretch_only_on_a_machine_slower_than_nominal() -> None:
    from ganzoo.testing.background import BackgroundRun
    from ganzoo.testing.quality import TimedRun, machine_slowdown

    slowdown = machine_slowdown()
    assert 1.0 <= slowdown < 20  # a measurement, not a constant: at least 1 by construction
    done = TimedRun(0, "", "", 1.0, 1.0)
    assert BackgroundRun(done, Path("run"), Path("home")).budget(300) == 300
    slow = BackgroundRun(done, Path("run"), Path("home"), slowdown=1.5)
    assert slow.budget(300) == 450
    assert slow.timings(300) == "wall 1 s, one-thread CPU 1 s (budget 450 s, machine slowdown 1.50)"



def test_a_skipped_test_gets_no_background_run() -> None:
    """A `skip`, or a `skipif` whose condition is true (a bf16 run on a host without bf16), starts no run."""
    from ganzoo.testing.fixtures import _skipped

    class Item:
        def __init__(self, *marks: pytest.MarkDecorator) -> None:
            self.marks = [m.mark for m in marks]

        def get_closest_marker(self, name: str):
            return next((m for m in self.marks if m.name == name), None)

        def iter_markers(self, name: str):
            return (m for m in self.marks if m.name == name)

    background = pytest.mark.background_cli("train", "dcgan")
    assert _skipped(Item(pytest.mark.skipif(True, reason="no bf16"), background))
    assert _skipped(Item(pytest.mark.skip(reason="off"), background))
    assert not _skipped(Item(pytest.mark.skipif(False, reason="has bf16"), background))
    assert not _skipped(Item(background))
