"""Run folders through the command line, with real processes: the lock, refused resumes, failed starts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.runlock import LOCK_NAME
from ganzoo.testing import run_cli


def train_cli(env, out, *args, timeout=300):
    return run_cli("train", "toy", "--out", str(out), *args, env=env, timeout=timeout)


def start_training(env, out, *args) -> subprocess.Popen:
    """A long toy run in the background, returned once it has written its first checkpoint."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ganzoo", "train", "toy", "--out", str(out), "--steps", "1000000",
         "--checkpoint-every", "10", "--log-every", "5", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env, "COLUMNS": "200"})
    deadline = time.time() + 600  # generous: a busy machine has taken 80 s to start
    while not (out / "checkpoints/last.safetensors").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, proc.communicate()[1][-2000:]
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> str:
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=600)
    return stderr


def steps_logged(out: Path) -> list[int]:
    """The steps of the loss lines of metrics.jsonl (diagnostics and evaluations add lines of their own)."""
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [r["step"] for r in records if "loss_d" in r]


@pytest.mark.slow  # three CLI runs, one of them long: over 10 s on an idle 2-core machine
def test_a_live_run_is_locked_and_a_killed_ones_lock_is_taken_over(toy_env, tmp_path):
    out = tmp_path / "run"
    first = start_training(toy_env, out)
    try:
        # A temporary file the first trainer is writing right now (named after it, like its own).
        in_flight = out / "checkpoints" / f".probe.safetensors.{first.pid}.tmp"
        in_flight.write_bytes(b"half a checkpoint")
        second = train_cli(toy_env, out, "--steps", "5")
        assert second.returncode == 2, second.stderr
        errors = [line for line in second.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and f"in use by process {first.pid}" in errors[0], second.stderr
        assert "Traceback" not in second.stderr
        assert in_flight.exists()  # the refused start-up deleted nothing
        assert (out / LOCK_NAME).read_text().split()[0] == f"pid={first.pid}"
    finally:
        stop(first)  # kill -9: no clean-up runs, the lock file stays behind
    assert first.returncode == -signal.SIGKILL
    assert (out / LOCK_NAME).exists()
    logged = steps_logged(out)
    assert logged == sorted(set(logged))  # one writer: no interleaved or repeated steps

    step = read_header(out / "checkpoints/last.safetensors")["step"]
    third = train_cli(toy_env, out, "--steps", str(step + 5))
    assert third.returncode == 0, third.stderr
    assert f"from process {first.pid}, which is no longer running" in third.stderr
    assert f"Resuming toy from step {step}" in third.stderr
    assert read_header(out / "checkpoints/last.safetensors")["step"] == step + 5
    assert not (out / LOCK_NAME).exists()  # released at the normal end
    assert not in_flight.exists()  # the dead process's temporary file is cleaned up


@pytest.mark.slow  # three CLI runs: over 10 s on an idle 2-core machine
def test_the_lock_is_released_after_an_error(toy_env, tmp_path):
    out = tmp_path / "run"
    assert train_cli(toy_env, out, "--steps", "2").returncode == 0
    refused = train_cli(toy_env, out, "--steps", "4", "--hidden", "64")  # a refused resume
    assert refused.returncode == 2 and "different model options" in refused.stderr
    assert not (out / LOCK_NAME).exists()
    assert train_cli(toy_env, out, "--steps", "4").returncode == 0


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (names relative to it) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow  # four CLI runs: over 10 s on an idle 2-core machine
def test_a_refused_resume_leaves_the_run_folder_byte_identical(toy_env, tmp_path):
    out = tmp_path / "run"
    assert train_cli(toy_env, out, "--steps", "3", "--log-every", "1").returncode == 0
    before = snapshot(out)
    assert "config.yaml" in before and "checkpoints/last.safetensors" in before
    for args in (("--hidden", "64"), ("--seed", "7"), ("--batch-size", "8")):
        refused = train_cli(toy_env, out, "--steps", "6", *args)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("Error:") == 1 and "Traceback" not in refused.stderr
        assert snapshot(out) == before, args  # config.yaml not rewritten, no lock or log left behind


@pytest.mark.parametrize("data", ["missing", "empty"])
def test_a_start_that_fails_on_its_data_leaves_no_run_folder(toy_env, tmp_path, data):
    folder = tmp_path / "images"
    if data == "empty":
        folder.mkdir()
    out = tmp_path / "runs" / "toy-run"
    failed = train_cli(toy_env, out, "--steps", "2", "--data", str(folder))
    assert failed.returncode != 0 and failed.stderr.count("Error:") == 1, failed.stderr
    assert not out.exists() and not out.parent.exists()  # not even the parent it would have created


def test_an_offline_named_download_that_fails_leaves_no_run_folder(tmp_path):
    out = tmp_path / "h2z"
    env = {"GANZOO_OFFLINE": "1", "GANZOO_HOME": str(tmp_path / "home")}
    failed = run_cli("train", "cyclegan", "--data", "horse2zebra", "--steps", "1", "--out", str(out), env=env)
    assert failed.returncode != 0 and "Error:" in failed.stderr and "Traceback" not in failed.stderr, failed.stderr
    assert not out.exists()


def test_the_skeleton_of_a_start_killed_during_set_up_does_not_block_the_same_command(toy_env, tmp_path):
    out = tmp_path / "run"
    # What a start killed (kill -9) while setting up leaves: empty folders, its config and its lock.
    (out / "checkpoints").mkdir(parents=True)
    (out / "samples").mkdir()
    (out / "config.yaml").write_text("# Resolved configuration of this run\nname: toy\n")
    (out / LOCK_NAME).write_text("pid=999999999 host=elsewhere\n")
    (out / "checkpoints" / ".last.safetensors.999999999.tmp").write_bytes(b"half")
    again = train_cli(toy_env, out, "--steps", "2")
    assert again.returncode == 0, again.stderr
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "config.yaml", "metrics.jsonl", "samples"]

    # A folder with anything else in it is still refused, and left alone.
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    refused = train_cli(toy_env, other, "--steps", "2")
    assert refused.returncode == 2 and "not empty" in refused.stderr
    assert snapshot(other) == {"notes.txt": b"keep me"}


