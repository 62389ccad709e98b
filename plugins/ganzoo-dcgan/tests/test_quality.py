"""`ganzoo train dcgan` with no arguments: the default budget and what it draws (slow: minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganzoo.testing.quality import judge_generator, timed_cli

BUDGET_SECONDS = 300  # the bound for the default run on this 2-core CPU


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_default_run_beats_the_noise_baseline_without_missing_digits(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = timed_cli("train", "dcgan", "--out", str(run), env={"GANZOO_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert any((run / "samples").glob("*.png")) and (run / "checkpoints" / "last.safetensors").exists()
    report = judge_generator(run)
    print(f"\ndcgan default run: wall {done.wall:.0f} s, CPU {done.cpu:.0f} s (CPU/2 {done.cpu / 2:.0f} s); "
          + report.summary())
    # CPU time / 2 estimates the wall time on an idle 2-core machine (wall time depends on the load).
    assert done.cpu / 2 <= BUDGET_SECONDS
    assert report.fd < report.baseline
    assert report.fractions.min() >= 0.04
