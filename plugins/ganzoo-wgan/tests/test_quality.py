"""`ganzoo train wgan_gp` with no arguments: the default budget and what it draws (slow: minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganzoo.testing.background import BackgroundRun
from ganzoo.testing.coverage import check_against_record, judge_coverage
from ganzoo.testing.quality import NO_BF16_REASON, bf16_native, judge_generator

BUDGET_SECONDS = 300  # the bound for the default run on this 2-core CPU
# The run uses one thread: its CPU time is its wall time on one idle core, an upper bound for two cores
# that does not depend on how busy the shared machine is (see ganzoo.testing.quality.timed_cli). It runs
# in the background while other slow tests go on (ganzoo.testing.background).
CARD_FIGURES = Path(__file__).resolve().parents[3] / "docs" / "models" / "coverage.json"


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.background_cli("train", "wgan_gp")
def test_wgan_gp_default_run_beats_the_noise_baseline_without_missing_digits(
    background_cli: BackgroundRun, check_record: bool = True
) -> None:
    done, run = background_cli.done, background_cli.run
    assert done.returncode == 0, done.stderr
    report = judge_generator(run)
    coverage = judge_coverage(run)
    print(f"\nwgan_gp default run: {background_cli.timings(BUDGET_SECONDS)}; {report.summary()}; "
          f"coverage of 1000 samples: {coverage.summary()}")
    assert done.cpu <= background_cli.budget(BUDGET_SECONDS)
    assert report.fd < report.baseline
    assert report.fractions.min() >= 0.04
    record = json.loads(CARD_FIGURES.read_text(encoding="utf-8")).get("wgan_gp", {}).get("seeds", {}).get("0")
    if record is not None and check_record:  # the card's figures of seed 0 (docs/models/coverage.json), once measured
        problems = check_against_record(coverage, record)
        assert not problems, problems


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.skipif(not bf16_native(), reason=NO_BF16_REASON)
@pytest.mark.background_cli("train", "wgan_gp", "--precision", "bf16")
def test_wgan_gp_default_run_beats_the_noise_baseline_without_missing_digits_in_bf16(background_cli: BackgroundRun) -> None:
    """The same default run and checks under bf16 autocast (what `--precision auto` picks on such a host)."""
    test_wgan_gp_default_run_beats_the_noise_baseline_without_missing_digits(background_cli, check_record=False)
