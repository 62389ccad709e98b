"""Seconds per image of sampling an FFHQ-sized StyleGAN2 generator (1024 px, config F widths) on the CPU.

    python benchmarks/stylegan2_sample.py [--threads 2] [--rounds 5]

Random weights (the cost does not depend on them), constant noise, batch 1 and 4, inference mode;
median and spread of `rounds` timings after one warm-up, wall and process CPU time, with the machine's
description and load average. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batches", default="1,4")
    args = parser.parse_args()

    import torch
    from ganzoo_stylegan.networks import Generator

    from ganzoo.bench.machine import describe, load_average

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    G = Generator(512, 0, 512, 1024, 3, mapping_layers=8, channel_base=32768, channel_max=512, conv_clamp=256).eval()
    params = sum(p.numel() for p in G.parameters())
    load_before = load_average()
    results = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        z = torch.randn(batch, 512)
        with torch.inference_mode():
            G(z, truncation_psi=0.7, noise_mode="const")  # warm-up
            walls, cpus = [], []
            for _ in range(args.rounds):
                w0, c0 = time.perf_counter(), time.process_time()
                G(z, truncation_psi=0.7, noise_mode="const")
                walls.append((time.perf_counter() - w0) / batch)
                cpus.append((time.process_time() - c0) / batch)
        results[f"batch {batch}"] = {"median_s_per_image": round(statistics.median(walls), 3),
                                     "min_s_per_image": round(min(walls), 3), "max_s_per_image": round(max(walls), 3),
                                     "median_cpu_s_per_image": round(statistics.median(cpus), 3)}
    print(json.dumps({"generator": "stylegan2 1024px config-F widths", "parameters": params, "rounds": args.rounds,
                      "results": results, "machine": describe(), "load_before": load_before,
                      "load_after": load_average()}))


if __name__ == "__main__":
    main()
