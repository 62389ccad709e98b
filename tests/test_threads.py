"""Threads and OpenMP wait policy: chosen before torch loads, overridable, applied and recorded in the run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from ganzoo.errors import ConfigError
from ganzoo.testing.kit import run_cli
from ganzoo.threads import PASSIVE_WAIT, THREADS_ENV, host_threads, prepare_environment, resolve_threads

CLEAN = {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "", "KMP_BLOCKTIME": "", "OMP_NUM_THREADS": "", THREADS_ENV: ""}

CHILD = textwrap.dedent("""
    import json, os, sys
    from ganzoo.threads import apply_threads, prepare_environment
    wait = prepare_environment()
    import torch
    settings = apply_threads(None)
    print(json.dumps({"torch_threads": torch.get_num_threads(), "settings": settings.to_json(),
                      "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "first": wait}))
""")


def _child(env: dict[str, str]) -> dict:
    import os

    full = {k: v for k, v in os.environ.items() if k not in CLEAN}
    full.update({k: v for k, v in env.items() if v})
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=full, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_fresh_process_gets_passive_waiting_before_torch_and_all_usable_cpus():
    got = _child({})
    assert got["first"]["in_time"] is True and got["first"]["source"] == "ganzoo"
    assert got["omp_wait_policy"] == "PASSIVE"
    assert got["torch_threads"] == host_threads() == got["settings"]["threads"]
    assert got["settings"]["source"] == "the CPUs this process may use"


def test_ganzoo_threads_and_a_users_wait_policy_win():
    got = _child({THREADS_ENV: "1", "GOMP_SPINCOUNT": "1000"})
    assert got["torch_threads"] == 1 and got["settings"]["source"] == THREADS_ENV
    assert got["settings"]["wait"] == "GOMP_SPINCOUNT=1000" and got["settings"]["wait_source"] == "user"
    assert got["omp_wait_policy"] is None  # ganzoo set nothing beside the user's choice


def test_prepare_environment_leaves_a_chosen_policy_alone_and_reports_torch_already_loaded():
    env = {"KMP_BLOCKTIME": "200"}
    got = prepare_environment(env)
    assert env == {"KMP_BLOCKTIME": "200"} and got["source"] == "user"
    env = {}
    got = prepare_environment(env)
    assert env == PASSIVE_WAIT and got["source"] == "ganzoo"
    assert got["in_time"] is False  # this test process imported torch long ago


def test_thread_count_precedence_and_bad_values(monkeypatch):
    for key in CLEAN:
        monkeypatch.delenv(key, raising=False)
    assert resolve_threads(None) == (host_threads(), "the CPUs this process may use")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert resolve_threads(None) == (3, "OMP_NUM_THREADS")
    monkeypatch.setenv(THREADS_ENV, "5")
    assert resolve_threads(None) == (5, THREADS_ENV)
    assert resolve_threads(2) == (2, "--threads")
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ConfigError, match="GANZOO_THREADS='many' is not a number of threads"):
        resolve_threads(None)
    with pytest.raises(ConfigError, match="--threads 0"):
        resolve_threads(0)


@pytest.mark.slow
def test_train_cli_applies_prints_and_records_threads_and_precision(tmp_path: Path):
    out = tmp_path / "run"
    env = {**CLEAN, "GANZOO_HOME": str(tmp_path / "home")}
    result = run_cli("train", "dcgan", "--steps", "1", "--batch-size", "8", "--threads", "1", "--set", "g_width=8",
                     "--set", "d_width=8", "--out", str(out), env=env)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Using threads")]
    assert len(lines) == 1, result.stderr  # printed once
    assert "threads 1 (--threads)" in lines[0] and "OMP_WAIT_POLICY=PASSIVE" in lines[0]
    config = yaml.safe_load((out / "config.yaml").read_text())
    host = config["host"]
    assert host["threads"] == 1 and host["threads_source"] == "--threads"
    assert host["omp_wait"].startswith("OMP_WAIT_POLICY=PASSIVE") and host["omp_wait_in_effect"] is True
    assert config["train"]["threads"] == 1 and config["train"]["precision"] == "auto"
    assert host["precision"] in ("fp32", "bf16") and f"precision {host['precision']} (auto: " in lines[0]
    # The probe's verdict is cached for this host: a second run reads it instead of measuring again.
    cache = json.loads((tmp_path / "home" / "cache" / "precision-probe.json").read_text())
    assert [entry["mode"] for entry in cache.values() if "mode" in entry] == [host["precision"]]
    # Under bf16 the weight-gradient choice of small convolutions is measured once too, in the same file.
    assert any(key.startswith("matmul-weight-grad|") for key in cache) == (host["precision"] == "bf16")
    # config.yaml, host section included, is accepted back by --config.
    again = run_cli("train", "dcgan", "--config", str(out / "config.yaml"), "--steps", "2", "--out", str(out), env=env)
    assert again.returncode == 0, again.stderr
    assert "(auto, kept as this run recorded it)" in again.stderr
