"""The per-seed default runs of the slow quality tests, checked against the mode coverage a card records.

    from ganzoo.testing.seeds import SEEDS, seed_runs, check_recorded_seed

    @pytest.mark.slow
    @pytest.mark.parametrize("seed", seed_runs("dcgan"))      # ganzoo train dcgan --seed S, S in SEEDS
    def test_default_run(seed, background_cli):
        coverage = judge_coverage(background_cli.run)
        problems = check_recorded_seed(RECORD, "dcgan", seed, coverage)
        assert not problems, problems

Issue 21 measures every digits demo with seeds 0, 1 and 2, and the model cards record each seed's class
shares (docs/models/coverage.json). The whole test suite runs seed 0 of each demo live: its default
run, which the quality checks need anyway. Seeds 1 and 2 carry the `seeds` marker too: the project's
pytest configuration deselects them by default (`-m "not seeds"`), and `pytest -m seeds` (the nox
session `seeds`) runs them alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ganzoo.testing.coverage import CoverageFigures

SEEDS = (0, 1, 2)
"""The seeds of every default demo that issue 21 measures and the model cards record."""
EVERY_RUN = 0
"""The seed the whole test suite runs live; the others are marked `seeds`."""


def seed_runs(model: str, *args: str, seeds: Iterable[int] = SEEDS, cpu_seconds: float = 0.0) -> list[Any]:
    """pytest parameters (`seed`, id `seedS`) of `ganzoo train MODEL ARGS --seed S` as background runs;
    every seed but `EVERY_RUN` also carries the `seeds` marker. `cpu_seconds` estimates one run's
    one-thread CPU time (the background runs start longest first)."""
    params = []
    for seed in seeds:
        marks = [pytest.mark.background_cli("train", model, *args, "--seed", str(seed), cpu_seconds=cpu_seconds)]
        if seed != EVERY_RUN:
            marks.append(pytest.mark.seeds)
        params.append(pytest.param(seed, marks=marks, id=f"seed{seed}"))
    return params


def recorded_seeds(record: Path, model: str) -> dict[str, dict[str, Any]]:
    """The per-seed entries `record` (docs/models/coverage.json) holds for `model` ({} when none)."""
    if not record.exists():
        return {}
    return json.loads(record.read_text(encoding="utf-8")).get(model, {}).get("seeds", {})


def check_recorded_seed(record: Path, model: str, seed: int, measured: CoverageFigures) -> list[str]:
    """What differs between a run's coverage and the figures `record` keeps for `model` and `seed`
    (`ganzoo.testing.coverage.check_against_record`); a seed without figures is itself a problem."""
    from ganzoo.testing.coverage import check_against_record

    entry = recorded_seeds(record, model).get(str(seed))
    if entry is None:
        return [f"{record.name} records no figures of {model} seed {seed}; measured: {measured.summary()}"]
    return check_against_record(measured, entry)
