"""Long `ganzoo` runs of slow tests, started ahead in the background so they overlap other slow tests.

A test marked `@pytest.mark.background_cli("train", "dcgan")` asks for the `background_cli` fixture
and gets the finished run: its `TimedRun` (wall and one-thread CPU time of that process alone) and
its run folder. When the session's first test starts, every such run collected in the session is
started, one at a time, in a helper thread (one torch thread each), the longest first (by the CPU
seconds the run took last time, else the marker's `cpu_seconds` estimate), so that no long run starts
last while the other core has nothing left to do; meanwhile the tests in the
pytest process use the other core (the `background_cli` fixture's plugin sets torch to one thread).
A test whose run has not started yet when it needs it runs it at once; a test waiting for a run still
going meanwhile runs the queued ones itself, so both cores work to the end. The CPU time of each run is
measured for its own process, so it is the same figure whether runs overlap or not.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from ganzoo.testing.quality import TimedRun, timed_cli


@dataclass
class BackgroundRun:
    """A finished background run: the process's timings and output, and its run folder."""

    done: TimedRun
    """The process: `returncode`, `stdout`, `stderr`, `wall` and `cpu` seconds (`ganzoo.testing.quality.TimedRun`)."""
    run: Path
    """The run folder (`--out`)."""
    home: Path
    """The run's own GANZOO_HOME."""
    slowdown: float = 1.0
    """`ganzoo.testing.quality.machine_slowdown()` measured when the runs started (1.0: not measured)."""

    def budget(self, seconds: float) -> float:
        """A CPU-time budget set on the nominal machine, for the machine as fast as it was measured."""
        return seconds * self.slowdown

    def timings(self, budget_seconds: float) -> str:
        """The run's wall and one-thread CPU time beside its budget, for a test's report."""
        return (f"wall {self.done.wall:.0f} s, one-thread CPU {self.done.cpu:.0f} s (budget "
                f"{self.budget(budget_seconds):.0f} s, machine slowdown {self.slowdown:.2f})")


class _Job:
    def __init__(self, key: str, args: tuple[str, ...], folder: Path, cpu_seconds: float) -> None:
        self.key, self.args, self.folder = key, args, folder
        self.cpu_seconds = cpu_seconds  # the expected one-thread CPU time, for the order of the runs
        self.started = False
        self.finished = threading.Event()
        self.result: BackgroundRun | None = None
        self.error: BaseException | None = None
        self.process: subprocess.Popen | None = None
        self.runner = ""  # the name of the thread that ran it

    def _started(self, process: subprocess.Popen) -> None:
        self.process = process

    def run(self, order: list[str]) -> None:
        self.runner = threading.current_thread().name
        order.append(self.key)
        run, home = self.folder / "run", self.folder / "home"
        try:
            # Its own working folder: the pytest process's may be a test's temporary one, deleted while
            # the run starts (torch's MKL then aborts the run as it loads).
            self.folder.mkdir(parents=True, exist_ok=True)
            done = timed_cli(*self.args, "--out", str(run), env={"GANZOO_HOME": str(home)},
                             on_start=self._started, cwd=self.folder)
            self.result = BackgroundRun(done, run, home)
        except BaseException as exc:  # handed to the test that asks for it
            self.error = exc
        finally:
            self.finished.set()


class BackgroundRuns:
    """The session's background runs, one after another by a helper thread, longest expected first (and
    by a caller of `result` that would otherwise wait)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.slowdown = 1.0
        self.order: list[str] = []
        """Keys of the runs in the order they started."""

    def add(self, key: str, args: tuple[str, ...], cpu_seconds: float = 0.0) -> None:
        """Queue `ganzoo ARGS` under `key` (the first registration of a key wins); `cpu_seconds`: about how
        long it takes, so the longest runs start first (equal estimates keep the order of adding)."""
        if key not in self.jobs:
            # The end of the test's id says which test; the hash keeps two tests of the same name apart.
            digest = hashlib.sha1(key.encode()).hexdigest()[:10]
            folder = self.root / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', key)[-60:]}-{digest}"
            self.jobs[key] = _Job(key, tuple(args), folder, float(cpu_seconds))

    def queue(self) -> list[str]:
        """Keys in the order the helper thread takes them: longest expected first."""
        jobs = list(self.jobs.values())
        return [job.key for job in sorted(jobs, key=lambda job: -job.cpu_seconds)]

    def _claim(self, job: _Job) -> bool:
        with self._lock:
            if job.started:
                return False
            job.started = True
            return True

    @property
    def started(self) -> bool:
        """Whether `start` has been called."""
        return self._thread is not None

    @property
    def finished(self) -> bool:
        """Whether every run has ended (or been stopped)."""
        return all(job.finished.is_set() for job in self.jobs.values())

    def start(self) -> None:
        """Start working through the queued runs in a daemon thread (once)."""
        if self._thread is None and self.jobs:
            self._thread = threading.Thread(target=self._work, name="ganzoo-background-runs", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        for key in self.queue():
            job = self.jobs[key]
            if self._claim(job):
                job.run(self.order)

    def stop(self) -> None:
        """Stop runs still going (the session ends early) and run no more."""
        with self._lock:
            for job in self.jobs.values():
                if not job.started:
                    job.started = True
                    job.error = RuntimeError(f"background run {job.key} was stopped before it started")
                    job.finished.set()
        for job in self.jobs.values():
            if job.process is not None and not job.finished.is_set():
                job.process.kill()

    def _claim_next(self, wanted: _Job) -> _Job | None:
        """`wanted` if it has not started, else the next run nobody has started yet, claimed."""
        for job in (wanted, *(self.jobs[key] for key in self.queue())):
            if self._claim(job):
                return job
        return None

    def result(self, key: str) -> BackgroundRun:
        """The finished run for `key`: runs it now if it has not started; while it is still going,
        runs queued ones in this thread too (so the caller's core is not idle), then waits for it."""
        job = self.jobs[key]
        while not job.finished.is_set():
            other = self._claim_next(job)
            if other is None:
                break
            other.run(self.order)
        job.finished.wait()
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return replace(job.result, slowdown=self.slowdown)

    def measured(self) -> dict[str, float]:
        """One-thread CPU seconds of every run that finished with success, by key."""
        return {job.key: job.result.done.cpu for job in self.jobs.values()
                if job.finished.is_set() and job.result is not None and job.result.done.returncode == 0}
