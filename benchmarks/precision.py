"""Arithmetic and layout: dcgan and cyclegan steps in fp32, bf16, `auto`, channels-last and compiled.

    python benchmarks/run.py --section precision [--write-docs] [--rounds N] [--quick]

Every variant is a model set up through the real engine (`EngineSession`) in this one process; after
each variant's warm-up (whose first step, for a compiled variant, includes the compile time, recorded
separately) the variants are stepped in alternating rounds, the order rotated every round, and each
variant's figure is its median step. Ratios are against fp32 measured in the same rounds. The matmul
peaks (fp32 and bf16) are measured with `ganzoo.bench.peak.matmul_peak`, and `auto`'s choice comes
from the same probe a training run uses (`ganzoo.engine.auto_precision`).

Targets (issue 20), on a host whose probe picks bf16: dcgan 64 px batch 64 paper widths `auto` >=
3.5x fp32 and >= 40% of the bf16 matmul peak; cyclegan 128 px resnet_9blocks `auto` >= 2.5x fp32.
On a host where `auto` is fp32: `auto` no slower than fp32 (the same arithmetic).
"""

from __future__ import annotations

import statistics
import time
from typing import Any

#: name -> (precision, channels_last, compile, product weight gradients); None: the training default
#: (`auto`'s layout follows its precision, and the weight gradients follow this host's measured choice).
VARIANTS: dict[str, tuple[str, bool | None, bool, bool | None]] = {
    "fp32": ("fp32", False, False, False),
    "fp32 channels-last": ("fp32", True, False, False),
    "bf16": ("bf16", False, False, False),
    "bf16 channels-last": ("bf16", True, False, False),
    "bf16 channels-last, product weight grads": ("bf16", True, False, True),
    "auto": ("auto", None, False, None),
    "fp32 compiled": ("fp32", False, True, False),
    "auto compiled": ("auto", None, True, None),
}

MODELS: dict[str, dict[str, Any]] = {
    "full": {
        "dcgan": {"label": "dcgan 64 px, batch 64, paper widths (64/64), 3 channels",
                  "overrides": {"image_size": 64, "channels": 3, "g_width": 64, "d_width": 64}, "batch_size": 64,
                  "steps": 3, "rounds": 3},
        "cyclegan": {"label": "cyclegan 128 px, resnet_9blocks, batch 1",
                     "overrides": {"image_size": 128, "channels": 3, "generator": "resnet_9blocks", "ngf": 64,
                                   "ndf": 64, "load_size": None, "flip": False},
                     "batch_size": 1, "steps": 2, "rounds": 3},
    },
    "quick": {
        "dcgan": {"label": "dcgan 32 px, batch 8, widths 16", "batch_size": 8, "steps": 1, "rounds": 1,
                  "overrides": {"image_size": 32, "channels": 3, "g_width": 16, "d_width": 16}},
        "cyclegan": {"label": "cyclegan 32 px, resnet_6blocks, batch 1", "batch_size": 1, "steps": 1, "rounds": 1,
                     "overrides": {"image_size": 32, "channels": 3, "generator": "resnet_6blocks", "ngf": 8,
                                   "ndf": 8, "load_size": None, "flip": False}},
    },
}


def _session(name: str, spec: dict[str, Any], variant: tuple[str, bool | None, bool, bool | None]) -> Any:
    from ganzoo.bench.session import EngineSession

    precision, channels_last, compiled, products = variant
    return EngineSession(name, overrides=spec["overrides"], weight_grads=products,
                         train_overrides={"batch_size": spec["batch_size"], "precision": precision,
                                          "channels_last": channels_last, "compile": compiled})


