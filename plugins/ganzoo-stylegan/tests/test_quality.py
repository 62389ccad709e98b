"""The built-in demo: `ganzoo train stylegan2` with no options draws class-conditional 16x16 digits that beat the
quality tests' noise baseline, every class at 4% or more, within 10 CPU minutes."""

from __future__ import annotations

import pytest

from ganzoo.testing.background import BackgroundRun
from ganzoo.testing.quality import judge_generator

BUDGET_SECONDS = 600  # the bound for the default run (10 CPU minutes) on the 2-core machine
# The run uses one thread: its CPU time is its wall time on one idle core (see ganzoo.testing.quality.timed_cli).


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.background_cli("train", "stylegan2")
def test_default_run_beats_the_noise_baseline_with_every_digit(background_cli: BackgroundRun) -> None:
    done, run = background_cli.done, background_cli.run
    assert done.returncode == 0, done.stderr
    assert any((run / "samples").glob("*.png")) and (run / "checkpoints" / "last.safetensors").exists()
    report = judge_generator(run)
    print(f"\nstylegan2 default run: {background_cli.timings(BUDGET_SECONDS)}; {report.summary()}")
    assert done.cpu <= background_cli.budget(BUDGET_SECONDS), background_cli.timings(BUDGET_SECONDS)
    assert report.fd < report.baseline
    assert report.fractions.min() >= 0.04
    assert report.mean_label_accuracy >= 0.8  # it draws the digit it is asked for
