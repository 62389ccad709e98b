"""`ganzoo train dcgan` with no arguments but the seed: the default budget, what it draws, and its mode
coverage by two classifiers as the model card records it per seed (slow: minutes per seed; seeds 1 and 2
also carry the `seeds` marker: `pytest -m seeds`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganzoo.testing.background import BackgroundRun
from ganzoo.testing.coverage import judge_coverage
from ganzoo.testing.quality import judge_generator
from ganzoo.testing.seeds import check_recorded_seed, run_precision, seed_runs

BUDGET_SECONDS = 300  # the bound for the default run on this 2-core CPU
# The run uses one thread: its CPU time is its wall time on one idle core, an upper bound for two cores
# that does not depend on how busy the shared machine is (see ganzoo.testing.quality.timed_cli). It runs
# in the background while other slow tests go on (ganzoo.testing.background).
CARD_FIGURES = Path(__file__).resolve().parents[3] / "docs" / "models" / "coverage.json"


def check_default_run(background_cli: BackgroundRun, label: str) -> None:
    """The run's files and budget, its judge FD against the noise baseline and no missing digit."""
    done, run = background_cli.done, background_cli.run
    assert done.returncode == 0, done.stderr
    assert any((run / "samples").glob("*.png")) and (run / "checkpoints" / "last.safetensors").exists()
    report = judge_generator(run)
    print(f"\ndcgan default run, {label}: {background_cli.timings(BUDGET_SECONDS)}; {report.summary()}")
    assert done.cpu <= background_cli.budget(BUDGET_SECONDS)
    assert report.fd < report.baseline
    assert report.fractions.min() >= 0.04


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("seed", seed_runs("dcgan", cpu_seconds=230))
def test_default_run_beats_the_noise_baseline_and_covers_the_digits_its_card_records(
    seed: int, background_cli: BackgroundRun
) -> None:
    check_default_run(background_cli, f"seed {seed}, {run_precision(background_cli.run)}")
    coverage = judge_coverage(background_cli.run)
    print(f"coverage of 1000 samples: {coverage.summary()}")
    problems = check_recorded_seed(CARD_FIGURES, "dcgan", seed, coverage, run_precision(background_cli.run))
    assert not problems, problems

