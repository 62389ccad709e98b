"""ganzoo.engine.speed: the host allocator setting (same maths, less work)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

FAULTS = textwrap.dedent("""
    import json, resource, sys, torch
    from ganzoo.engine.speed import tune_host_allocator
    tuned = tune_host_allocator()
    first = torch.empty(6 * 2**20)  # a 24 MiB block: default glibc then serves smaller ones from its heap
    first.fill_(1.0)
    del first
    def churn():  # like a training step: activations allocated, then freed together
        for _ in range(6):
            blocks = [torch.ones(4 * 2**20) for _ in range(8)]  # 8 x 16 MiB, written
            del blocks
    churn()  # let the default allocator settle its thresholds
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    churn()
    print(json.dumps({"tuned": tuned, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
""")


def _faults(flag: str) -> dict:
    env = {**os.environ, "GANZOO_TUNE_MALLOC": flag, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_tuned_allocator_keeps_freed_pages_in_the_process():
    import platform

    tuned = _faults("1")
    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        assert tuned["tuned"] is False  # only glibc has these settings
        return
    assert tuned["tuned"] is True
    # 6 x 128 MiB written: about 196 000 fresh pages when the freed heap is returned to the system
    # each time. Default glibc does that in most processes (where its heap can grow in place; the
    # address layout varies from process to process), so look at a few.
    defaults = []
    while len(defaults) < 4 and not any(f > 6 * 128 * 256 // 2 for f in defaults):
        run = _faults("0")
        assert run["tuned"] is False
        defaults.append(run["faults"])
    assert max(defaults) > 6 * 128 * 256 // 2, defaults
    assert tuned["faults"] < max(defaults) // 10
