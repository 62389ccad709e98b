"""The built-in demo: `ganzoo train stylegan2` with no options but the seed draws class-conditional 16x16
digits that beat the quality tests' noise baseline, every class at 4% or more, within 10 CPU minutes, and
its mode coverage by two classifiers is what the model card records per seed (seeds 1 and 2 also carry
the `seeds` marker: `pytest -m seeds`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganzoo.testing.background import BackgroundRun
from ganzoo.testing.coverage import judge_coverage
from ganzoo.testing.quality import judge_generator
from ganzoo.testing.seeds import check_recorded_seed, run_precision, seed_runs

BUDGET_SECONDS = 600  # the bound for the default run (10 CPU minutes) on the 2-core machine
# The run uses one thread: its CPU time is its wall time on one idle core (see ganzoo.testing.quality.timed_cli).
CARD_FIGURES = Path(__file__).resolve().parents[3] / "docs" / "models" / "coverage.json"


def check_default_run(background_cli: BackgroundRun, label: str) -> None:
    """The run's files and budget, its judge FD against the noise baseline, every class drawn, labels obeyed."""
    done, run = background_cli.done, background_cli.run
    assert done.returncode == 0, done.stderr
    assert any((run / "samples").glob("*.png")) and (run / "checkpoints" / "last.safetensors").exists()
    report = judge_generator(run)
    print(f"\nstylegan2 default run, {label}: {background_cli.timings(BUDGET_SECONDS)}; {report.summary()}")
    assert done.cpu <= background_cli.budget(BUDGET_SECONDS), background_cli.timings(BUDGET_SECONDS)
    assert report.fd < report.baseline
    assert report.fractions.min() >= 0.04
    assert report.mean_label_accuracy >= 0.8  # it draws the digit it is asked for


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("seed", seed_runs("stylegan2", cpu_seconds=350))
def test_default_run_beats_the_noise_baseline_and_covers_the_digits_its_card_records(
    seed: int, background_cli: BackgroundRun
) -> None:
    check_default_run(background_cli, f"seed {seed}, {run_precision(background_cli.run)}")
    coverage = judge_coverage(background_cli.run)  # labels drawn at random with the latents, as `ganzoo sample` does
    print(f"coverage of 1000 samples: {coverage.summary()}")
    problems = check_recorded_seed(CARD_FIGURES, "stylegan2", seed, coverage, run_precision(background_cli.run))
    assert not problems, problems

