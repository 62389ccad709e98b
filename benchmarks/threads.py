"""Threads and wait policy: dcgan steps/s with ganzoo's default against 1 thread and all cores, idle and busy.

    python benchmarks/run.py --section threads [--write-docs]

Each setting runs in its own process (OpenMP reads its wait policy once, when torch loads), through
the real engine (`EngineSession`, the default `ganzoo train dcgan` model and data, fp32 so that only
threads differ), `warmup` steps then `steps` timed steps; the setting's figure is the median step.
Settings, alternated in rounds with the order rotated so that drifts of the machine hit all alike:

- `ganzoo default`: what `ganzoo train` does (`ganzoo.threads`: passive waiting, all usable CPUs);
- `1 thread`: `OMP_NUM_THREADS=1`, as a user on a busy machine would set;
- `all cores, torch defaults`: torch's own thread count and OpenMP's default (spinning) wait.

Conditions: `idle` (nothing added; the machine's own load is recorded) and `2 busy`: two CPU-bound
processes (a Python busy loop each) run beside the measurement. Target (issue 17): the default
within 10% of the best of the three settings in both conditions.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ("ganzoo default", "1 thread", "all cores, torch defaults")
CONDITIONS = ("idle", "2 busy")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "GANZOO_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME",
                    "MKL_NUM_THREADS")
WORKER = """
import json, os, sys
setting, steps, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if setting == "ganzoo default":
    from ganzoo.threads import prepare_environment
    prepare_environment()
import torch
wait = os.environ.get("OMP_WAIT_POLICY", "(unset)")  # as torch's OpenMP read it
from ganzoo.bench.session import EngineSession

train = {"precision": "fp32", "batch_size": 64}
if setting != "ganzoo default":
    train["threads"] = torch.get_num_threads()  # torch's own choice (1 under OMP_NUM_THREADS=1)
session = EngineSession("dcgan", train_overrides=train)
session.run(warmup)
records = session.run(steps)
session.close()
times = sorted(r.seconds for r in records)
print(json.dumps({"median": times[len(times) // 2], "threads": torch.get_num_threads(),
                  "wait": wait,
                  "cpu_per_step": sorted(r.cpu_seconds for r in records)[len(records) // 2],
                  "images_per_step": records[0].images}))
"""


def _env(setting: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if setting == "1 thread":
        env["OMP_NUM_THREADS"] = "1"
    return env


def _measure(setting: str, steps: int, warmup: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", WORKER, setting, str(steps), str(warmup)], capture_output=True,
                         text=True, env=_env(setting), timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"threads worker ({setting}) failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


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


def measure(*, rounds: int = 3, steps: int = 10, warmup: int = 2, progress: Any = print) -> dict[str, Any]:
    """Median steps/s per setting and condition (see the module docstring); raw timings included."""
    results: dict[str, Any] = {"rounds": rounds, "steps": steps, "warmup": warmup, "conditions": {}}
    for condition in CONDITIONS:
        other = other_cpu_use()  # before this condition's own busy processes start
        busy = _busy(2) if condition == "2 busy" else []
        try:
            time.sleep(1.0 if busy else 0.0)
            load_before = os.getloadavg()[0]
            runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SETTINGS}
            for r in range(rounds):
                order = SETTINGS[r % len(SETTINGS):] + SETTINGS[:r % len(SETTINGS)]
                for setting in order:
                    got = _measure(setting, steps, warmup)
                    runs[setting].append(got)
                    progress(f"threads, {condition}, round {r + 1}: {setting}: {got['median'] * 1e3:.1f} ms/step "
                             f"({got['threads']} threads, load {os.getloadavg()[0]:.2f})")
            load_after = os.getloadavg()[0]
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
        table = {}
        for setting, items in runs.items():
            median = statistics.median(i["median"] for i in items)
            table[setting] = {"steps_per_s": 1.0 / median, "step_seconds": median, "threads": items[0]["threads"],
                              "wait": items[0]["wait"], "rounds": [i["median"] for i in items],
                              "cpu_per_step": statistics.median(i["cpu_per_step"] for i in items)}
        best = max(v["steps_per_s"] for v in table.values())
        for v in table.values():
            v["of_best"] = v["steps_per_s"] / best
        results["conditions"][condition] = {"settings": table, "load_before": load_before, "load_after": load_after,
                                            "other_cpu_before": other,
                                            "default_of_best": table["ganzoo default"]["of_best"]}
    return results


def markdown(results: dict[str, Any], machine: dict[str, Any], date: str) -> str:
    """The threads table for docs/benchmarks.md."""
    from benchmarks.report import machine_phrase

    loads = [c["load_before"] for c in results["conditions"].values()]
    others = [c.get("other_cpu_before") for c in results["conditions"].values()]
    if all(o is not None for o in others):
        busy = max(others) > 0.10  # more than a tenth of the CPUs used by other work just before a condition
    else:
        busy = max(loads) > 0.5
    lines = [f"Measured {date} with `python benchmarks/run.py --section threads` on {machine_phrase(machine)}: "
             f"the default `ganzoo train dcgan` model and data, batch 64, fp32, "
             f"median of {results['rounds']} alternating rounds, {results['steps']} timed steps each."]
    if results.get("quick"):
        lines += ["", "**Quick profile** (`--quick`: one round of 2 steps per setting, a smoke check of the section, "
                      "not the figures the targets are about)."]
    if busy:
        lines.append("")
        lines.append(f"**Provisional**: the machine was shared with other work while this ran (1-minute load "
                     f"average {min(loads):.2f} to {max(loads):.2f} before the conditions below, on "
                     f"{machine['cores']} cores), so `idle` was not idle; rerun on a quiet machine.")
    elif all(o is not None for o in others):
        lines.append("")
        lines.append(f"Other work used {max(others):.0%} of the CPUs or less in the 2 s before each condition "
                     "(from /proc/stat; the load averages below lag and include this benchmark's own processes).")
    lines += ["", "| condition | load before / after | setting | threads | OpenMP wait | steps/s | of best | "
              "CPU s per step |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for condition, c in results["conditions"].items():
        for setting, v in c["settings"].items():
            lines.append(f"| {condition} | {c['load_before']:.2f} / {c['load_after']:.2f} | {setting} | "
                         f"{v['threads']} | {v['wait']} | {v['steps_per_s']:.2f} | {v['of_best']:.0%} | "
                         f"{v['cpu_per_step']:.2f} |")
    lines.append("")
    verdicts = [f"{k}: {c['default_of_best']:.0%} of the best ({'met' if c['default_of_best'] >= 0.9 else 'NOT met'})"
                for k, c in results["conditions"].items()]
    lines.append("Target: the default within 10% of the best setting in both conditions. " + "; ".join(verdicts) + ".")
    return "\n".join(lines) + "\n"