def measure_model(name: str, spec: dict[str, Any], rounds: int, progress: Any) -> dict[str, Any]:
    sessions: dict[str, Any] = {}
    out: dict[str, Any] = {"label": spec["label"], "variants": {}}
    try:
        for key, variant in VARIANTS.items():
            try:
                started = time.perf_counter()
                session = _session(name, spec, variant)
                first = session.run(1)
                warm = session.run(1)
                setup = time.perf_counter() - started
            except Exception as exc:  # e.g. no C++ compiler for torch.compile: say so in the table
                out["variants"][key] = {"error": " ".join(str(exc).split())[:200]}
                progress(f"precision {name} {key}: failed ({out['variants'][key]['error']})")
                continue
            sessions[key] = session
            out["variants"][key] = {"mode": session.trainer.precision.mode,
                                    "channels_last": bool(session.run_config.train.channels_last),
                                    "product_grads": session.weight_grads.startswith("matrix product"),
                                    "first_step": first[0].seconds,
                                    "setup_seconds": setup, "times": [], "warm": warm[0].seconds}
            progress(f"precision {name} {key}: first step {first[0].seconds:.2f} s, then {warm[0].seconds:.2f} s "
                     f"(runs as {session.trainer.precision.mode})")
        keys = list(sessions)
        for r in range(rounds):
            for key in keys[r % len(keys):] + keys[:r % len(keys)]:
                records = sessions[key].run(spec["steps"])
                out["variants"][key]["times"] += [rec.seconds for rec in records]
            progress(f"precision {name} round {r + 1}/{rounds} done")
    finally:
        for session in sessions.values():
            session.close()
    images = spec["batch_size"]
    base = None
    for key, v in out["variants"].items():
        if "times" not in v:
            continue
        v["step_seconds"] = statistics.median(v["times"])
        v["images_per_s"] = images / v["step_seconds"]
        v["compile_seconds"] = max(0.0, v["first_step"] - v["step_seconds"]) if VARIANTS[key][2] else 0.0
        if key == "fp32":
            base = v["step_seconds"]
    for v in out["variants"].values():
        if base and "step_seconds" in v:
            v["vs_fp32"] = base / v["step_seconds"]
    return out


def _flops(name: str, spec: dict[str, Any]) -> int | None:
    """Model FLOPs of one fp32 training step (matrix products and convolutions)."""
    session = _session(name, spec, VARIANTS["fp32"])
    try:
        session.run(2, count_flops=True)
        return session.probe.flops.total if session.probe.flops else None
    finally:
        session.close()


