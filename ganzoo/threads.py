"""How many CPU threads torch uses, and how its idle threads wait (torch-free until `apply_threads`).

On a machine shared with other work, OpenMP threads that spin-wait for each other burn the CPU time
the operating system would give to the thread they wait for: on a busy 2-core host a DCGAN step with
torch's defaults (2 spinning threads) took twice as long as with 2 threads that sleep while they wait
and 5x as long in one user's report (docs/benchmarks.md, "Threads and wait policy"). So:

- `prepare_environment()` sets `OMP_WAIT_POLICY=PASSIVE` (GNU and LLVM OpenMP: idle threads sleep
  at once) and `KMP_BLOCKTIME=0` (Intel OpenMP: the same) unless the user set any wait setting
  (`OMP_WAIT_POLICY`, `GOMP_SPINCOUNT`, `KMP_BLOCKTIME`). OpenMP reads these when it starts, so
  this must run before torch is first imported: the `ganzoo` command does it first thing; library
  users call it before `import torch` (it reports whether it came in time).
- `resolve_threads(requested)`: the thread count, first found of `--threads N` (the `threads`
  training option), `GANZOO_THREADS`, `OMP_NUM_THREADS`, else the CPUs this process may use
  (its affinity mask, capped by a cgroup CPU quota).
- `apply_threads(requested)` sets torch's intra-op threads to that and returns a `ThreadSettings`,
  which the run prints once and records in config.yaml's `host:` section. In a process that loaded
  torch before ganzoo could prepare it (a library user, a test session), a count chosen by neither
  option nor environment keeps whatever the process set with `torch.set_num_threads`.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError

THREADS_ENV = "GANZOO_THREADS"
HOST_SOURCE = "the CPUs this process may use"
KEPT_SOURCE = "kept as this run recorded it"
#: How a count measured by ganzoo.engine.thread_probe is described.
AUTO_PREFIX = "auto:"
#: Environment settings that choose how idle OpenMP threads wait; any one set by the user wins.
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
#: What `prepare_environment` sets when the user set none of `WAIT_VARIABLES`.
PASSIVE_WAIT = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}

_prepared: dict[str, Any] | None = None


def prepare_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Set the passive wait policy unless the user chose one; call before torch is imported.

    Returns {"wait": "OMP_WAIT_POLICY=PASSIVE ...", "source": "ganzoo" | "user", "in_time": bool}.
    """
    global _prepared
    env = os.environ if environ is None else environ
    if environ is None and _prepared is not None:
        return _prepared
    user = {k: env[k] for k in WAIT_VARIABLES if env.get(k, "").strip()}
    if user:
        result = {"wait": _describe(user), "source": "user"}
    else:
        env.update(PASSIVE_WAIT)
        result = {"wait": _describe(PASSIVE_WAIT), "source": "ganzoo"}
    result["in_time"] = "torch" not in sys.modules
    if environ is None:
        _prepared = result
    return result


def _describe(values: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def _cgroup_cpus() -> float | None:
    """The CPU quota of this process's cgroup (v2 `cpu.max`, v1 `cfs_quota_us`), in CPUs; None if unlimited."""
    candidates = [(Path("/sys/fs/cgroup/cpu.max"), None),
                  (Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us"))]
    for quota_path, period_path in candidates:
        try:
            if period_path is None:
                quota, period = quota_path.read_text().split()[:2]
            else:
                quota, period = quota_path.read_text().strip(), period_path.read_text().strip()
        except (OSError, ValueError):
            continue
        if quota in ("max", "-1"):
            return None
        try:
            return int(quota) / int(period)
        except (ValueError, ZeroDivisionError):
            return None
    return None


def host_threads() -> int:
    """The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (rounded up)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_cpus()
    if quota is not None and quota > 0:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


@dataclass(frozen=True)
class ThreadSettings:
    """The thread count torch uses, where it came from, and the OpenMP wait setting."""

    threads: int
    source: str
    wait: str
    wait_source: str
    wait_in_time: bool

    def describe(self) -> str:
        """One line for the start of a run, e.g. `threads 2 (the CPUs this process may use), OMP_WAIT_POLICY=PASSIVE`."""
        wait = self.wait if self.wait_in_time else f"{self.wait} (set after torch was imported: not in effect)"
        return f"threads {self.threads} ({self.source}), {wait}"

    @property
    def belongs_to_run(self) -> bool:
        """Whether the count is the run's own (the host's, measured or kept), to record and keep on resume."""
        return self.source in (HOST_SOURCE, KEPT_SOURCE) or self.source.startswith(AUTO_PREFIX)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _parse(raw: str, where: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"{where}={raw!r} is not a number of threads (1 or more); unset it or give e.g. 2")
    return value


def resolve_threads(requested: int | None) -> tuple[int, str]:
    """The thread count and its source: `--threads`, `GANZOO_THREADS`, `OMP_NUM_THREADS`, else the host."""
    if requested is not None:
        if requested < 1:
            raise ConfigError(f"--threads {requested} is not a number of threads (1 or more)")
        return requested, "--threads"
    for name in (THREADS_ENV, "OMP_NUM_THREADS"):
        raw = os.environ.get(name, "")
        if raw.strip():
            return _parse(raw, name), name
    return host_threads(), HOST_SOURCE


def apply_threads(requested: int | None = None) -> ThreadSettings:
    """Set torch's intra-op thread count (see `resolve_threads`) and report it with the wait policy."""
    import torch

    wait = prepare_environment()
    threads, source = resolve_threads(requested)
    if source == HOST_SOURCE and not wait["in_time"]:
        # Library use: torch was loaded (and perhaps set) by the caller before ganzoo; keep its setting.
        threads, source = torch.get_num_threads(), "as this process set torch"
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return ThreadSettings(threads, source, wait["wait"], wait["source"], bool(wait["in_time"]))


def settle_threads(settings: ThreadSettings, recorded: int | None, *, probe_allowed: bool,
                   probe: Callable[[list[int]], Any]) -> ThreadSettings:
    """The thread count a run trains with, once its model is built, and torch set to it.

    A count someone chose (`--threads`, the environment, or a library caller's own torch setting)
    stays. Otherwise a resumed run keeps the count it recorded, and a fresh one with more than one
    usable CPU, where `probe_allowed`, measures its own steps: `probe(candidates)` returns an object
    with `threads` and `reason` (see ganzoo.engine.thread_probe).
    """
    import torch

    if settings.source != HOST_SOURCE:
        return settings
    if recorded is not None:
        threads, source = recorded, KEPT_SOURCE
    elif probe_allowed and settings.threads > 1:
        from ganzoo.engine.thread_probe import candidate_counts

        choice = probe(candidate_counts(settings.threads))
        threads, source = choice.threads, choice.reason
    else:
        return settings
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return replace(settings, threads=threads, source=source)
