"""Side-by-side speed of ganzoo's engine and plain reference loops, and everything docs/benchmarks.md shows.

    python benchmarks/run.py                  # the full measurement (about 7 minutes on an idle 2-core CPU)
    python benchmarks/run.py --write-docs     # ... and regenerate docs/benchmarks.md's measured section
    python benchmarks/run.py --quick          # tiny sizes: checks that every part runs (about a minute)
    python benchmarks/run.py --only dcgan,cyclegan --rounds 7
    python benchmarks/run.py --section threads [--write-docs]     # threads and wait policy, idle and busy
    python benchmarks/run.py --section precision [--write-docs]   # fp32, bf16, auto, channels-last, compile
    python benchmarks/run.py --section compile [--write-docs] [--jobs 2]   # torch.compile per family

Sections: `peak` (fp32 matmul peak), `dcgan` and `cyclegan` (alternating rounds against the plain
reference loops in benchmarks/reference_*.py), `data` (data-loading share with the built-in data and
image folders), `inference` (`ganzoo sample` and `ganzoo translate`), `scale` (step time and memory
against image size and batch size, plotted). Results go to OUT/results.json and OUT/bench-scaling.png;
`--write-docs` also writes benchmarks/results.json, docs/img/bench-scaling.png and the section of
docs/benchmarks.md between its markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SECTIONS = ("peak", "dcgan", "cyclegan", "data", "inference", "scale")

PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "rounds": 5,
        "dcgan": {"image_size": 64, "batch_size": 64, "width": 64, "steps": 3},
        "cyclegan": {"image_size": 128, "batch_size": 1, "generator": "resnet_9blocks", "ngf": 64, "ndf": 64,
                     "steps": 2},
        "data": {"dcgan": {"image_size": 64, "batch_size": 64, "files": 256, "side": 96, "steps": 4, "width": 64},
                 "cyclegan": {"image_size": 128, "load_size": 143, "batch_size": 1, "files": 64, "steps": 4,
                              "generator": "resnet_9blocks", "ngf": 64, "ndf": 64}},
        "inference": {"sample_n": 1024, "dcgan_size": 64, "dcgan_width": 64, "translate_n": 100, "translate_inprocess": 32,
                      "cyclegan": {"image_size": 128, "generator": "resnet_9blocks", "ngf": 64, "ndf": 64}},
        "scale": {"sizes": (32, 64, 128, 256), "size_batch": 16, "batches": (8, 16, 32, 64, 128), "batch_px": 64,
                  "steps": 3, "extra": ("--set", "g_width=64", "--set", "d_width=64")},
    },
    "quick": {
        "rounds": 2,
        "peak_size": 512,
        "dcgan": {"image_size": 32, "batch_size": 8, "width": 16, "steps": 2},
        "cyclegan": {"image_size": 32, "batch_size": 1, "generator": "resnet_6blocks", "ngf": 8, "ndf": 8, "steps": 1},
        "data": {"dcgan": {"image_size": 32, "batch_size": 8, "files": 16, "side": 40, "steps": 2, "width": 16},
                 "cyclegan": {"image_size": 32, "load_size": 36, "batch_size": 1, "files": 4, "steps": 2,
                              "generator": "resnet_6blocks", "ngf": 8, "ndf": 8}},
        "inference": {"sample_n": 32, "dcgan_size": 32, "dcgan_width": 16, "translate_n": 4, "translate_inprocess": 4,
                      "cyclegan": {"image_size": 32, "generator": "resnet_6blocks", "ngf": 8, "ndf": 8}},
        "scale": {"sizes": (16, 32), "size_batch": 4, "batches": (2, 4), "batch_px": 16, "steps": 1,
                  "extra": ("--set", "g_width=8", "--set", "d_width=8")},
    },
}


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


def run_peak(results: dict[str, Any], profile: dict[str, Any]) -> None:
    from ganzoo.bench.peak import matmul_peak

    peak = matmul_peak("cpu", "fp32", size=profile.get("peak_size"))
    results["peak"] = peak.to_json()
    log(f"fp32 matmul peak {peak.gflops:.1f} GFLOP/s at {peak.size} x {peak.size}")


def run_comparison(results: dict[str, Any], key: str, profile: dict[str, Any], rounds: int) -> None:
    from benchmarks.side_by_side import compare, cyclegan_pair, dcgan_pair

    options = dict(profile[key])
    steps = options.pop("steps")
    make = dcgan_pair if key == "dcgan" else cyclegan_pair
    setting, session, reference = make(**options)
    try:
        comparison = compare(key, setting, session, reference, rounds=rounds, steps=steps, progress=log)
    finally:
        session.close()
    data = comparison.to_json()
    if key == "dcgan" and "peak" in results:
        data["peak_fraction"] = data["ganzoo"]["gflops"] / results["peak"]["gflops"]
    results[key] = data
    share = data["ganzoo"]["data_share"]
    results.setdefault("data", []).append({
        "model": key, "label": f"built-in {setting['data']}", "data": setting["data"], "in_memory": True,
        "workers": session.trainer.stream.num_workers, "batch_size": setting["batch_size"],
        "image_size": setting["image_size"], "steps": len(comparison.ganzoo.step_seconds), "data_share": share,
        "data_seconds": _stats(comparison.ganzoo.data_seconds), "step_time": _stats(comparison.ganzoo.step_seconds),
    })
    log(f"{key}: ratio {comparison.ratio:.3f} (CPU-time ratio {data['cpu_ratio']:.3f})")


def _stats(values: list[float]) -> dict[str, float]:
    from ganzoo.bench.stats import TimeStats

    return TimeStats.of(values).to_json()


def run_data(results: dict[str, Any], profile: dict[str, Any], work: Path) -> None:
    from benchmarks.data_share import measure, write_photo_crops, write_unpaired_folder

    d = profile["data"]["dcgan"]
    folder = write_photo_crops(work / "photos", d["files"], d["side"])
    overrides = {"image_size": d["image_size"], "channels": 3}
    if "width" in d:
        overrides.update(g_width=d["width"], d_width=d["width"])
    item = measure("dcgan", str(folder), overrides=overrides, batch_size=d["batch_size"], steps=d["steps"])
    item["label"] = f"folder of {d['files']} JPEGs ({d['side']} px)"
    results.setdefault("data", []).append(item)
    log(f"data dcgan folder: {item['data_share']:.2%} of step time")
    c = profile["data"]["cyclegan"]
    root = write_unpaired_folder(work / "unpaired", c["files"], c["load_size"])
    overrides = {"image_size": c["image_size"], "load_size": c["load_size"], "flip": True, "channels": 3,
                 "generator": c["generator"], "ngf": c["ngf"], "ndf": c["ndf"], "lambda_identity": 0.5}
    item = measure("cyclegan", str(root), overrides=overrides, batch_size=c["batch_size"], steps=c["steps"])
    item["label"] = f"folder trainA/trainB, {c['files']} JPEGs each ({c['load_size']} px, random crop, flip)"
    results["data"].append(item)
    log(f"data cyclegan folder: {item['data_share']:.2%} of step time")


def run_inference(results: dict[str, Any], profile: dict[str, Any], work: Path) -> None:
    from benchmarks import inference
    from benchmarks.data_share import write_photo_crops

    p = profile["inference"]
    out: dict[str, Any] = {}
    size = p["dcgan_size"]
    width = p["dcgan_width"]
    ckpt = inference.train_checkpoint("dcgan", work / "dcgan-run", overrides={"image_size": size, "channels": 3,
                                                                             "g_width": width, "d_width": width})
    out["sample"] = inference.sample(ckpt, p["sample_n"])
    log(f"sample: {out['sample']['cli_images_per_s']:.1f} images/s end to end")
    cyc = p["cyclegan"]
    overrides = {"image_size": cyc["image_size"], "channels": 3, "generator": cyc["generator"], "ngf": cyc["ngf"],
                 "ndf": cyc["ndf"], "load_size": None, "flip": False}
    ckpt = inference.train_checkpoint("cyclegan", work / "cyclegan-run", overrides=overrides, batch_size=1)
    inputs = write_photo_crops(work / "translate-in", p["translate_n"], cyc["image_size"], seed=3)
    subset = work / "translate-subset"
    subset.mkdir()
    for path in sorted(inputs.iterdir())[:p["translate_inprocess"]]:
        shutil.copy(path, subset / path.name)
    cli = inference.translate(ckpt, inputs, batch_sizes=())
    detail = inference.translate(ckpt, subset, batch_sizes=(1, 8))
    out["translate"] = {**cli, "image_size": detail["image_size"], "best": detail["best"], "inprocess_n": detail["n"],
                        "translate_images_per_s": detail["translate_images_per_s"]}
    log(f"translate: {out['translate']['cli_images_per_s']:.2f} images/s end to end")
    results["inference"] = out


def run_scale(results: dict[str, Any], profile: dict[str, Any], out_dir: Path) -> None:
    from benchmarks.scaling import plot, sweep

    s = profile["scale"]
    extra = ("--set", "channels=3", *s.get("extra", ()))
    result = sweep("dcgan", sizes=s["sizes"], size_batch=s["size_batch"], batches=s["batches"],
                   batch_size_px=s["batch_px"], steps=s["steps"], extra=extra, progress=log)
    results["scale"] = result
    plot(result, out_dir / "bench-scaling.png", title="ganzoo dcgan (3 channels, fp32, CPU): step time and memory")


#: Sections with their own generated block in docs/benchmarks.md (`--section NAME`).
EXTRA_SECTIONS = ("threads", "precision", "compile")


def run_extra_section(args: argparse.Namespace) -> int:
    """`--section threads|precision`: measure, print the markdown, and with --write-docs replace its block."""
    from ganzoo.threads import prepare_environment

    prepare_environment()  # as the `ganzoo` command does, before torch loads
    import torch

    from ganzoo.bench import machine

    info = machine.describe(torch.device("cpu"))
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if args.section == "threads":
        from benchmarks import threads

        rounds = args.rounds or (1 if args.quick else 2)
        families = (threads.QUICK_FAMILIES if args.quick else
                    {f.strip(): threads.FAMILIES.get(f.strip(), 150) for f in args.families.split(",") if f.strip()}
                    if args.families else threads.FAMILIES)
        results = threads.measure(families=families, rounds=rounds, progress=log)
        results["quick"] = bool(args.quick)
        text = threads.markdown(results, info, date)
    elif args.section == "compile":
        from benchmarks import compile as compile_bench

        out_dir = args.out = args.out or Path(tempfile.mkdtemp(prefix="ganzoo-bench-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        families = ([f.strip() for f in args.families.split(",") if f.strip()] if args.families else
                    list(compile_bench.QUICK if args.quick else compile_bench.FAMILIES))
        results = compile_bench.measure(families=families, rounds=args.rounds or (1 if args.quick else 5),
                                        warm=2 if args.quick else 3, jobs=args.jobs, quick=args.quick,
                                        work=out_dir, progress=log)
        text = compile_bench.markdown(results, info, date)
    else:
        from benchmarks import precision

        results = precision.measure(quick=args.quick, rounds=args.rounds, progress=log)
        text = precision.markdown(results, info, date)
    results.update(machine=info, date=date)
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="ganzoo-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_json(out_dir / f"{args.section}.json", results)
    print(text)
    print(f"Results: {out_dir / f'{args.section}.json'}", file=sys.stderr)
    if args.write_docs:  # a --quick table is written too, labelled as such (a smoke check of the section)
        _write_json(ROOT / "benchmarks" / f"results-{args.section}.json", results)
        replace_block(ROOT / "docs" / "benchmarks.md", args.section, text)
        print(f"Wrote the {args.section} section of docs/benchmarks.md", file=sys.stderr)
    return 0


def replace_block(doc: Path, name: str, text: str) -> None:
    """Replace what lies between `<!-- bench-NAME:begin ... -->` and `<!-- bench-NAME:end -->` in `doc`."""
    content = doc.read_text(encoding="utf-8")
    begin, end = f"<!-- bench-{name}:begin", f"<!-- bench-{name}:end -->"
    start, stop = content.find(begin), content.find(end)
    if start < 0 or stop < start:
        raise SystemExit(f"{doc} has no block {begin} ... {end}")
    head_end = content.index("-->", start) + 3
    new = content[:head_end] + "\n\n" + text + "\n" + content[stop:]
    tmp = doc.with_name(doc.name + ".tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check that every part runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    parser.add_argument("--rounds", type=int, default=None, help="alternating rounds (default: 5; quick: 2)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--section", choices=EXTRA_SECTIONS, default=None,
                        help="run one of the separately generated sections instead (its own table in "
                             "docs/benchmarks.md)")
    parser.add_argument("--families", default=None,
                        help="--section compile or threads: comma-separated families (default: all, or dcgan,cyclegan)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="--section compile: families measured at once, one process each (default: 1)")
    parser.add_argument("--out", type=Path, default=None, help="folder for results.json and the plot")
    parser.add_argument("--write-docs", action="store_true",
                        help="also write benchmarks/results.json, docs/img/bench-scaling.png and docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.section:
        return run_extra_section(args)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.write_docs and args.quick:
        parser.error("--write-docs records the full measurement; drop --quick")

    import torch

    from ganzoo.bench import machine

    if args.threads:
        torch.set_num_threads(args.threads)
    profile_name = "quick" if args.quick else "full"
    profile = PROFILES[profile_name]
    rounds = args.rounds or profile["rounds"]
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="ganzoo-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    results: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "profile": profile_name, "rounds": rounds, "sections": sections,
        "machine": machine.describe(torch.device("cpu")), "load_before": machine.load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="ganzoo-bench-work-") as tmp:
        work = Path(tmp)
        if "peak" in sections:
            run_peak(results, profile)
        for key in ("dcgan", "cyclegan"):
            if key in sections:
                run_comparison(results, key, profile, rounds)
        if "data" in sections:
            run_data(results, profile, work)
        if "inference" in sections:
            run_inference(results, profile, work)
        if "scale" in sections:
            run_scale(results, profile, out_dir)
    results["load_after"] = machine.load_average()
    results["seconds"] = time.perf_counter() - started
    results["cpu_seconds"] = _cpu_seconds() - cpu_started
    _write_json(out_dir / "results.json", results)

    from benchmarks.report import console_table, markdown, write_section

    console_table(results)
    print(f"Results: {out_dir / 'results.json'}", file=sys.stderr)
    if args.write_docs:
        _write_json(ROOT / "benchmarks" / "results.json", results)
        plot_rel = None
        if (out_dir / "bench-scaling.png").exists():
            (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
            shutil.copy(out_dir / "bench-scaling.png", ROOT / "docs" / "img" / "bench-scaling.png")
            plot_rel = "img/bench-scaling.png"
        write_section(ROOT / "docs" / "benchmarks.md", markdown(results, plot_path=plot_rel))
        print("Wrote docs/benchmarks.md, docs/img/bench-scaling.png and benchmarks/results.json", file=sys.stderr)
    return 0


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
