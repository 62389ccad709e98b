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


def test_a_run_has_its_own_working_folder(tmp_path: Path, monkeypatch) -> None:
    """The pytest process's working folder may be a test's temporary one, deleted while a run starts in
    another thread; torch's MKL then aborts the run as it loads. Each run works in its own folder."""
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    runs = BackgroundRuns(tmp_path / "runs")
    runs.add("k", TINY)
    result = runs.result("k")
    assert result.done.returncode == 0, result.done.stderr
    assert (result.run / "checkpoints" / "last.safetensors").exists()


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


QUICK = ("train", "dcgan", "--help")  # a real `ganzoo` process that ends at once (`--out RUN` is appended)


def test_the_longest_expected_runs_start_first(tmp_path: Path) -> None:
    import time

    runs = BackgroundRuns(tmp_path)
    runs.add("short", QUICK, cpu_seconds=10)
    runs.add("unknown", QUICK)
    runs.add("long", QUICK, cpu_seconds=400)
    runs.add("middle", QUICK, cpu_seconds=150)
    assert runs.queue() == ["long", "middle", "short", "unknown"]
    runs.start()
    deadline = time.monotonic() + 300
    while not runs.finished and time.monotonic() < deadline:  # nobody asks: the helper thread runs them all
        time.sleep(0.1)
    assert runs.order == ["long", "middle", "short", "unknown"]
    assert {job.runner for job in runs.jobs.values()} == {"ganzoo-background-runs"}
    assert set(runs.measured()) == set(runs.jobs)


class _FakeCache:
    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def get(self, key: str, default: object) -> object:
        return self.values.get(key, default)

    def set(self, key: str, value: object) -> None:
        self.values[key] = value


class _FakeConfig:
    def __init__(self, cache: _FakeCache) -> None:
        self.cache = cache
        self.stash = pytest.Stash()


class _FakeItem:
    def __init__(self, nodeid: str, *marks: pytest.MarkDecorator) -> None:
        self.nodeid = nodeid
        self.marks = [m.mark for m in marks]

    def get_closest_marker(self, name: str):
        return next((m for m in self.marks if m.name == name), None)

    def iter_markers(self, name: str):
        return (m for m in self.marks if m.name == name)


def test_measured_cpu_seconds_order_the_next_session_instead_of_the_estimates(tmp_path: Path) -> None:
    """A session keeps each run's measured CPU time in pytest's cache; the next one orders by it."""
    from ganzoo.testing import fixtures

    cache = _FakeCache()
    items = [_FakeItem("t.py::a", pytest.mark.slow, pytest.mark.background_cli(*QUICK, cpu_seconds=500)),
             _FakeItem("t.py::b", pytest.mark.slow, pytest.mark.background_cli("train", "wgan", "--help", cpu_seconds=5))]
    first = _FakeConfig(cache)
    fixtures.pytest_collection_modifyitems(first, list(items))
    runs = first.stash[fixtures._RUNS]
    assert runs.queue() == ["t.py::a", "t.py::b"]  # no measurement yet: the estimates decide
    for key in runs.queue():
        assert runs.result(key).done.returncode == 0
    measured = runs.measured()
    fixtures.pytest_unconfigure(first)
    stored = cache.values[fixtures._CACHE_KEY]
    assert sorted(stored.values()) == sorted(round(v, 1) for v in measured.values())
    assert all(0 <= v < 500 for v in stored.values())

    assert set(stored) == {"train dcgan --help", "train wgan --help"}
    # The next session: the measured times replace the estimates (here both runs cost about the same,
    # so make b's record the longer one to see the order follow the record).
    stored["train wgan --help"] = 1000.0
    second = _FakeConfig(cache)
    fixtures.pytest_collection_modifyitems(second, list(items))
    assert second.stash[fixtures._RUNS].queue() == ["t.py::b", "t.py::a"]
    fixtures.pytest_unconfigure(second)


def test_tests_of_the_same_name_in_different_plugins_get_different_folders(tmp_path: Path) -> None:
    """Plugins' quality tests share names (only the path differs at the start of a long node id)."""
    runs = BackgroundRuns(tmp_path)
    name = "tests/test_quality.py::test_default_run_beats_the_noise_baseline_and_covers_the_digits[seed0]"
    runs.add(f"plugins/ganzoo-dcgan/{name}", QUICK)
    runs.add(f"plugins/ganzoo-wgan/{name}", QUICK)
    folders = [job.folder for job in runs.jobs.values()]
    assert len(set(folders)) == 2 and all(f.parent == tmp_path for f in folders)


def test_the_runs_start_with_the_sessions_first_test_slow_or_not(tmp_path: Path, monkeypatch) -> None:
    """The background core works from the start: a quick test first starts the runs, and torch in the test
    process keeps to one thread until they are done."""
    import time

    import torch

    from ganzoo.testing import fixtures, quality

    monkeypatch.setattr(quality, "machine_slowdown", lambda: 1.25)
    config = _FakeConfig(_FakeCache())
    quick = _FakeItem("t.py::quick")
    waiting = _FakeItem("t.py::run", pytest.mark.slow, pytest.mark.background_cli(*QUICK, cpu_seconds=5))
    items = [waiting, quick]
    fixtures.pytest_collection_modifyitems(config, items)
    assert [i.nodeid for i in items] == ["t.py::quick", "t.py::run"]  # the waiting test goes last
    threads = torch.get_num_threads()
    quick.config = config
    try:
        fixtures.pytest_runtest_setup(quick)
        runs = config.stash[fixtures._RUNS]
        assert runs.started and runs.slowdown == 1.25 and torch.get_num_threads() == 1
        deadline = time.monotonic() + 300
        while not runs.finished and time.monotonic() < deadline:
            time.sleep(0.1)
        fixtures.pytest_runtest_setup(quick)  # the next test: the background core is free again
        assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(threads)
        fixtures.pytest_unconfigure(config)