@pytest.mark.slow  # four CLI runs: over 10 s on an idle 2-core machine
def test_the_same_command_without_out_continues_its_run_and_says_when_it_is_finished(toy_env, tmp_path):
    env = {**toy_env, "COLUMNS": "40"}  # narrow: nothing printed may wrap
    first = run_cli("train", "toy", "--steps", "6", "--log-every", "3", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    rel = f"runs/{folder.name}"
    lines = first.stderr.splitlines()
    assert lines[0] == f"Training toy in {rel} (new run)"  # the run folder, before any step
    assert f"  next         ganzoo sample {rel} --n 64 --out samples.png" in lines

    before = snapshot(folder)
    again = run_cli("train", "toy", "--steps", "6", "--log-every", "3", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"toy in {rel} is already finished: 6 of 6 steps" in again.stderr
    assert "  train longer   ganzoo train toy --log-every 3 --steps 12" in again.stderr.splitlines()
    assert "Finished" not in again.stderr
    assert snapshot(folder) == before  # nothing rewritten

    longer = run_cli("train", "toy", "--steps", "9", "--log-every", "3", env=env, cwd=tmp_path)
    assert longer.returncode == 0, longer.stderr
    assert longer.stderr.splitlines()[0] == f"Resuming toy from step 6 in {rel}"
    assert read_header(folder / "checkpoints/last.safetensors")["step"] == 9

    other = run_cli("train", "toy", "--steps", "3", "--seed", "5", env=env, cwd=tmp_path)  # another run
    assert other.returncode == 0 and "(new run)" in other.stderr
    assert len(list((tmp_path / "runs").iterdir())) == 2


@pytest.mark.slow  # two long CLI runs: over 10 s on an idle 2-core machine
def test_after_ctrl_c_the_identical_command_resumes(toy_env, tmp_path):
    args = [sys.executable, "-m", "ganzoo", "train", "toy", "--steps", "1000000", "--checkpoint-every", "10"]
    env = {**os.environ, **toy_env, "COLUMNS": "200"}
    first = subprocess.Popen(args, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    deadline = time.time() + 600
    while not list(tmp_path.glob("runs/*/checkpoints/last.safetensors")) and time.time() < deadline:
        assert first.poll() is None, first.communicate()[1][-2000:]
        time.sleep(0.1)
    stderr = stop(first, signal.SIGINT)
    assert first.returncode == 130, stderr
    (folder,) = (tmp_path / "runs").iterdir()
    step = read_header(folder / "checkpoints/last.safetensors")["step"]
    assert step > 0

    second = subprocess.Popen(args, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                              env=env)
    try:
        line = second.stderr.readline().strip()
    finally:
        stop(second, signal.SIGINT)
    assert line == f"Resuming toy from step {step} in runs/{folder.name}"
    assert len(list((tmp_path / "runs").iterdir())) == 1


@pytest.mark.slow  # several starts killed at different moments, then a run: over 10 s
def test_a_start_killed_during_set_up_never_blocks_the_same_command(toy_env, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, **toy_env}
    for delay in (0.5, 1.5, 3.0):  # while importing, resolving, loading data or building the model
        proc = subprocess.Popen([sys.executable, "-m", "ganzoo", "train", "toy", "--out", str(out), "--steps", "3"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(delay)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if (out / "checkpoints/last.safetensors").exists():
            break  # this machine trained 3 steps before the kill: nothing left to check
        assert not out.exists() or not any(
            p.name not in {"checkpoints", "samples", "config.yaml", LOCK_NAME} for p in out.iterdir())
    again = train_cli(toy_env, out, "--steps", "3")
    assert again.returncode == 0, again.stderr
    assert read_header(out / "checkpoints/last.safetensors")["step"] == 3
