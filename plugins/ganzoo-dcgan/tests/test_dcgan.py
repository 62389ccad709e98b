"""DCGAN on the engine: conformance, the paper's defaults, sizes and losses, bit-exact resume, the CLI."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from ganzoo.nn import MinibatchStdDev
from ganzoo.testing import check_model_spec, check_resume, run_cli, smoke_train

TINY = {"g_width": 8, "d_width": 8, "image_size": 16}
QUIET = {"diagnostics_every": 0, "sample_every": 1000, "log_every": 1, "batch_size": 16}


def test_conformance() -> None:
    spec = check_model_spec("dcgan")
    assert spec.factory == "ganzoo_dcgan.model:build"
    assert spec.default_data == "digits" and spec.train_defaults["steps"] > 0


def test_defaults_are_the_papers() -> None:
    from ganzoo_dcgan.config import DCGANConfig
    from ganzoo_dcgan.model import build

    cfg = DCGANConfig(channels=3, image_size=64)
    assert (cfg.latent_dim, cfg.lr_g, cfg.lr_d, cfg.betas_g, cfg.betas_d, cfg.init_std, cfg.loss) == \
        (100, 2e-4, 2e-4, (0.5, 0.999), (0.5, 0.999), 0.02, "bce")
    assert (cfg.g_width, cfg.d_width, cfg.mbstd_group, cfg.r1_gamma) == (64, 64, 1, 0.0)
    model = build(cfg)
    assert not any(isinstance(m, MinibatchStdDev) for m in model.nets["D"].modules())
    for name in ("G", "D"):
        opt = model.optimizers[name]
        assert isinstance(opt, torch.optim.Adam)
        assert opt.defaults["lr"] == 2e-4 and opt.defaults["betas"] == (0.5, 0.999)
    assert model.loss.name == "bce" and model.default_d_steps == 1 and model.default_ema_decay is None
    images = model.generate(2, generator=torch.Generator().manual_seed(0))
    assert images.shape == (2, 3, 64, 64)


@pytest.mark.parametrize("size,channels", [(16, 1), (32, 3), (128, 3)])
def test_image_size_and_channels(size: int, channels: int) -> None:
    from ganzoo_dcgan.config import DCGANConfig
    from ganzoo_dcgan.model import build

    model = build(DCGANConfig(image_size=size, channels=channels, g_width=4, d_width=4))
    images = model.generate(3, generator=torch.Generator().manual_seed(1))
    assert images.shape == (3, channels, size, size)
    assert model.nets["D"](images).shape == (3,)


@pytest.mark.parametrize("loss", ["lsgan", "hinge"])
def test_loss_is_selectable(tmp_path: Path, loss: str) -> None:
    result = smoke_train("dcgan", tmp_path / loss, steps=3, overrides={**TINY, "loss": loss}, train_overrides=QUIET)
    assert result.steps == 3
    rows = [json.loads(line) for line in (tmp_path / loss / "metrics.jsonl").read_text().splitlines()]
    assert all(torch.isfinite(torch.tensor(r["loss_d"])) for r in rows if "loss_d" in r)
    config = (tmp_path / loss / "config.yaml").read_text()
    assert f"loss: {loss}" in config


def test_minibatch_stddev_option_reaches_the_discriminator_and_resumes_bit_exact(tmp_path: Path) -> None:
    from ganzoo_dcgan.config import DCGANConfig
    from ganzoo_dcgan.model import build

    D = build(DCGANConfig(image_size=16, channels=1, g_width=4, d_width=4, mbstd_group=4)).nets["D"]
    layers = [m for m in D.modules() if isinstance(m, MinibatchStdDev)]
    assert [m.group for m in layers] == [4]
    report = check_resume("dcgan", tmp_path, steps=6, split=3, overrides={**TINY, "mbstd_group": 4},
                          train_overrides=QUIET)
    assert report.exact and report.compared > 20
    assert "mbstd_group: 4" in (tmp_path / "resumed" / "config.yaml").read_text()
    saved = load_file(str(tmp_path / "resumed" / "checkpoints" / "last.safetensors"))
    assert saved["net/D/body.3.weight"].shape == (16, 8 + 1, 4, 4)  # the 8 x 8 map plus the spread channel


def test_r1_penalty_is_lazy_weighted_by_its_interval_and_is_the_squared_input_gradient() -> None:
    from ganzoo_dcgan.config import DCGANConfig
    from ganzoo_dcgan.model import build

    model = build(DCGANConfig(image_size=16, channels=1, g_width=4, d_width=4, r1_gamma=2.0, r1_interval=3))
    D = model.nets["D"]
    real = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    ctx = SimpleNamespace(step=0, penalty_precision=contextlib.nullcontext)
    applied = []
    for step in range(7):
        ctx.step = step
        penalty, logs = model.discriminator_penalty(ctx, real, real, None, None, None)
        if penalty is None:
            assert logs == {}
            continue
        applied.append(step)
        x = real.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x).sum(), x)
        expected = grad.pow(2).sum(dim=(1, 2, 3)).mean()
        torch.testing.assert_close(logs["r1"], expected)
        torch.testing.assert_close(penalty, 2.0 / 2 * 3 * expected)  # gamma / 2, times the interval
        assert penalty.requires_grad  # it trains the discriminator
        assert torch.autograd.grad(penalty, next(iter(D.parameters())))[0].abs().sum() > 0
    assert applied == [0, 3, 6]
    off = build(DCGANConfig(image_size=16, channels=1, g_width=4, d_width=4))
    assert off.discriminator_penalty(SimpleNamespace(step=0), real, real, None, None, None) == (None, {})


def test_r1_penalty_runs_a_compiled_discriminator_eagerly() -> None:
    from ganzoo_dcgan.config import DCGANConfig
    from ganzoo_dcgan.model import build

    model = build(DCGANConfig(image_size=16, channels=1, g_width=4, d_width=4, r1_gamma=1.0))
    real = torch.randn(4, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    ctx = SimpleNamespace(step=0, penalty_precision=contextlib.nullcontext)
    eager, _ = model.discriminator_penalty(ctx, real, real, None, None, None)
    # aot_eager: the same autograd machinery as inductor (no double backward), without a C++ build.
    model.nets["D"].compile(backend="aot_eager")
    compiled, _ = model.discriminator_penalty(ctx, real, real, None, None, None)
    compiled.backward()  # the penalty's own backward differentiates D's input gradient again
    torch.testing.assert_close(compiled, eager)


def test_bad_image_size_is_one_line(tmp_path: Path) -> None:
    got = run_cli("train", "dcgan", "--image-size", "48", "--steps", "1", "--out", str(tmp_path / "run"),
                  env={"GANZOO_HOME": str(tmp_path / "home")})
    assert got.returncode != 0 and "Traceback" not in got.stderr
    assert "48" in got.stderr and "16" in got.stderr


def test_resume_is_bit_exact_across_the_digits_demos_r1_steps(tmp_path: Path) -> None:
    report = check_resume("dcgan", tmp_path, steps=6, split=3, overrides=TINY, train_overrides=QUIET)
    assert report.exact and report.compared > 20
    assert "r1_gamma: 1.0" in (tmp_path / "resumed" / "config.yaml").read_text()  # the digits demo's value
    rows = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    logged = [r["step"] for r in rows if "r1" in r]
    assert logged == [1, 5] and all(r["r1"] > 0 for r in rows if "r1" in r)  # steps 0 and 4 (rows count done steps)


def test_cli_train_writes_the_run_folder_and_samples(tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {"GANZOO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    got = run_cli("train", "dcgan", "--steps", "4", "--g-width", "8", "--d-width", "8", "--batch-size", "16",
                  "--sample-every", "2", "--log-every", "2", "--diagnostics-every", "0", "--out", str(run), env=env)
    assert got.returncode == 0, got.stderr
    assert "4 steps" in got.stderr
    assert (run / "config.yaml").exists() and (run / "checkpoints" / "last.safetensors").exists()
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == ["step-000002.png", "step-000004.png"]
    grid = Image.open(run / "samples" / "step-000004.png")
    assert grid.size[0] > 8 * 32  # an 8 x 8 grid of 32 x 32 digits
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "loss_g" in r] == [2, 4]
    out = tmp_path / "sampled"
    got = run_cli("sample", str(run), "--n", "5", "--out", str(out), env=env)
    assert got.returncode == 0, got.stderr
    files = sorted(out.glob("*.png"))
    assert len(files) == 5 and Image.open(files[0]).size == (32, 32)


@pytest.mark.parametrize("augment", ["ada:p=0.3,kimg=0.1", "diffaugment:color,cutout"])
def test_cli_train_with_augment_logs_it(tmp_path: Path, augment: str) -> None:
    run = tmp_path / "run"
    env = {"GANZOO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    got = run_cli("train", "dcgan", "--augment", augment, "--subset", "64", "--steps", "8", "--g-width", "8",
                  "--d-width", "8", "--batch-size", "16", "--log-every", "2", "--diagnostics-every", "0",
                  "--out", str(run), env=env)
    assert got.returncode == 0, got.stderr
    assert f"augment: {augment}" in (run / "config.yaml").read_text()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    logged = [r.get("augment_p") for r in rows if "loss_g" in r]
    if augment.startswith("ada"):
        # p starts at 0.3 and moves by 16 * 4 / 100 = 0.64 per adjustment (every 4 D batches), within [0, 1].
        assert len(logged) == 4 and all(p is not None and 0 <= p <= 1 for p in logged)
        assert any(p != 0.3 for p in logged)
        assert all("augment_rt" in r for r in rows if "loss_g" in r and r["step"] >= 4)
    else:
        assert logged == [None] * 4


def test_cli_refuses_a_bad_augment_in_one_line(tmp_path: Path) -> None:
    got = run_cli("train", "dcgan", "--augment", "ada:bgcfnc", "--steps", "1", "--out", str(tmp_path / "run"),
                  env={"GANZOO_HOME": str(tmp_path / "home")})
    assert got.returncode != 0 and "Traceback" not in got.stderr
    assert got.stderr.count("Error:") == 1 and "ADA pipeline 'bgcfnc'" in got.stderr


def test_resume_is_bit_exact_in_bf16_channels_last(tmp_path: Path) -> None:
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume("dcgan", tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={**QUIET, "precision": "bf16"})
    assert report.exact
    assert "channels_last: true" in (tmp_path / "resumed" / "config.yaml").read_text()
