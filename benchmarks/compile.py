"""`torch.compile` per family: eager against compiled CPU seconds per step, compile time and break-even.

    python benchmarks/run.py --section compile [--write-docs] [--families dcgan,cgan] [--jobs 2] [--out DIR] [--quick]

With `--out DIR`, families whose result is already in DIR (`NAME.json`, from an earlier run that was
stopped or failed part-way) are not measured again.

Every family is measured in its own process (`python benchmarks/compile.py --worker NAME`) at its
default demo settings (`ganzoo train NAME` with no options: its default data, size, batch and widths),
one thread (`OMP_NUM_THREADS=1 GANZOO_THREADS=1`), data loaded in the process (`num_workers` 0, so the
process's CPU time is the whole step), inductor compiling in the process (`TORCHINDUCTOR_COMPILE_THREADS=1`;
the C++ compiler's child processes are counted through the process's children times) into a fresh
inductor cache (a cold compile, as a user's first run has it).

In that process an eager and a compiled copy of the model are set up through the real engine
(`EngineSession`). The compiled copy's first steps are timed one by one (CPU seconds of the process and
its finished children, `os.times`); then both copies are stepped in alternating rounds (the order
swapped every round) and each figure is the median CPU seconds per step. Compile time = the compiled
copy's first steps minus as many of its median steps, plus the excess of its first sample grid (the
generator in eval mode, and its EMA copy, compile once more) over its second. Families whose
networks change shape during the run (progan's growing stages) are measured at the start of every
phase of their schedule, and their figures are weighted by the steps each phase takes.

Break-even: compile time / (eager - compiled CPU s per step), the step count from which the compiled
run has used less CPU. Compile wins for a family when its default run, compile included, takes at
least `WIN_MARGIN` (10%) less CPU than eager: break-even well below the default run length.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

#: Every family that trains through the engine, in the order of the table.
FAMILIES = ("dcgan", "cgan", "wgan", "wgan_gp", "progan", "cyclegan", "pix2pix", "fast_style", "neural_style",
            "stylegan2")

#: Compiling wins for a family when it saves at least this share of the default run's CPU time, compile
#: included: recompiles the section does not count (training-health diagnostics, evaluation, every
#: resume compiles again) and the spread of CPU times on a shared machine (cgan's break-even came out at
#: 1,158 and 1,768 steps in two runs an hour apart) make a smaller saving no saving.
WIN_MARGIN = 0.10

#: The style families' VGG features are randomly initialised when their pretrained weights are not on
#: the machine (the same network and arithmetic, so the same times; recorded as `overrides`).
FEATURES: dict[str, dict[str, Any]] = {"fast_style": {"random_features": True}, "neural_style": {"random_features": True}}

#: Overrides of the quick profile (a smoke check of the section: tiny sizes, one round).
QUICK: dict[str, dict[str, Any]] = {
    "dcgan": {"image_size": 16, "g_width": 8, "d_width": 8},
}


def _cpu() -> float:
    """CPU seconds of this process (to the nanosecond clock: os.times counts 10 ms ticks, longer than one
    quick step) and of its children that have finished (the C++ compiler)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def _timed(session: Any, steps: int) -> float:
    """CPU seconds per step of `steps` more training steps."""
    start = _cpu()
    session.run(steps)
    return (_cpu() - start) / steps


def _preview(session: Any) -> float:
    """CPU seconds of one sample grid as the Trainer draws it (inference nets, eval mode, no grad)."""
    import torch

    trainer = session.trainer
    if trainer.preview_inputs is None:
        return 0.0
    nets = trainer.inference_nets()
    modes = {name: net.training for name, net in nets.items()}
    start = _cpu()
    for net in nets.values():
        net.eval()
    try:
        with torch.no_grad():
            session.model.preview(trainer.preview_inputs, nets)
    finally:
        for name, net in nets.items():
            net.train(modes[name])
    return _cpu() - start


