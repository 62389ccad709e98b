"""Measure the mode coverage of a digits demo per seed on this host and record it in docs/models/coverage.json.

    python scripts/measure_coverage.py dcgan                      # seeds 0 1 2, the arithmetic `auto` picks
    python scripts/measure_coverage.py dcgan --precision fp32     # forced to fp32
    python scripts/measure_coverage.py dcgan --record --note "..."  # also write the figures into the record

Each seed is `ganzoo train MODEL --seed S [--precision P]` with one thread (so its CPU time is what an
idle core needs), then 1000 samples (latent seed 0) classified by the judge and the second classifier
(`ganzoo.testing.coverage.judge_coverage`), and the judge's Fréchet distance to the held-out half of
the samples the model's record names (`fd_samples` with latent seed `fd_latent_seed`: 901 and 0 for
dcgan, 1000 and 1 for the others, as their cards and slow tests measure it; 1000 and 1 for a model
without a record). The judge FD of about 1000 samples moves by a third between two latent draws of one
generator, so figures are comparable only under one protocol.

With `--record`, the figures go into coverage.json as the entry of this CPU kind (its matrix flags) and
arithmetic: the model's main record when it matches, else the `other_cpus` entry that does, else a new
`other_cpus` entry; the file is replaced atomically. Then `python scripts/model_cards.py --write` puts
them in the card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "docs" / "models" / "coverage.json"


def fd_protocol(model: str, path: Path = RECORD) -> tuple[int, int]:
    """(samples, latent seed) of the judge FD in `model`'s record; (1000, 1) for a model without one."""
    entry = json.loads(path.read_text(encoding="utf-8")).get(model, {}) if path.exists() else {}
    return int(entry.get("fd_samples", 1000)), int(entry.get("fd_latent_seed", 1))


def measure(model: str, seed: int, out: Path, precision: str | None, extra: list[str],
            fd: tuple[int, int] = (1000, 1)) -> dict[str, Any]:
    """One seed's default run and its figures (the record's per-seed entry plus the run's precision);
    `fd`: the judge FD's (samples, latent seed)."""
    from ganzoo.engine.inference import load
    from ganzoo.testing.coverage import judge_coverage
    from ganzoo.testing.quality import digits_classifier, frechet_to_heldout, timed_cli
    from ganzoo.testing.seeds import run_precision

    args = ["train", model, "--seed", str(seed), "--out", str(out), *extra]
    if precision:
        args += ["--precision", precision]
    done = timed_cli(*args, threads=1)
    if done.returncode != 0:
        raise SystemExit(f"ganzoo {' '.join(args)} failed (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    loaded = load(str(out))
    coverage = judge_coverage(loaded)
    images = loaded.generate(fd[0], seed=fd[1])
    judge_fd = frechet_to_heldout(images, digits_classifier(int(images.shape[-1])))
    precision_used = run_precision(out)
    print(f"{model} seed {seed} ({precision_used}): {coverage.summary()}; judge FD {judge_fd:.2f} "
          f"({fd[0]} samples, latent seed {fd[1]}); {done.cpu:.0f} s CPU", flush=True)
    return {"judge": [round(float(v), 3) for v in coverage.judge.fractions],
            "second": [round(float(v), 3) for v in coverage.second.fractions],
            "judge_fd": round(judge_fd, 2), "cpu_s": round(done.cpu, 1), "precision": precision_used}


def record(model: str, cpu: str, flags: str, precision: str, seeds: dict[str, dict[str, Any]], note: str,
           path: Path = RECORD) -> str:
    """Put `seeds` into `path` as the figures of this CPU kind and arithmetic; says which entry took them."""
    from ganzoo.atomic import write_text_atomic
    from ganzoo.testing.seeds import matching_kind

    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    entry = data.get(model)
    if entry is None:
        raise SystemExit(f"{path.name} has no {model} record to add to; write its main record by hand first")
    fields = {"cpu": cpu, "cpu_flags": flags, "precision": precision, "note": note, "seeds": seeds}
    kind = matching_kind(entry, flags, precision)
    if kind is None:
        entry.setdefault("other_cpus", []).append(fields)
        where = "other_cpus entry (new)"
    else:
        kind.update({k: v for k, v in fields.items() if k != "note" or v})  # an empty note keeps the old one
        where = "main record" if kind is entry else "other_cpus entry (replaced)"
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
    return where


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Measure (and record) a digits demo's mode coverage per seed.")
    parser.add_argument("model")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="force an arithmetic (default: auto)")
    parser.add_argument("--runs", type=Path, default=Path("runs") / "coverage", help="where the runs go")
    parser.add_argument("--cpu", help="how the record names this CPU (default: its model name)")
    parser.add_argument("--note", default="", help="the record's note on how it was measured")
    parser.add_argument("--record", action="store_true", help=f"write the figures into {RECORD.name}")
    parser.add_argument("--json", type=Path, help="also write the per-seed figures to this file")
    args, extra = parser.parse_known_args(argv)

    from ganzoo.atomic import write_text_atomic
    from ganzoo.bench.machine import cpu_model
    from ganzoo.testing.seeds import this_cpu

    seeds: dict[str, dict[str, Any]] = {}
    fd = fd_protocol(args.model)
    for seed in args.seeds:
        tag = args.precision or "auto"
        seeds[str(seed)] = measure(args.model, seed, args.runs / f"{args.model}-{tag}-seed{seed}", args.precision,
                                   extra, fd)
    picked = {s.pop("precision") for s in seeds.values()}
    if len(picked) != 1:
        raise SystemExit(f"the seeds trained in different arithmetic ({sorted(picked)}); not recorded")
    precision = picked.pop()
    if args.json:
        write_text_atomic(args.json, json.dumps({"precision": precision, "cpu_flags": this_cpu(), "fd_samples": fd[0],
                                                    "fd_latent_seed": fd[1], "seeds": seeds}, indent=2))
    if args.record:
        where = record(args.model, args.cpu or cpu_model(), this_cpu(), precision, seeds, args.note)
        print(f"recorded {args.model} ({precision}, {this_cpu()}) as its {where} in {RECORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
