"""stylegan2 through the command line: a tiny conditional run, then the sampling options StyleGAN users script."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.testing import run_cli

TINY_FLAGS = ["--image-size", "16", "--z-dim", "16", "--w-dim", "16", "--mapping-layers", "2", "--channel-base", "64",
              "--channel-max", "16", "--d-mapping-layers", "2", "--batch-size", "8", "--steps", "3",
              "--sample-every", "3", "--log-every", "1"]


@pytest.mark.slow  # several CLI processes
def test_train_then_sample_by_seed_class_truncation_and_walk(tmp_path: Path) -> None:
    env = {"OMP_NUM_THREADS": "1", "GANZOO_HOME": str(tmp_path / "home")}
    run = tmp_path / "run"
    done = run_cli("train", "stylegan2", "--out", str(run), *TINY_FLAGS, env=env)
    assert done.returncode == 0, done.stderr

    seeds = tmp_path / "seeds"
    done = run_cli("sample", str(run), "--seeds", "0-3", "--class", "7", "--truncation", "0.5", "--out", str(seeds),
                   env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in seeds.glob("*.png")) == [f"seed000{i}-class7.png" for i in range(4)]
    again = tmp_path / "again"
    done = run_cli("sample", str(run), "--seeds", "3", "--class", "7", "--truncation", "0.5", "--out", str(again),
                   env=env)
    assert done.returncode == 0, done.stderr
    assert np.array_equal(np.asarray(Image.open(seeds / "seed0003-class7.png")),
                          np.asarray(Image.open(again / "seed0003-class7.png")))

    walk = tmp_path / "walk.gif"
    done = run_cli("sample", str(run), "--interpolate", "4", "--n", "3", "--class", "2", "--out", str(walk), env=env)
    assert done.returncode == 0, done.stderr
    with Image.open(walk) as gif:
        assert gif.n_frames == 12 and gif.size == (16, 16)

    bad = run_cli("sample", str(run), "--class", "10", "--seeds", "0", "--out", str(tmp_path / "x"), env=env)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert [line for line in bad.stderr.splitlines() if line.startswith("Error:")] == [
        "Error: --class 10 is out of range: the model has 10 classes (0..9)"]