def _positions(session: Any) -> list[dict[str, Any]]:
    """Where in the run to measure: the start, or the start of every phase of a growth schedule."""
    schedule = getattr(session.model, "schedule", None)
    phases = getattr(schedule, "phases", None)
    if not phases:
        return [{"label": "all", "images_seen": None, "weight_steps": None}]
    out = []
    for phase in phases:
        batch = schedule.batch_size(phase.stage)
        out.append({"label": f"stage {phase.stage}{' fade-in' if phase.fading else ''}",
                    "images_seen": phase.start, "weight_steps": math.ceil(phase.images / batch)})
    return out


def _default_length(name: str, session: Any) -> int:
    """Training steps of `ganzoo train NAME` with no options."""
    from ganzoo.bench.session import resolve_run

    run, _ = resolve_run(name)
    t = run.train
    if t.steps is not None:
        return int(t.steps)
    spe = session.trainer.stream.steps_per_epoch
    if t.epochs is not None:
        return max(1, math.ceil(t.epochs * spe / max(1, session.trainer.balance.d_steps)))
    return int(session.model.total_steps_hint(spe))


def worker(name: str, *, rounds: int, warm: int, quick: bool) -> dict[str, Any]:
    """Measure one family in this process (see the module docstring); its results as JSON-ready data."""
    import torch

    from ganzoo.bench.session import EngineSession

    overrides = dict(QUICK.get(name, {})) if quick else {}
    train = {"num_workers": 0}
    try:
        eager = EngineSession(name, overrides=overrides, train_overrides={**train, "compile": False})
    except Exception as exc:
        if name not in FEATURES or type(exc).__name__ != "MissingWeightsError":
            raise
        overrides.update(FEATURES[name])
        eager = EngineSession(name, overrides=overrides, train_overrides={**train, "compile": False})
    compiled = EngineSession(name, overrides=overrides, train_overrides={**train, "compile": True})
    out: dict[str, Any] = {"family": name, "default_steps": _default_length(name, eager), "overrides": overrides,
                           "batch_size": eager.batch_size, "default_compile": bool(eager.model.default_compile),
                           "positions": []}
    try:
        eager_preview = [_preview(eager), _preview(eager)]
        for pos in _positions(eager):
            for s in (eager, compiled):
                if pos["images_seen"] is not None:
                    s.trainer.ctx.images_seen = pos["images_seen"]
            eager.run(1)  # warm-up (allocator, data pipeline)
            first = []
            for _ in range(warm):
                first.append(_timed(compiled, 1))
            e_times: list[float] = []
            c_times: list[float] = []
            steps = 1 if quick else 3
            for r in range(rounds):
                pair = [(eager, e_times), (compiled, c_times)]
                for session, times in (pair if r % 2 == 0 else pair[::-1]):
                    times.append(_timed(session, steps))
            e_med, c_med = statistics.median(e_times), statistics.median(c_times)
            record = {**pos, "eager_times": e_times, "compiled_times": c_times, "first_steps": first,
                      "eager_step": e_med, "compiled_step": c_med,
                      "compile_seconds": max(0.0, sum(first) - warm * c_med)}
            out["positions"].append(record)
            print(f"compile {name} {pos['label']}: eager {e_med:.3f} s/step, compiled {c_med:.3f} s/step, "
                  f"first steps {', '.join(f'{f:.1f}' for f in first)} s", file=sys.stderr, flush=True)
        c_preview = [_preview(compiled), _preview(compiled)]
        out["preview_seconds"] = {"eager": eager_preview, "compiled": c_preview}
        out["preview_compile_seconds"] = max(0.0, c_preview[0] - c_preview[1])
    finally:
        eager.close()
        compiled.close()
    from torch._dynamo.utils import counters

    out["graphs"] = int(counters["stats"].get("unique_graphs", 0))
    out["torch"] = torch.__version__
    return summarise(out)


