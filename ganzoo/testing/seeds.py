"""The per-seed default runs of the slow quality tests, checked against the mode coverage a card records.

    from ganzoo.testing.seeds import SEEDS, seed_runs, check_recorded_seed, run_precision

    @pytest.mark.slow
    @pytest.mark.parametrize("seed", seed_runs("dcgan"))   # ganzoo train dcgan --seed S
    def test_default_run(seed, background_cli):
        coverage = judge_coverage(background_cli.run)
        precision = run_precision(background_cli.run)      # what `auto` picked on this host
        problems = check_recorded_seed(RECORD, "dcgan", seed, coverage, precision)
        assert not problems, problems

Issue 21 measures every digits demo with seeds 0, 1 and 2, and the model cards record each seed's class
shares (docs/models/coverage.json). The whole test suite runs seed 0 of each demo live: its default
run, which the quality checks need anyway, in the arithmetic `--precision auto` picks on the host (bf16
where the host has bf16 units); the record holds figures per CPU kind and arithmetic. Seeds 1 and 2
carry the `seeds` marker too: the project's pytest configuration deselects them by default
(`-m "not seeds"`), and `pytest -m seeds` (the nox session `seeds`) runs them alone.
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
    """pytest parameters (`seed`, id `seedS`) of `ganzoo train MODEL ARGS --seed S` as background runs
    (the default run, with the arithmetic `--precision auto` picks on the host); every seed but `EVERY_RUN`
    also carries the `seeds` marker. `cpu_seconds` estimates one run's one-thread CPU time (the background
    runs start longest first)."""
    params = []
    for seed in seeds:
        marks = [pytest.mark.background_cli("train", model, *args, "--seed", str(seed), cpu_seconds=cpu_seconds)]
        if seed != EVERY_RUN:
            marks.append(pytest.mark.seeds)
        params.append(pytest.param(seed, marks=marks, id=f"seed{seed}"))
    return params


def run_precision(run: Path) -> str:
    """The arithmetic a finished run trained in (`host.precision` of its config.yaml: what `auto` resolved to)."""
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    return str(config["host"]["precision"])


def this_cpu() -> str:
    """The CPU kind a record is valid for: the matrix-arithmetic flags that decide which kernels (and so
    which rounding) a one-thread fp32 run uses, e.g. "avx2 fma"."""
    from ganzoo.bench.machine import matrix_flags

    return " ".join(matrix_flags())


def _kinds(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The main record of a model and its `other_cpus` entries: each one CPU kind and one arithmetic."""
    return [entry, *entry.get("other_cpus", [])]


def matching_kind(entry: dict[str, Any], cpu_flags: str, precision: str | None = None) -> dict[str, Any] | None:
    """The entry of `entry` (a model's record: its main record and `other_cpus`) measured on the CPU kind
    `cpu_flags` in `precision` (any arithmetic when None; fp32 where an entry names none); None when none is."""
    for kind in _kinds(entry):
        if kind.get("cpu_flags") == cpu_flags and precision in (None, kind.get("precision", "fp32")):
            return kind
    return None


def recorded_seeds(record: Path, model: str, cpu_flags: str | None = None,
                   precision: str | None = None) -> dict[str, dict[str, Any]]:
    """The per-seed entries `record` (docs/models/coverage.json) holds for `model`: the main record's, or
    with `cpu_flags` (and `precision`, fp32 when an entry names none) those measured on that CPU kind in
    that arithmetic (the main record or one of `other_cpus`); {} when none."""
    if not record.exists():
        return {}
    entry = json.loads(record.read_text(encoding="utf-8")).get(model, {})
    if cpu_flags is None or entry.get("cpu_flags") is None:  # a record without flags: any CPU
        return entry.get("seeds", {})
    kind = matching_kind(entry, cpu_flags, precision)
    return kind.get("seeds", {}) if kind else {}


def check_recorded_seed(record: Path, model: str, seed: int, measured: CoverageFigures,
                        precision: str = "fp32") -> list[str]:
    """What differs between a run's coverage and the figures `record` keeps for `model` and `seed` on this
    CPU kind in the run's arithmetic `precision` (`ganzoo.testing.coverage.check_against_record`); a seed
    without figures is itself a problem.

    A one-thread run repeats bit for bit on one kind of CPU, but another kind's vector units (or another
    arithmetic) can round differently and a GAN's training carries that into other samples, like another
    seed: for a CPU kind and arithmetic the record has no figures of, nothing is compared, and a warning
    says so."""
    import warnings

    from ganzoo.testing.coverage import check_against_record

    cpu = this_cpu()
    data = json.loads(record.read_text(encoding="utf-8")).get(model, {}) if record.exists() else {}
    kind = data if data.get("cpu_flags") is None else matching_kind(data, cpu, precision)  # no flags: any CPU
    if kind is None:
        warnings.warn(f"{record.name} has no {model} figures measured on this CPU kind ({cpu or 'flags unknown'}) "
                      f"in {precision}; not compared: {measured.summary()}", stacklevel=2)
        return []
    entry = kind.get("seeds", {}).get(str(seed))
    if entry is None:
        return [f"{record.name} records no figures of {model} seed {seed} on this CPU kind ({cpu}) in {precision}; "
                f"measured: {measured.summary()}"]
    return check_against_record(measured, entry)
