"""Threads: what a user waits for with `ganzoo train FAMILY`, by thread setting, on an idle and a busy machine.

    python benchmarks/run.py --section threads [--write-docs] [--families dcgan,cyclegan]

Each measurement is one whole `ganzoo train FAMILY --steps K` command (its default model and data,
precision `auto`, a fresh run folder), timed from start to exit: start-up, the thread probe where
there is one, the training and the final checkpoint, which is what a user waits for. Settings,
alternated in rounds with the order rotated so that drifts of the machine hit all alike:

- `ganzoo default`: no thread setting at all: a fresh run times its own steps at 1 and at all usable
  CPUs and keeps the faster (ganzoo.engine.thread_probe), with OpenMP's passive waiting;
- `--threads 1` and `--threads N` (N: the CPUs this process may use), passive waiting;
- `torch defaults`: `--threads N` with OpenMP's own spin-then-sleep waiting
  (`GOMP_SPINCOUNT=300000`, libgomp's default when nothing is set; ganzoo leaves a user's setting alone).

Conditions: `idle` (nothing added; other work on the machine is measured from /proc/stat just
before) and `1 busy`: one CPU-bound process (a Python busy loop) beside the command, as a user's
other job would be. Target: the default within 10% of the best setting in both conditions.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONDITIONS = ("idle", "1 busy")
FAMILIES = {"dcgan": 300, "cyclegan": 150}  # family: steps per command (about 10 to 20 s idle here)
QUICK_FAMILIES = {"dcgan": 30}
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GANZOO_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
                    "MKL_NUM_THREADS")


def settings(cpus: int) -> dict[str, tuple[list[str], dict[str, str]]]:
    """Setting name: (extra `ganzoo train` arguments, extra environment)."""
    return {"ganzoo default": ([], {}), "--threads 1": (["--threads", "1"], {}),
            f"--threads {cpus}": (["--threads", str(cpus)], {}),
            "torch defaults": (["--threads", str(cpus)], {"GOMP_SPINCOUNT": "300000"})}


def _run(family: str, steps: int, args: list[str], extra_env: dict[str, str], work: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env.update(extra_env)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    out = Path(tempfile.mkdtemp(prefix=f"{family}-", dir=work))
    command = [sys.executable, "-m", "ganzoo", "train", family, "--steps", str(steps), "--out", str(out),
               "--sample-every", str(steps), "--checkpoint-every", str(steps), *args]
    start, cpu = time.perf_counter(), os.times()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=7200)
    wall, after = time.perf_counter() - start, os.times()
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    host = yaml.safe_load((out / "config.yaml").read_text())["host"]
    return {"wall": wall, "cpu": (after.children_user + after.children_system) - (cpu.children_user + cpu.children_system),
            "threads": host["threads"], "source": host["threads_source"], "wait": host["omp_wait"]}


def _busy(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def other_cpu_use(seconds: float = 2.0) -> float | None:
    """Busy share of all CPUs over `seconds` (from /proc/stat) while this process only sleeps: other work.

    The load average lags by minutes and counts the benchmark's own processes, so it cannot tell whether
    the machine was quiet; this can. None where /proc/stat does not exist.
    """
    def sample() -> tuple[int, int] | None:
        try:
            fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        except (OSError, ValueError, IndexError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    first = sample()
    time.sleep(seconds)
    second = sample()
    if first is None or second is None or second[0] == first[0]:
        return None
    return 1.0 - (second[1] - first[1]) / (second[0] - first[0])


def measure(*, families: dict[str, int] | None = None, rounds: int = 2, work: Path | None = None,
            progress: Any = print) -> dict[str, Any]:
    """Median wall time per family, condition and setting (see the module docstring); raw timings included."""
    from ganzoo.threads import host_threads

    families = families or FAMILIES
    cpus = host_threads()
    table = settings(cpus)
    work = work or Path(tempfile.mkdtemp(prefix="ganzoo-threads-"))
    results: dict[str, Any] = {"rounds": rounds, "cpus": cpus, "families": dict(families), "conditions": {}}
    for condition in CONDITIONS:
        other = other_cpu_use()  # before this condition's own busy process starts
        busy = _busy(1) if condition == "1 busy" else []
        try:
            time.sleep(1.0 if busy else 0.0)
            per_family: dict[str, Any] = {}
            for family, steps in families.items():
                runs: dict[str, list[dict[str, Any]]] = {name: [] for name in table}
                names = list(table)
                for r in range(rounds):
                    for name in names[r % len(names):] + names[:r % len(names)]:
                        got = _run(family, steps, *table[name], work)
                        runs[name].append(got)
                        progress(f"threads, {condition}, {family}, round {r + 1}: {name}: {got['wall']:.1f} s "
                                 f"({got['threads']} threads: {got['source']})")
                rows = {}
                for name, items in runs.items():
                    rows[name] = {"wall": statistics.median(i["wall"] for i in items),
                                  "cpu": statistics.median(i["cpu"] for i in items),
                                  "walls": [i["wall"] for i in items], "threads": [i["threads"] for i in items],
                                  "sources": [i["source"] for i in items], "wait": items[0]["wait"]}
                best = min(v["wall"] for v in rows.values())
                for v in rows.values():
                    v["of_best"] = best / v["wall"]
                per_family[family] = {"steps": steps, "settings": rows, "default_of_best": rows["ganzoo default"]["of_best"]}
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
        results["conditions"][condition] = {"families": per_family, "other_cpu_before": other}
    return results


def markdown(results: dict[str, Any], machine: dict[str, Any], date: str) -> str:
    """The threads table for docs/benchmarks.md."""
    from benchmarks.report import machine_phrase

    others = [c.get("other_cpu_before") for c in results["conditions"].values()]
    lines = [f"Measured {date} with `python benchmarks/run.py --section threads` on {machine_phrase(machine)}: "
             f"whole `ganzoo train FAMILY --steps K` commands (default model, data and precision), wall time from "
             f"start to exit, median of {results['rounds']} alternating rounds."]
    if results.get("quick"):
        lines += ["", "**Quick profile** (`--quick`: one round of a short dcgan run per setting, a smoke check of the "
                      "section, not the figures the target is about)."]
    if all(o is not None for o in others):
        worst = max(others)
        lines += ["", (f"**Provisional**: other work used {worst:.0%} of the CPUs just before a condition, so `idle` "
                       "was not idle; rerun on a quiet machine.") if worst > 0.10 else
                  f"Other work used {worst:.0%} of the CPUs or less in the 2 s before each condition (from /proc/stat)."]
    lines += ["", "| condition | family, steps | setting | threads used | wall s | of best | CPU s |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    verdicts = []
    for condition, c in results["conditions"].items():
        for family, f in c["families"].items():
            for name, v in f["settings"].items():
                used = "/".join(str(t) for t in sorted(set(v["threads"])))
                lines.append(f"| {condition} | {family}, {f['steps']} | {name} | {used} | {v['wall']:.1f} | "
                             f"{v['of_best']:.0%} | {v['cpu']:.1f} |")
            ok = f["default_of_best"] >= 0.9
            verdicts.append(f"{condition} {family}: {f['default_of_best']:.0%} ({'met' if ok else 'NOT met'})")
    lines += ["", "Target: the default within 10% of the best setting in every condition. " + "; ".join(verdicts) + "."]
    probes = sorted({s for c in results["conditions"].values() for f in c["families"].values()
                     for s in f["settings"]["ganzoo default"]["sources"]})
    lines += ["", "What the default's probe measured (config.yaml `host.threads_source`): "
              + "; ".join(f"`{p}`" for p in probes) + "."]
    return "\n".join(lines) + "\n"
