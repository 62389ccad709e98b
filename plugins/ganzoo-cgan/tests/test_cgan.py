"""Conditional GAN on the engine: conformance, both conditionings, one grid row per class, resume, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganzoo.errors import ConfigError
from ganzoo.testing import check_model_spec, check_resume, run_cli, smoke_train

TINY = {"g_width": 8, "d_width": 8, "image_size": 16, "embed_dim": 4}
QUIET = {"diagnostics_every": 0, "sample_every": 1000, "log_every": 1, "batch_size": 16}


def test_conformance() -> None:
    spec = check_model_spec("cgan")
    assert spec.task == "conditional" and spec.factory == "ganzoo_cgan.model:build"
    check_model_spec("cgan", overrides={"conditioning": "projection"})


def test_needs_the_number_of_classes() -> None:
    from ganzoo_cgan.config import CGANConfig
    from ganzoo_cgan.model import build

    with pytest.raises(ConfigError, match="number of classes"):
        build(CGANConfig())


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_both_networks_depend_on_the_label(conditioning: str) -> None:
    from ganzoo_cgan.config import CGANConfig
    from ganzoo_cgan.model import build

    torch.manual_seed(0)
    model = build(CGANConfig(num_classes=10, channels=1, conditioning=conditioning, **TINY)).eval()
    assert model.num_classes == 10 and model.loss.name == "bce"
    z = torch.randn(4, model.latent_dim)
    G, D = model.nets["G"], model.nets["D"]
    with torch.no_grad():
        a = G(z, torch.tensor([0, 0, 0, 0]))
        b = G(z, torch.tensor([1, 1, 1, 1]))
        assert a.shape == (4, 1, 16, 16) and not torch.allclose(a, b)
        # Projection discriminators start with small embeddings; give them a visible one.
        if conditioning == "projection":
            D.embed.weight.normal_(0, 1)
        assert not torch.allclose(D(a, torch.tensor([0, 0, 0, 0])), D(a, torch.tensor([3, 3, 3, 3])))
        images = model.generate(6, generator=torch.Generator().manual_seed(0), labels=torch.full((6,), 7))
    assert images.shape == (6, 1, 16, 16)


def test_grid_has_one_row_per_class(tmp_path: Path) -> None:
    smoke_train("cgan", tmp_path / "run", steps=2, overrides=TINY, train_overrides={**QUIET, "sample_every": 2})
    grid = Image.open(tmp_path / "run" / "samples" / "step-000002.png")
    width, height = grid.size
    # 64 preview images over 10 classes: 6 per class, one class per row (10 rows of 6 tiles).
    assert width * 10 == pytest.approx(height * 6, rel=0.05)


@pytest.mark.parametrize("conditioning", ["concat", "projection"])
def test_resume_is_bit_exact(tmp_path: Path, conditioning: str) -> None:
    report = check_resume("cgan", tmp_path, steps=6, split=3, overrides={**TINY, "conditioning": conditioning},
                          train_overrides=QUIET)
    assert report.exact


@pytest.mark.slow  # several CLI runs: over 10 s on an idle 2-core machine
def test_cli_train_and_sample_a_label(tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {"GANZOO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    got = run_cli("train", "cgan", "--steps", "3", "--g-width", "8", "--d-width", "8", "--batch-size", "16",
                  "--conditioning", "projection", "--diagnostics-every", "0", "--out", str(run), env=env)
    assert got.returncode == 0, got.stderr
    assert (run / "checkpoints" / "last.safetensors").exists() and list((run / "samples").glob("*.png"))
    assert "num_classes: 10" in (run / "config.yaml").read_text()  # filled from the data set
    out = tmp_path / "sevens"
    got = run_cli("sample", str(run), "--n", "3", "--label", "7", "--out", str(out), env=env)
    assert got.returncode == 0, got.stderr
    files = sorted(out.glob("*.png"))
    assert len(files) == 3 and all("label7" in f.name for f in files)
    got = run_cli("sample", str(run), "--n", "3", "--label", "10", "--out", str(tmp_path / "bad"), env=env)
    assert got.returncode != 0 and "out of range" in got.stderr and "Traceback" not in got.stderr


def test_augmentation_applies_to_the_conditional_gan_too(tmp_path: Path) -> None:
    report = check_resume("cgan", tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={**QUIET, "augment": "ada:p=0.5,kimg=0.1"})
    assert report.exact
    rows = [json.loads(line) for line in (tmp_path / "resumed/metrics.jsonl").read_text().splitlines()]
    assert all("augment_p" in r for r in rows if "loss_g" in r)


def test_resume_is_bit_exact_in_bf16_channels_last(tmp_path: Path) -> None:
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume("cgan", tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={**QUIET, "precision": "bf16"})
    assert report.exact
