"""The built-in demo: `ganzoo train progan` with no options grows 4 -> 8 -> 16 -> 32 on digits, and its
32x32 digits pass the Fréchet distance bar (closer to the held-out half than noisy real digits)."""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path

import pytest

from ganzoo.engine.inference import load
from ganzoo.testing import smoke_train
from ganzoo.testing.quality import class_fractions, digits_classifier, frechet_to_heldout, noise_baseline


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.slow
@pytest.mark.timeout(3600)  # about 5 CPU minutes; far more wall time on a busy machine
def test_default_run_reaches_32px_with_recognisable_digits(tmp_path: Path) -> None:
    run = tmp_path / "run"
    wall, cpu = time.perf_counter(), _cpu_seconds()
    result = smoke_train("progan", run, steps=None)  # every option at its default for digits
    wall, cpu = time.perf_counter() - wall, _cpu_seconds() - cpu
    stages = sorted(p.name for p in (run / "samples").glob("stage-*.png"))
    assert stages == ["stage-16x16.png", "stage-32x32.png", "stage-4x4.png", "stage-8x8.png"]

    loaded = load(str(run))  # the EMA generator, at the resolution reached
    assert loaded.model.resolution == 32
    images = loaded.generate(1000, seed=1)
    assert images.shape == (1000, 1, 32, 32)
    clf = digits_classifier(32)
    fd = frechet_to_heldout(images, clf)
    bar = noise_baseline(clf, sigma=0.3)
    fractions = class_fractions(images, clf)
    record = {"steps": result.steps, "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "fd": round(fd, 2),
              "noise_bar": round(bar, 2), "min_class_fraction": round(float(fractions.min()), 3)}
    print("progan digits demo:", json.dumps(record))
    assert fd < bar, record
    assert fractions.min() > 0.02, record  # every digit appears
