"""The training engine on the toy plugin: exact resume, run folder, signals, NaN stop, DDP, inference."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.engine.checkpoint import load_checkpoint, read_header
from ganzoo.testing import check_resume, compare_checkpoints, run_cli, smoke_train


@pytest.mark.parametrize(
    ("overrides", "train_overrides"),
    [
        ({}, {}),
        ({"dropout": 0.3}, {"ema_decay": 0.9}),
        ({"loss": "wasserstein"}, {"d_steps": 3, "balance": "skip-d:0.5"}),
        ({"loss": "lsgan"}, {"balance": "adaptive"}),
        ({}, {"precision": "bf16"}),
        ({}, {"num_workers": 2}),
    ],
    ids=["plain", "dropout-ema", "critic-skip", "adaptive", "bf16", "workers"],
)
def test_resume_is_bit_exact(toy_registry, tmp_path, overrides, train_overrides):
    # 13 steps cross an epoch boundary (12 batches of 16 per epoch) after resuming at step 5.
    report = check_resume("toy", tmp_path, steps=13, split=5, overrides=overrides, train_overrides=train_overrides)
    assert report.exact and report.compared > 50


def test_straight_runs_are_reproducible_and_seeds_matter(toy_registry, tmp_path):
    smoke_train("toy", tmp_path / "a", steps=6)
    smoke_train("toy", tmp_path / "b", steps=6)
    smoke_train("toy", tmp_path / "c", steps=6, train_overrides={"seed": 1})
    ck = "checkpoints/last.safetensors"
    assert compare_checkpoints(tmp_path / "a" / ck, tmp_path / "b" / ck).exact
    assert not compare_checkpoints(tmp_path / "a" / ck, tmp_path / "c" / ck).exact


def test_epochs_and_epoch_bookkeeping(toy_registry, tmp_path):
    result = smoke_train("toy", tmp_path / "e", steps=None, train_overrides={"epochs": 2})
    assert result.steps == 24 and result.epochs == 2  # 192 images / 16 per batch = 12 steps per epoch
    header = read_header(tmp_path / "e/checkpoints/last.safetensors")
    assert header["epoch"] == 2 and header["step"] == 24


def run_train(env, out, *args, timeout=300):
    return run_cli("train", "toy", "--out", str(out), *args, env=env, timeout=timeout)


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow  # several CLI runs: over 10 s on an idle 2-core machine
def test_cli_run_folder_resume_and_restart(toy_env, tmp_path):
    out = tmp_path / "run"
    first = run_train(toy_env, out, "--steps", "20", "--keep", "1")
    assert first.returncode == 0, first.stderr
    assert (out / "config.yaml").exists()
    assert sorted(p.name for p in (out / "samples").iterdir()) == ["step-000010.png", "step-000020.png"]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last.safetensors", "step-000010.safetensors"]
    records = metrics(out)
    assert [r["step"] for r in records] == [5, 10, 15, 20]
    for r in records:
        assert {"step", "epoch", "loss_d", "loss_g", "images_per_s", "lr"} <= set(r)
        assert r["images_per_s"] > 0 and set(r["lr"]) == {"G", "D"}
    grid = Image.open(out / "samples/step-000020.png")
    assert grid.info["ganzoo:model"] == "toy" and min(grid.size) >= 64

    again = run_train(toy_env, out, "--steps", "30", "--keep", "1")
    assert again.returncode == 0, again.stderr
    assert "Resuming toy from step 20" in again.stderr
    assert [r["step"] for r in metrics(out)] == [5, 10, 15, 20, 25, 30]
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 30

    changed = run_train(toy_env, out, "--steps", "40", "--hidden", "64")
    assert changed.returncode == 2 and "different model options (hidden: 32 -> 64)" in changed.stderr

    refused = run_train(toy_env, out, "--no-resume")
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 30  # nothing was lost
    restarted = run_train(toy_env, out, "--no-resume", "--force", "--steps", "10")
    assert restarted.returncode == 0
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 10


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finishes_the_step_checkpoints_and_exits(toy_env, tmp_path, sig, code):
    out = tmp_path / "run"
    env = {**os.environ, **toy_env, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganzoo", "train", "toy", "--out", str(out), "--steps", "1000000",
         "--checkpoint-every", "1000000", "--log-every", "5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # Signal once training runs (its first log line is written). On a busy machine the start alone has
    # taken 80 s, so the bound is generous: only a run that never starts ends the wait.
    deadline = time.time() + 900
    while not (out / "metrics.jsonl").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == code, stderr
    assert "Stopped at step" in stderr and "Resume with the same command" in stderr
    stopped = int(stderr.split("Stopped at step ")[1].split(";")[0])
    assert read_header(out / "checkpoints/last.safetensors")["step"] == stopped > 0
    assert not (out / ".lock").exists()  # the run folder's lock is released on this exit path too


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(toy_env, tmp_path):
    out = tmp_path / "run"
    result = run_train(toy_env, out, "--steps", "30", "--explode-at", "15", "--checkpoint-every", "10")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: non-finite loss at step 15: loss_g=nan")
    assert "last good checkpoint is kept" in lines[-1]
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 10


@pytest.mark.slow  # several CLI runs: over 10 s on an idle 2-core machine
def test_sample_and_export_round_trip(toy_env, tmp_path):
    out = tmp_path / "run"
    assert run_train(toy_env, out, "--steps", "10", "--ema-decay", "0.5").returncode == 0
    ck = out / "checkpoints/last.safetensors"
    grid = run_cli("sample", str(ck), "--n", "16", "--seed", "3", "--out", str(tmp_path / "a.png"), env=toy_env)
    assert grid.returncode == 0, grid.stderr
    folder = run_cli("sample", str(ck), "--n", "5", "--out", str(tmp_path / "imgs"), env=toy_env)
    assert folder.returncode == 0 and len(list((tmp_path / "imgs").glob("*.png"))) == 5
    exported = tmp_path / "toy-weights.safetensors"
    assert run_cli("export", str(ck), "--out", str(exported), env=toy_env).returncode == 0
    header = read_header(exported)
    assert header["kind"] == "weights" and header["nets"] == ["G"] and header["config"]["name"] == "toy"
    assert exported.stat().st_size < ck.stat().st_size
    weights = load_checkpoint(exported).nets["G"]
    trained = load_checkpoint(ck)
    for key, value in trained.ema["G"].items():  # EMA weights were exported
        assert (weights[key] == value).all()
    again = run_cli("sample", str(exported), "--n", "16", "--seed", "3", "--out", str(tmp_path / "b.png"), env=toy_env)
    assert again.returncode == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "a.png")), np.asarray(Image.open(tmp_path / "b.png")))
    resume = run_train(toy_env, tmp_path / "other", "--steps", "2")
    assert resume.returncode == 0


@pytest.mark.slow  # several CLI runs: over 10 s on an idle 2-core machine
def test_distributed_two_processes_then_resume_in_one(toy_env, tmp_path):
    out = tmp_path / "ddp"
    result = run_train(toy_env, out, "--nproc-per-node", "2", "--steps", "10", "--batch-size", "8", timeout=600)
    # A dead worker's own message comes before the launcher's long report: show both.
    assert result.returncode == 0, f"{result.stderr[:4000]}\n...\n{result.stderr[-1500:]}"
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["last.safetensors"]  # rank 0 only
    ck = load_checkpoint(out / "checkpoints/last.safetensors")
    assert ck.step == 10 and ck.state["world_size"] == 2 and len(ck.state["rng_ranks"]) == 2
    assert ck.state["stream"]["offset"] == (10 * 8 * 2) % 192
    assert ck.state["images_seen"] == 10 * 8 * 2
    assert [r["step"] for r in metrics(out)] == [5, 10]
    assert not (out / ".lock").exists()  # taken and released by rank 0
    single = run_train(toy_env, out, "--steps", "14", "--batch-size", "8")
    assert single.returncode == 0, single.stderr
    assert "Resuming toy from step 10" in single.stderr
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 14


def test_periodic_evaluation_keeps_the_best_checkpoint(toy_registry, tmp_path):
    out = tmp_path / "eval"
    smoke_train("toy", out, steps=6, train_overrides={"eval_every": 3, "eval_metric": "fid", "eval_n": 64,
                                                      "eval_extractor": "digits"})
    evals = [r for r in metrics(out) if "eval" in r]
    assert [r["step"] for r in evals] == [3, 6]
    values = [r["eval"]["values"]["fid"] for r in evals]
    assert all(v > 0 for v in values)
    best = read_header(out / "checkpoints/best.safetensors")
    assert best["step"] == (3 if values[0] <= values[1] else 6)
    assert evals[0]["eval"]["protocol"]["extractor"] == "digits"
