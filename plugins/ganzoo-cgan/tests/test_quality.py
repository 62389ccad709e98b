"""`ganzoo train cgan` with no arguments: the default budget and whether it draws the digit asked for."""

from __future__ import annotations

import pytest

from ganzoo.testing.background import BackgroundRun
from ganzoo.testing.quality import judge_generator

BUDGET_SECONDS = 300  # the bound for the default run on this 2-core CPU
# The run uses one thread: its CPU time is its wall time on one idle core, an upper bound for two cores
# that does not depend on how busy the shared machine is (see ganzoo.testing.quality.timed_cli). It runs
# in the background while other slow tests go on (ganzoo.testing.background).


@pytest.mark.slow
@pytest.mark.timeout(3600)
# `--precision auto`: bf16 on a host with bf16 units (its own bf16 check there), fp32 elsewhere.
@pytest.mark.background_cli("train", "cgan", cpu_seconds=150)
def test_default_run_draws_the_label_it_is_given(background_cli: BackgroundRun) -> None:
    done, run = background_cli.done, background_cli.run
    assert done.returncode == 0, done.stderr
    report = judge_generator(run, per_label=200)
    print(f"\ncgan default run: {background_cli.timings(BUDGET_SECONDS)}; {report.summary()}")
    assert done.cpu <= background_cli.budget(BUDGET_SECONDS)
    assert len(report.label_accuracy) == 10
    assert report.mean_label_accuracy >= 0.90