def summarise(out: dict[str, Any]) -> dict[str, Any]:
    """Weighted per-step figures, total compile time, break-even and the decision."""
    positions = out["positions"]
    weights = [p["weight_steps"] or 1 for p in positions]
    total = sum(weights)
    out["eager_step"] = sum(w * p["eager_step"] for w, p in zip(weights, positions)) / total
    out["compiled_step"] = sum(w * p["compiled_step"] for w, p in zip(weights, positions)) / total
    out["compile_seconds"] = sum(p["compile_seconds"] for p in positions) + out.get("preview_compile_seconds", 0.0)
    saved = out["eager_step"] - out["compiled_step"]
    out["speedup"] = out["eager_step"] / out["compiled_step"] if out["compiled_step"] else None
    out["break_even_steps"] = math.ceil(out["compile_seconds"] / saved - 1e-9) if saved > 0 else None
    length = out["default_steps"]
    out["eager_run_seconds"] = out["eager_step"] * length
    out["compiled_run_seconds"] = out["compiled_step"] * length + out["compile_seconds"]
    out["run_saving"] = 1.0 - out["compiled_run_seconds"] / out["eager_run_seconds"] if out["eager_run_seconds"] else 0.0
    out["wins"] = out["run_saving"] >= WIN_MARGIN
    return out


