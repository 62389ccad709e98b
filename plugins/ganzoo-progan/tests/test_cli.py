"""ProGAN through the command line, as a user runs it: train a tiny schedule, then sample from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from ganzoo.testing import run_cli

TINY_FLAGS = ["--image-size", "16", "--latent-dim", "8", "--fmap-base", "32", "--fmap-max", "8",
              "--fade-images", "32", "--stable-images", "32", "--batch-sizes", "16,8",
              "--diagnostics-every", "0", "--sample-every", "2", "--log-every", "1", "--device", "cpu"]


@pytest.mark.slow  # several CLI runs: over 10 s on an idle 2-core machine
def test_train_then_sample_at_the_reached_and_a_lower_resolution(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = run_cli("train", "progan", "--out", str(run), *TINY_FLAGS, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    # 4x4: 32 images in batches of 16 (2 steps); 8x8 and 16x16: 64 images each in batches of 8 (8 steps).
    assert "18 steps" in result.stderr
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert sorted({r["resolution"] for r in rows if "resolution" in r}) == [4.0, 8.0, 16.0]
    assert sorted(p.name for p in (run / "samples").glob("stage-*.png")) == \
        ["stage-16x16.png", "stage-4x4.png", "stage-8x8.png"]

    out = tmp_path / "native"
    result = run_cli("sample", str(run), "--n", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    files = sorted(out.glob("*.png"))
    assert len(files) == 3 and all(Image.open(f).size == (16, 16) for f in files)

    small = tmp_path / "small"
    result = run_cli("sample", str(run / "checkpoints" / "last.safetensors"), "--n", "2", "--size", "8",
                     "--out", str(small))
    assert result.returncode == 0, result.stderr
    assert [Image.open(f).size for f in sorted(small.glob("*.png"))] == [(8, 8), (8, 8)]


def test_a_bad_schedule_is_one_line(tmp_path: Path) -> None:
    result = run_cli("train", "progan", "--out", str(tmp_path / "bad"), *TINY_FLAGS[:-2], "--widths", "8,8",
                     "--steps", "1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "widths" in error[0]
