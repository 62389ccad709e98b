"""The per-seed default runs of the slow quality tests, checked against the mode coverage a card records.

    from ganzoo.testing.seeds import SEEDS, seed_runs, check_recorded_seed

    @pytest.mark.slow
    @pytest.mark.parametrize("seed", seed_runs("dcgan"))   # ganzoo train dcgan --precision fp32 --seed S
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

RECORD_PRECISION = "fp32"
"""The arithmetic of the recorded runs and of the per-seed tests: `--precision auto` picks bf16 on a host
with bf16 units, and a record can only be compared with a run of the same arithmetic (the bf16 path has
its own quality tests, `--precision bf16`, on such hosts)."""
SEEDS = (0, 1, 2)
"""The seeds of every default demo that issue 21 measures and the model cards record."""
EVERY_RUN = 0
"""The seed the whole test suite runs live; the others are marked `seeds`."""


def seed_runs(model: str, *args: str, seeds: Iterable[int] = SEEDS, cpu_seconds: float = 0.0) -> list[Any]:
    """pytest parameters (`seed`, id `seedS`) of `ganzoo train MODEL ARGS --precision fp32 --seed S` as
    background runs (`RECORD_PRECISION` unless ARGS name a precision); every seed but `EVERY_RUN` also
    carries the `seeds` marker. `cpu_seconds` estimates one run's one-thread CPU time (the background
    runs start longest first)."""
    if "--precision" not in args:
        args = (*args, "--precision", RECORD_PRECISION)
    params = []
    for seed in seeds:
        marks = [pytest.mark.background_cli("train", model, *args, "--seed", str(seed), cpu_seconds=cpu_seconds)]
        if seed != EVERY_RUN:
            marks.append(pytest.mark.seeds)
        params.append(pytest.param(seed, marks=marks, id=f"seed{seed}"))
    return params


def this_cpu() -> str:
    """The CPU kind a record is valid for: the matrix-arithmetic flags that decide which kernels (and so
    which rounding) a one-thread fp32 run uses, e.g. "avx2 fma"."""
    from ganzoo.bench.machine import matrix_flags

    return " ".join(matrix_flags())


def recorded_seeds(record: Path, model: str, cpu_flags: str | None = None) -> dict[str, dict[str, Any]]:
    """The per-seed entries `record` (docs/models/coverage.json) holds for `model`: the main record's, or
    with `cpu_flags` those measured on that CPU kind (the main record or one of `other_cpus`); {} when none."""
    if not record.exists():
        return {}
    entry = json.loads(record.read_text(encoding="utf-8")).get(model, {})
    if cpu_flags is None or entry.get("cpu_flags") in (None, cpu_flags):  # a record without flags: any CPU
        return entry.get("seeds", {})
    for other in entry.get("other_cpus", []):
        if other.get("cpu_flags") == cpu_flags:
            return other.get("seeds", {})
    return {}


def check_recorded_seed(record: Path, model: str, seed: int, measured: CoverageFigures) -> list[str]:
    """What differs between a run's coverage and the figures `record` keeps for `model` and `seed` on this
    CPU kind (`ganzoo.testing.coverage.check_against_record`); a seed without figures is itself a problem.

    A one-thread fp32 run repeats bit for bit on one kind of CPU, but another kind's vector units round
    differently and a GAN's training carries that into other samples, like another seed: on a CPU kind
    the record has no figures for, nothing is compared, and a warning says so."""
    import warnings

    from ganzoo.testing.coverage import check_against_record

    cpu = this_cpu()
    data = json.loads(record.read_text(encoding="utf-8")).get(model, {}) if record.exists() else {}
    kinds = [data.get("cpu_flags")] + [o.get("cpu_flags") for o in data.get("other_cpus", [])]
    if data.get("cpu_flags") is not None and cpu not in kinds:
        warnings.warn(f"{record.name} has no {model} figures measured on this CPU kind ({cpu or 'flags unknown'}); "
                      f"not compared: {measured.summary()}", stacklevel=2)
        return []
    entry = recorded_seeds(record, model, cpu).get(str(seed))
    if entry is None:
        return [f"{record.name} records no figures of {model} seed {seed} on this CPU kind ({cpu}); "
                f"measured: {measured.summary()}"]
    return check_against_record(measured, entry)
