"""benchmarks/compile.py: break-even and decision arithmetic, the docs table, and one real worker run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _position(eager, compiled, compile_s, weight=None, label="all"):
    return {"label": label, "images_seen": None, "weight_steps": weight, "eager_step": eager,
            "compiled_step": compiled, "compile_seconds": compile_s}


def test_break_even_and_decision():
    from benchmarks.compile import summarise

    r = summarise({"default_steps": 1200, "positions": [_position(0.22, 0.20, 30.0)], "preview_compile_seconds": 6.0})
    assert r["compile_seconds"] == pytest.approx(36.0)
    assert r["break_even_steps"] == 1800 and not r["wins"]  # 36 s / 0.02 s per step
    r = summarise({"default_steps": 2000, "positions": [_position(0.22, 0.20, 30.0)]})
    assert r["break_even_steps"] == 1500 and not r["wins"]  # past break-even, but saves only 2% of the run
    assert r["compiled_run_seconds"] == pytest.approx(0.20 * 2000 + 30.0)
    assert r["run_saving"] == pytest.approx(1 - 430 / 440)
    r = summarise({"default_steps": 2000, "positions": [_position(0.22, 0.15, 30.0)]})
    assert r["break_even_steps"] == 429 and r["wins"]  # 330 s against 440 s: 25% saved
    r = summarise({"default_steps": 10**6, "positions": [_position(0.20, 0.25, 1.0)]})
    assert r["break_even_steps"] is None and not r["wins"]  # slower per step: never


def test_phases_are_weighted_by_their_steps():
    from benchmarks.compile import summarise

    r = summarise({"default_steps": 400, "positions": [_position(0.1, 0.1, 10.0, weight=300, label="stage 0"),
                                                       _position(0.5, 0.3, 20.0, weight=100, label="stage 1")]})
    assert r["eager_step"] == pytest.approx((0.1 * 300 + 0.5 * 100) / 400)
    assert r["compiled_step"] == pytest.approx((0.1 * 300 + 0.3 * 100) / 400)
    assert r["compile_seconds"] == pytest.approx(30.0)
    assert r["break_even_steps"] == 600 and not r["wins"]


def test_docs_table_is_the_committed_results():
    from benchmarks.compile import markdown

    results = json.loads((ROOT / "benchmarks" / "results-compile.json").read_text())
    text = markdown(results, results["machine"], results["date"])
    doc = (ROOT / "docs" / "benchmarks.md").read_text()
    assert text.strip() in doc
    for name, r in results["families"].items():
        assert f"| {name} |" in text
        if "error" not in r:
            assert r["eager_step"] > 0 and r["compiled_step"] > 0 and r["default_steps"] > 0


@pytest.mark.slow  # compiles a tiny dcgan with the C++ compiler (about a minute)
def test_worker_measures_a_real_compile(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", GANZOO_THREADS="1", TORCHINDUCTOR_COMPILE_THREADS="1",
               TORCHINDUCTOR_CACHE_DIR=str(tmp_path / "inductor"))
    out = tmp_path / "dcgan.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "compile.py"), "--worker", "dcgan", "--quick",
                           "--rounds", "1", "--warm", "2", "--result", str(out)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(out.read_text())
    assert r["graphs"] >= 2  # generator and discriminator at least
    assert r["compile_seconds"] > 1.0  # a cold inductor compile is seconds of CPU, not nothing
    assert r["eager_step"] > 0 and r["compiled_step"] > 0
    assert r["default_steps"] > 0