def measure(*, quick: bool = False, rounds: int | None = None, progress: Any = print) -> dict[str, Any]:
    """Every variant of every model (see the module docstring), the matmul peaks and `auto`'s choice."""
    import torch

    from ganzoo.bench.peak import matmul_peak
    from ganzoo.engine.auto_precision import choose_precision

    profile = MODELS["quick" if quick else "full"]
    choice = choose_precision(torch.device("cpu"))
    progress(f"auto: {choice.describe()}")
    results: dict[str, Any] = {"auto": choice.to_json(), "models": {}, "quick": quick}
    size = 256 if quick else None
    for dtype in ("fp32", "bf16"):
        # bf16 without native arithmetic is emulated tens of times slower: a fixed side keeps it short.
        side = size or (None if dtype == "fp32" or choice.mode == "bf16" else 512)
        peak = matmul_peak("cpu", dtype, size=side, repeats=3 if side else 7)
        results[f"peak_{dtype}"] = peak.to_json()
        progress(f"{dtype} matmul peak {peak.gflops:.1f} GFLOP/s at side {peak.size}")
    for name, spec in profile.items():
        spec = dict(spec)
        n_rounds = rounds or spec["rounds"]
        results["models"][name] = measure_model(name, spec, n_rounds, progress)
        flops = _flops(name, spec)
        results["models"][name]["flops_per_step"] = flops
        for v in results["models"][name]["variants"].values():
            if flops and "step_seconds" in v:
                v["gflops"] = flops / v["step_seconds"] / 1e9
                dtype = "bf16" if v["mode"] == "bf16" else "fp32"
                v["of_peak"] = v["gflops"] / results[f"peak_{dtype}"]["gflops"]
    return results


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def markdown(results: dict[str, Any], machine: dict[str, Any], date: str) -> str:
    """The precision tables for docs/benchmarks.md."""
    from benchmarks.report import machine_phrase

    auto = results["auto"]
    load = machine.get("load_average") or (0.0,)
    lines = [f"Measured {date} with `python benchmarks/run.py --section precision` on {machine_phrase(machine)}, "
             f"{machine['threads']} threads."]
    if results.get("quick"):
        lines += ["", "**Quick profile** (`--quick`: tiny sizes and single rounds, a smoke check of the section, "
                      "not the figures the targets are about)."]
    if load[0] > 0.5:
        lines += ["", f"**Provisional**: the machine was shared with other work (1-minute load average "
                      f"{load[0]:.2f} on {machine['cores']} cores when the run started); rerun on a quiet machine."]
    lines += ["", f"`--precision auto` here: **{auto['mode']}** ({auto['reason']}).",
              "", f"Matmul peak: fp32 {results['peak_fp32']['gflops']:.1f} GFLOP/s (side {results['peak_fp32']['size']}),"
              f" bf16 {results['peak_bf16']['gflops']:.1f} GFLOP/s (side {results['peak_bf16']['size']}).", ""]
    for model in results["models"].values():
        lines += [f"**{model['label']}**", "",
                  "| variant | runs as | step (median) | images/s | vs fp32 | GFLOP/s | of its matmul peak | "
                  "compile time |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for key, v in model["variants"].items():
            if "error" in v:
                lines.append(f"| {key} | - | failed: {v['error']} | | | | | |")
                continue
            gflops = f"{v['gflops']:.1f}" if "gflops" in v else "-"
            of_peak = f"{v['of_peak']:.0%}" if "of_peak" in v else "-"
            compiled = _time(v["compile_seconds"]) if VARIANTS[key][2] else "-"
            runs_as = ", ".join([v["mode"]] + (["channels-last"] if v.get("channels_last") else [])
                                + (["product weight grads"] if v.get("product_grads") else []))
            lines.append(f"| {key} | {runs_as} | {_time(v['step_seconds'])} | {v['images_per_s']:.2f} | "
                         f"{v.get('vs_fp32', 0):.2f}x | {gflops} | {of_peak} | {compiled} |")
        lines.append("")
    lines += ["Compile time is the first step's excess over the median; `auto compiled` follows `fp32 compiled` "
              "in the same process, so where `auto` is fp32 it reuses that compiled code and shows almost none.", ""]
    lines += _targets(results)
    return "\n".join(lines) + "\n"


def _targets(results: dict[str, Any]) -> list[str]:
    models = results["models"]
    lines = ["| target | required | measured | met |", "| --- | --- | --- | --- |"]
    bf16_host = results["auto"]["mode"] == "bf16"

    def row(label: str, required: str, value: float | None, ok: bool | None) -> None:
        shown = "-" if value is None else (f"{value:.2f}x" if "x" in required else f"{value:.0%}")
        lines.append(f"| {label} | {required} | {shown} | {'-' if ok is None else ('yes' if ok else 'no')} |")

    for name, need in (("dcgan", 3.5), ("cyclegan", 2.5)):
        v = models.get(name, {}).get("variants", {}).get("auto", {})
        ratio = v.get("vs_fp32")
        if bf16_host:
            row(f"{name}: auto / fp32 images/s", f">= {need}x", ratio, None if ratio is None else ratio >= need)
        else:
            row(f"{name}: auto (= fp32 on this host) / fp32", ">= 0.95x (no slower)", ratio,
                None if ratio is None else ratio >= 0.95)
    v = models.get("dcgan", {}).get("variants", {}).get("auto", {})
    if bf16_host:
        frac = v.get("of_peak")
        row("dcgan: auto, fraction of the bf16 matmul peak", ">= 40%", frac, None if frac is None else frac >= 0.4)
    return [*lines, ""]