def _run_worker(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Measure `name` in its own process; a result already in `work` (an earlier run's) is reused."""
    result_file = work / f"{name}.json"
    if result_file.exists():
        return _finished(summarise(json.loads(result_file.read_text(encoding="utf-8"))), result_file)
    cache = Path(tempfile.mkdtemp(prefix=f"inductor-{name}-", dir=work))
    env = dict(os.environ, OMP_NUM_THREADS="1", GANZOO_THREADS="1", TORCHINDUCTOR_COMPILE_THREADS="1",
               TORCHINDUCTOR_CACHE_DIR=str(cache))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", name, "--rounds", str(args.rounds),
           "--warm", str(args.warm), "--result", str(result_file)] + (["--quick"] if args.quick else [])
    started = time.perf_counter()
    log_file = work / f"{name}.log"
    with open(log_file, "w", encoding="utf-8") as log:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0 or not result_file.exists():
        lines = [line for line in log_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        return {"family": name, "error": f"worker exited with {proc.returncode}: {lines[-1] if lines else ''}"[:300]}
    data = json.loads(result_file.read_text(encoding="utf-8"))
    data["wall_seconds"] = time.perf_counter() - started
    return _finished(data, result_file)


def _finished(data: dict[str, Any], result_file: Path) -> dict[str, Any]:
    """`data` with the UTC time its worker finished (its result file's modification time)."""
    import datetime

    stamp = datetime.datetime.fromtimestamp(result_file.stat().st_mtime, datetime.timezone.utc)
    data.setdefault("finished", stamp.strftime("%Y-%m-%d %H:%M UTC"))
    return data


def measure(*, families: list[str], rounds: int, warm: int, jobs: int, quick: bool, work: Path,
            progress: Any = print) -> dict[str, Any]:
    """Every family in its own worker process, at most `jobs` at once."""
    results: dict[str, Any] = {"quick": quick, "rounds": rounds, "families": {}}
    args = argparse.Namespace(rounds=rounds, warm=warm, quick=quick)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(_run_worker, name, args, work) for name in families}
        for name, fut in futures.items():
            results["families"][name] = fut.result()
            r = results["families"][name]
            progress(f"compile {name}: " + (r["error"] if "error" in r else
                     f"eager {r['eager_step']:.3f}, compiled {r['compiled_step']:.3f} s/step, compile "
                     f"{r['compile_seconds']:.0f} s, break-even {r['break_even_steps']}"))
    order = [n for n in FAMILIES if n in results["families"]] + [n for n in results["families"] if n not in FAMILIES]
    results["families"] = {n: results["families"][n] for n in order}
    return results


#: Families whose default the lead decides at merge (their default runs are re-measured for coverage).
HELD = ("dcgan", "wgan_gp", "progan", "stylegan2")


def _s(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def markdown(results: dict[str, Any], machine: dict[str, Any], date: str) -> str:
    """The compile table for docs/benchmarks.md."""
    from benchmarks.report import machine_phrase

    load = machine.get("load_average") or (0.0, 0.0, 0.0)
    done = sorted(r["finished"] for r in results["families"].values() if r.get("finished"))
    when = f"between {done[0]} and {done[-1]} (when each family's process finished)" if done else date
    lines = [f"Measured {when} with `python benchmarks/run.py --section compile` on {machine_phrase(machine)}, "
             f"one thread per process; load average {load[0]:.2f} / {load[1]:.2f} / "
             f"{load[2]:.2f} (1/5/15 min) when the table was made ({date})."]
    if results.get("quick"):
        lines += ["", "**Quick profile** (`--quick`: one round, a smoke check of the section, not the figures "
                      "the defaults are decided by)."]
    lines += ["", "| family | batch | default run | eager CPU/step | compiled CPU/step | speed-up | compile time "
                  "(CPU) | break-even | default run eager / compiled (CPU) | saved | compile wins | default |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, r in results["families"].items():
        if "error" in r:
            lines.append(f"| {name} | | | failed: {r['error']} | | | | | | | | |")
            continue
        even = f"{r['break_even_steps']:,} steps" if r["break_even_steps"] is not None else "never"
        default = "compiled" if r.get("default_compile") else "eager"
        wins = "yes" if r["wins"] else "no"
        if name in HELD and r["wins"] and not r.get("default_compile"):
            wins += " (lead decides)"
        lines.append(f"| {name} | {r['batch_size']} | {r['default_steps']:,} steps | {_s(r['eager_step'])} | "
                     f"{_s(r['compiled_step'])} | {r['speedup']:.2f}x | {r['compile_seconds']:.0f} s | {even} | "
                     f"{r['eager_run_seconds'] / 60:.1f} / {r['compiled_run_seconds'] / 60:.1f} min | {r['run_saving']:+.0%} | "
                     f"{wins} | "
                     f"{default} |")
    missing = [n for n in FAMILIES if n not in results["families"]]
    if missing and not results.get("quick"):
        lines += ["", "Not measured in this run: " + ", ".join(missing) + "."]
    changed = {n: r["overrides"] for n, r in results["families"].items() if r.get("overrides")}
    if changed:
        lines += ["", "Measured with " + "; ".join(f"{n}: " + ", ".join(f"`{k}={v}`" for k, v in o.items())
                                                 for n, o in changed.items())
                  + (" (its pretrained VGG weights are not on this machine: the same network and arithmetic "
                     "with random weights, so the same times)" if set(changed) <= set(FEATURES) else "") + "."]
    staged = [(n, r) for n, r in results["families"].items() if "positions" in r and len(r["positions"]) > 1]
    for name, r in staged:
        lines += ["", f"**{name} by phase** (weighted by its steps in the default run above)", "",
                  "| phase | steps | eager CPU/step | compiled CPU/step | compile time |", "| --- | --- | --- | --- | --- |"]
        for p in r["positions"]:
            lines.append(f"| {p['label']} | {p['weight_steps']:,} | {_s(p['eager_step'])} | {_s(p['compiled_step'])} "
                         f"| {p['compile_seconds']:.0f} s |")
    lines += ["", f"Compile wins: the default run, compile included, takes at least {WIN_MARGIN:.0%} less CPU "
                  "compiled (saved); break-even is where the compiled run has caught up. Steps are timed with "
                  "`os.times` (10 ms ticks) over blocks of 3 steps.", ""]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help="measure this family in this process (used by the section)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm", type=int, default=3, help="compiled steps timed one by one at each phase")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--result", type=Path)
    args = parser.parse_args(argv)
    if not args.worker:
        parser.error("run the section through benchmarks/run.py --section compile")
    sys.path.insert(0, str(ROOT))
    from ganzoo.threads import prepare_environment

    prepare_environment()
    result = worker(args.worker, rounds=args.rounds, warm=args.warm, quick=args.quick)
    text = json.dumps(result, indent=1)
    if args.result:
        tmp = args.result.with_name(args.result.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, args.result)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
