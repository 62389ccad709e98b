"""A fresh CPU run whose thread count nobody chose measures its own steps and keeps the faster count."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from ganzoo.engine import rng
from ganzoo.engine.thread_probe import (
    MIN_STEPS,
    ThreadChoice,
    candidate_counts,
    choose_threads,
    probe_threads,
    recorded_thread_count,
)
from ganzoo.testing.kit import compare_checkpoints, run_cli
from ganzoo.threads import (
    AUTO_PREFIX,
    HOST_SOURCE,
    KEPT_SOURCE,
    THREADS_ENV,
    ThreadSettings,
    host_threads,
    settle_threads,
)

CLEAN = {"OMP_WAIT_POLICY": "", "GOMP_SPINCOUNT": "", "KMP_BLOCKTIME": "", "OMP_NUM_THREADS": "", THREADS_ENV: "",
         "MKL_NUM_THREADS": ""}
TINY_DCGAN = ("--batch-size", "8", "--set", "g_width=8", "--set", "d_width=8", "--sample-every", "1000")


def test_candidates_are_one_half_and_all_of_the_cpus():
    assert candidate_counts(1) == [1]
    assert candidate_counts(2) == [1, 2]
    assert candidate_counts(3) == [1, 3]
    assert candidate_counts(8) == [1, 4, 8]


def test_the_fastest_median_wins_but_more_threads_must_be_clearly_faster():
    # One slow outlier step does not decide: medians do.
    got = choose_threads({1: [0.030, 0.031, 0.029, 0.300], 2: [0.020, 0.021, 0.019, 0.022]})
    assert got.threads == 2 and got.steps == 4
    assert got.reason.startswith(AUTO_PREFIX) and got.reason == "auto: a step took 30 ms with 1, 20 ms with 2, median of 4"
    # Within 5%: the fewer threads (kinder to a shared machine) keep it.
    assert choose_threads({1: [0.0300] * 3, 2: [0.0290] * 3}).threads == 1
    # Beside other work, where the second thread waits for a descheduled partner.
    assert choose_threads({1: [0.035] * 3, 2: [0.190] * 3}).threads == 1
    # Three candidates: the middle one can win; the smallest count is the reference for the margin.
    assert choose_threads({1: [1.0] * 3, 4: [0.40] * 3, 8: [0.39] * 3}).threads == 4
    assert choose_threads({1: [1.0] * 3, 4: [0.40] * 3, 8: [0.30] * 3}).threads == 8
    with pytest.raises(ValueError):
        choose_threads({})


def test_a_checkpoint_header_gives_its_recorded_count_back():
    assert recorded_thread_count({"config": {"train": {"threads": 2}}}) == 2
    for bad in ({"config": {"train": {"threads": None}}}, {"config": {"train": {"threads": True}}},
                {"config": {"train": {"threads": 0}}}, {"config": {}}, {}):
        assert recorded_thread_count(bad) is None


def _settings(threads: int, source: str) -> ThreadSettings:
    return ThreadSettings(threads, source, "OMP_WAIT_POLICY=PASSIVE", "ganzoo", True)


def test_settling_keeps_a_chosen_count_keeps_a_recorded_one_and_probes_only_a_fresh_unchosen_one():
    before = torch.get_num_threads()
    asked: list[list[int]] = []

    def probe(counts):
        asked.append(counts)
        return ThreadChoice(1, {1: 0.01, 2: 0.02}, 4, "auto: measured")

    try:
        for source in ("--threads", THREADS_ENV, "OMP_NUM_THREADS", "as this process set torch"):
            chosen = _settings(2, source)
            assert settle_threads(chosen, 1, probe_allowed=True, probe=probe) is chosen
        assert asked == []
        kept = settle_threads(_settings(2, HOST_SOURCE), 1, probe_allowed=True, probe=probe)
        assert (kept.threads, kept.source) == (1, KEPT_SOURCE) and kept.belongs_to_run
        assert torch.get_num_threads() == 1 and asked == []
        torch.set_num_threads(before)
        # Not allowed (a compiled or distributed run, a GPU) or one CPU: the host's count, unprobed.
        assert settle_threads(_settings(2, HOST_SOURCE), None, probe_allowed=False, probe=probe).threads == 2
        assert settle_threads(_settings(1, HOST_SOURCE), None, probe_allowed=True, probe=probe).threads == 1
        assert asked == []
        measured = settle_threads(_settings(4, HOST_SOURCE), None, probe_allowed=True, probe=probe)
        assert asked == [[1, 2, 4]]
        assert (measured.threads, measured.source) == (1, "auto: measured") and measured.belongs_to_run
        assert torch.get_num_threads() == 1
        assert not _settings(2, "--threads").belongs_to_run
    finally:
        torch.set_num_threads(before)


def test_the_probe_times_a_twin_and_leaves_the_model_the_generators_and_the_threads_alone(toy_registry):
    from ganzoo.bench.session import EngineSession
    from ganzoo.engine.run import build_model

    session = EngineSession("toy", train_overrides={"batch_size": 16})
    try:
        threads = torch.get_num_threads()
        weights = {f"{n}.{k}": v.clone() for n, net in session.model.nets.items() for k, v in net.state_dict().items()}
        optimizer_state = {n: len(opt.state) for n, opt in session.model.optimizers.items()}
        before = rng.capture()
        built: list[object] = []

        def make_model():
            built.append(build_model(session.spec, session.run_config.model, training=True))
            return built[-1]

        choice = probe_threads(session.run_config, make_model, session.data, session.device, [1, 2], budget_s=0.0)
        assert len(built) == 1 and built[0] is not session.model
        assert choice.threads in (1, 2) and set(choice.medians) == {1, 2} and choice.steps >= MIN_STEPS
        assert all(m > 0 for m in choice.medians.values()) and choice.reason.startswith(AUTO_PREFIX)
        after = {f"{n}.{k}": v for n, net in session.model.nets.items() for k, v in net.state_dict().items()}
        assert weights.keys() == after.keys() and all(torch.equal(weights[k], after[k]) for k in weights)
        assert {n: len(opt.state) for n, opt in session.model.optimizers.items()} == optimizer_state
        assert torch.equal(rng.capture()["torch"], before["torch"]) and torch.get_num_threads() == threads
        assert session.trainer.step == 0  # the session's own trainer took no step
    finally:
        session.close()


@pytest.mark.slow
def test_a_fresh_run_measures_records_and_a_resume_keeps_its_count_bit_exactly(tmp_path: Path):
    env = {**CLEAN, "GANZOO_HOME": str(tmp_path / "home")}
    run = tmp_path / "run"
    first = run_cli("train", "dcgan", "--steps", "30", *TINY_DCGAN, "--out", str(run), env=env)
    assert first.returncode == 0, first.stderr
    config = yaml.safe_load((run / "config.yaml").read_text())
    host, chosen = config["host"], config["train"]["threads"]
    assert host["threads"] == chosen
    if host_threads() > 1:
        assert host["threads_source"].startswith(AUTO_PREFIX), host
        assert chosen in candidate_counts(host_threads())
        assert f"Using threads {chosen} ({AUTO_PREFIX}" in first.stderr
    else:  # nothing to choose between: the one CPU, recorded all the same
        assert (chosen, host["threads_source"]) == (1, HOST_SOURCE)
    resumed = run_cli("train", "dcgan", "--steps", "60", *TINY_DCGAN, "--out", str(run), env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Using threads {chosen} ({KEPT_SOURCE})" in resumed.stderr
    assert yaml.safe_load((run / "config.yaml").read_text())["host"]["threads_source"] == KEPT_SOURCE
    # The probe changes nothing but the count: a straight run told that count gives the same weights.
    straight = tmp_path / "straight"
    done = run_cli("train", "dcgan", "--steps", "60", *TINY_DCGAN, "--threads", str(chosen), "--out", str(straight),
                   env=env)
    assert done.returncode == 0, done.stderr
    report = compare_checkpoints(run / "checkpoints" / "last.safetensors", straight / "checkpoints" / "last.safetensors",
                                 ignore=("state.config",))
    assert report.compared > 10 and not report.differing, report.differing


def _timed_train(out: Path, extra: tuple[str, ...], env: dict[str, str]) -> tuple[float, dict]:
    full = {k: v for k, v in os.environ.items() if k not in CLEAN}
    full.update({k: v for k, v in env.items() if v})
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ganzoo", "train", "dcgan", "--steps", "400", "--out", str(out),
                           "--sample-every", "400", "--checkpoint-every", "400", *extra],
                          capture_output=True, text=True, env=full, timeout=1800)
    wall = time.perf_counter() - start
    assert done.returncode == 0, done.stderr
    return wall, yaml.safe_load((out / "config.yaml").read_text())["host"]


@pytest.mark.slow
def test_the_default_demo_beside_other_cpu_work_is_as_quick_as_one_thread(tmp_path: Path):
    """What a user with another job running sees: `ganzoo train dcgan` with nothing chosen, against one thread.

    Before the probe, the default (two threads that sleep while waiting) made this 3 to 4 times
    slower than `--threads 1` on a 2-core host (docs/benchmarks.md, "Threads and wait policy"). Where
    all the CPUs are faster even beside other work, the default measures that and is quicker still.
    """
    env = {**CLEAN, "GANZOO_HOME": str(tmp_path / "home")}
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        default, host = _timed_train(tmp_path / "default", (), env)
        one, _ = _timed_train(tmp_path / "one", ("--threads", "1"), env)
    finally:
        burner.kill()
        burner.wait()
    # The default pays for its probe (a few seconds of a run of about 20 s here).
    assert default <= 1.4 * one, (default, one, host["threads_source"])


def test_a_step_that_fails_in_the_probe_ends_it_and_leaves_the_failure_to_the_run(toy_registry):
    from ganzoo.bench.session import EngineSession
    from ganzoo.engine.run import build_model

    for explode_at, timed in ((2, False), (9, True)):  # before any step was timed, and after some were
        session = EngineSession("toy", overrides={"explode_at": explode_at}, train_overrides={"batch_size": 16})
        try:
            before = torch.get_num_threads()
            choice = probe_threads(session.run_config,
                                   lambda s=session: build_model(s.spec, s.run_config.model, training=True),
                                   session.data, session.device, [1, 2], budget_s=60.0)
            assert torch.get_num_threads() == before
            if timed:
                assert choice.reason.startswith(AUTO_PREFIX) and choice.threads in (1, 2) and choice.steps >= 2
            else:
                assert (choice.threads, choice.reason, choice.steps) == (2, HOST_SOURCE, 0)
        finally:
            session.close()


@pytest.mark.parametrize("signal_name, raised", [("SIGINT", KeyboardInterrupt), ("SIGTERM", SystemExit)])
def test_a_signal_while_probing_stops_the_start_like_one_during_any_other_set_up(toy_registry, signal_name, raised):
    import signal

    from ganzoo.bench.session import EngineSession
    from ganzoo.engine.run import build_model

    session = EngineSession("toy", train_overrides={"batch_size": 16})
    try:
        def make_model():
            twin = build_model(session.spec, session.run_config.model, training=True)
            step = twin.train_step

            def train_step(ctx):  # the user presses Ctrl-C (or the system stops us) during a probe step
                if ctx.step == 1:
                    os.kill(os.getpid(), getattr(signal, signal_name))
                return step(ctx)

            twin.train_step = train_step
            return twin

        with pytest.raises(raised) as caught:
            probe_threads(session.run_config, make_model, session.data, session.device, [1, 2], budget_s=60.0)
        if raised is SystemExit:
            assert caught.value.code == 128 + signal.SIGTERM
    finally:
        session.close()
