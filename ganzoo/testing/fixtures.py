"""pytest fixtures and markers for ganzoo and its plugins: `pytest_plugins = ["ganzoo.testing.fixtures"]`.

Fixtures:

- `ganzoo_home`: a fresh GANZOO_HOME (cache of data and weights) for the test.
- `toy_registry`: the process registry holding only the core and the toy plugin.
- `toy_env`: environment variables that make the toy plugin visible to `ganzoo` subprocesses.
- `background_cli`: for a test marked `@pytest.mark.background_cli(*ARGS)`, the finished run of
  `ganzoo ARGS --out RUN` as a `ganzoo.testing.background.BackgroundRun`: `.done` (a
  `ganzoo.testing.quality.TimedRun`: `returncode`, `stdout`, `stderr`, `wall` seconds, `cpu` seconds
  of user + system time of that process alone, with one torch thread), `.run` (the run folder),
  `.home` (its GANZOO_HOME), `.slowdown` and `.budget(seconds)` (a CPU budget set on the nominal
  machine, scaled to this one), `.timings(budget)` (one line for a report). The run starts in the
  background when the session's first test starts (see `ganzoo.testing.background`); such
  tests run last, and while background runs go on, torch in the test process uses one thread.

Markers (registered here, so a plugin's own `pytest --strict-markers` run knows them):

- `slow`: a test that takes more than about 10 s (a default-budget training, a quality or timing
  measurement); deselect with `-m "not slow"`.
- `background_cli(*args, cpu_seconds=S)`: the `ganzoo` arguments of the test's background run, e.g.
  `@pytest.mark.background_cli("train", "mymodel", cpu_seconds=200)`; `--out RUN` is appended. Use with
  `slow`. `cpu_seconds` (optional) estimates the run's one-thread CPU time: the longest runs start
  first. After a run, its measured CPU time is kept in pytest's cache (`.pytest_cache`) and orders the
  next session's runs instead of the estimate.
- `seeds`: a default run with a seed other than 0, beside the seed-0 run every test session makes
  (`ganzoo.testing.seeds.seed_runs` sets it); ganzoo's pyproject deselects it unless `-m seeds`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from ganzoo.testing.kit import install_entry_point, isolated_registry


@pytest.fixture
def ganzoo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ganzoo-home"
    home.mkdir()
    monkeypatch.setenv("GANZOO_HOME", str(home))
    return home


@pytest.fixture
def toy_registry() -> Iterator[object]:
    from ganzoo.testing import toy_plugin

    with isolated_registry(("ganzoo-toy", toy_plugin)) as registry:
        yield registry


@pytest.fixture
def toy_env(tmp_path: Path) -> dict[str, str]:
    env = install_entry_point(tmp_path / "site", "ganzoo-toy", "ganzoo.testing.toy_plugin", version="0.0.1")
    env["GANZOO_HOME"] = str(tmp_path / "ganzoo-home")
    return env


_RUNS = pytest.StashKey["object"]()
_CACHE_KEY = "ganzoo/background-cpu-seconds"
"""pytest cache entry: measured one-thread CPU seconds of each background run, by its arguments."""
_THREADS = pytest.StashKey[int]()


MARKERS = {
    "slow": "slow: takes more than about 10 s (a default-budget training, a quality or timing measurement); "
            "deselect with -m 'not slow'",
    "background_cli": "background_cli(*args, cpu_seconds=S): a long `ganzoo ARGS --out RUN` run started ahead in "
                      "the background when the session's first test starts (longest first; S estimates its one-thread "
                      "CPU seconds); the test gets it from the `background_cli` fixture",
    "seeds": "seeds: a default demo's live run with a seed other than 0 (`ganzoo.testing.seeds`); mark it `slow` "
             "too; ganzoo's own configuration deselects it unless -m seeds",
}


def pytest_configure(config: pytest.Config) -> None:
    known = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    for name, line in MARKERS.items():
        if name not in known:  # a project may describe a marker in its own words
            config.addinivalue_line("markers", line)


def _skipped(item: pytest.Item) -> bool:
    """True when a `skip` or a `skipif` with a true (boolean) condition marks the item: no background run for it."""
    if item.get_closest_marker("skip"):
        return True
    return any(bool(mark.args[0]) for mark in item.iter_markers("skipif") if mark.args and isinstance(mark.args[0], bool))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    from ganzoo.testing.background import BackgroundRuns

    marked = [item for item in items if item.get_closest_marker("background_cli") and not _skipped(item)]
    if not marked:
        return
    runs = BackgroundRuns(Path(tempfile.mkdtemp(prefix="ganzoo-background-")))
    measured = _measured_before(config)
    for item in marked:
        mark = item.get_closest_marker("background_cli")
        args = tuple(mark.args)
        estimate = measured.get(_cache_name(args), mark.kwargs.get("cpu_seconds", 0.0))
        runs.add(item.nodeid, args, cpu_seconds=float(estimate))
    config.stash[_RUNS] = runs
    # The tests that wait for background runs go last, so other slow tests overlap with the runs.
    items.sort(key=lambda item: 1 if item.get_closest_marker("background_cli") else 0)


def pytest_runtest_setup(item: pytest.Item) -> None:
    runs = item.config.stash.get(_RUNS, None)
    if runs is None:
        return
    if not runs.started:
        # From the session's first test on, the background runs take one core (one thread each) and the
        # tests in this process the other (most of them are one process running one thread anyway; a
        # second thread here would fight the background run for a core).
        import torch

        from ganzoo.testing.quality import machine_slowdown

        runs.slowdown = machine_slowdown()  # while nothing else of the session runs
        item.config.stash[_THREADS] = torch.get_num_threads()
        torch.set_num_threads(1)
        runs.start()
    elif _THREADS in item.config.stash and runs.finished:
        import torch

        torch.set_num_threads(item.config.stash[_THREADS])  # the background core is free again
        del item.config.stash[_THREADS]


def _cache_name(args: tuple[str, ...]) -> str:
    return " ".join(str(a) for a in args)


def _measured_before(config: pytest.Config) -> dict[str, float]:
    """CPU seconds of the background runs measured in earlier sessions (empty without pytest's cache)."""
    cache = getattr(config, "cache", None)
    value = cache.get(_CACHE_KEY, {}) if cache is not None else {}
    return {str(k): float(v) for k, v in value.items() if isinstance(v, (int, float))} if isinstance(value, dict) else {}


def pytest_unconfigure(config: pytest.Config) -> None:
    runs = config.stash.get(_RUNS, None)
    if runs is not None:
        cache = getattr(config, "cache", None)
        measured = runs.measured()
        if cache is not None and measured:
            known = _measured_before(config)
            known.update({_cache_name(runs.jobs[key].args): round(cpu, 1) for key, cpu in measured.items()})
            cache.set(_CACHE_KEY, known)
        runs.stop()
        shutil.rmtree(runs.root, ignore_errors=True)


@pytest.fixture
def background_cli(request: pytest.FixtureRequest):
    """The finished background run of this test's `background_cli` marker."""
    runs = request.config.stash.get(_RUNS, None)
    if runs is None or request.node.nodeid not in runs.jobs:
        raise pytest.UsageError(f"{request.node.nodeid} uses background_cli without @pytest.mark.background_cli(...)")
    return runs.result(request.node.nodeid)
