"""WGAN and WGAN-GP on the engine: the papers' defaults, clipping, penalty, n_critic, resume, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.testing import check_model_spec, check_resume, run_cli, smoke_train

TINY = {"g_width": 8, "d_width": 8, "image_size": 16}
QUIET = {"diagnostics_every": 0, "sample_every": 1000, "log_every": 1, "batch_size": 16}


def rows(run: Path) -> list[dict]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "loss_d" in r]


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_conformance(name: str) -> None:
    spec = check_model_spec(name)
    assert spec.train_defaults["d_steps"] == 5


def test_wgan_defaults_are_the_papers() -> None:
    from ganzoo_wgan.config import WGANConfig
    from ganzoo_wgan.model import build_wgan

    model = build_wgan(WGANConfig(channels=1))
    for name in ("G", "D"):
        opt = model.optimizers[name]
        assert isinstance(opt, torch.optim.RMSprop) and opt.defaults["lr"] == 5e-5
    assert model.config.clip == 0.01 and model.default_d_steps == 5 and model.loss.name == "wasserstein"
    # The critic starts inside the clipping box (its batch-norm scales included, as in the reference code).
    assert max(float(p.detach().abs().max()) for p in model.nets["D"].parameters()) <= 0.01


def test_wgan_gp_defaults_are_the_papers() -> None:
    from ganzoo_wgan.config import WGANGPConfig
    from ganzoo_wgan.model import build_wgan_gp

    model = build_wgan_gp(WGANGPConfig(channels=1))
    for name in ("G", "D"):
        opt = model.optimizers[name]
        assert isinstance(opt, torch.optim.Adam) and opt.defaults["lr"] == 1e-4 and opt.defaults["betas"] == (0.0, 0.9)
    assert model.config.gp_weight == 10.0 and model.default_d_steps == 5
    assert not [m for m in model.nets["D"].modules() if isinstance(m, nn.BatchNorm2d)]
    assert [m for m in model.nets["G"].modules() if isinstance(m, nn.BatchNorm2d)]
    layer = build_wgan_gp(WGANGPConfig(channels=1, critic_norm="layer"))
    assert [m for m in layer.nets["D"].modules() if isinstance(m, nn.GroupNorm)]


def test_wgan_clips_and_takes_five_critic_steps(tmp_path: Path) -> None:
    run = tmp_path / "run"
    smoke_train("wgan", run, steps=3, overrides=TINY, train_overrides=QUIET)
    ck = load_checkpoint(run / "checkpoints" / "last.safetensors")
    critic = ck.nets["D"]
    assert max(float(t.abs().max()) for k, t in critic.items() if t.is_floating_point() and "running" not in k) <= 0.01
    assert any(float(t.abs().max()) == pytest.approx(0.01) for t in critic.values() if t.is_floating_point())
    assert ck.state["images_seen"] == 3 * 5 * 16  # five real batches per generator update
    log = rows(run)
    assert len(log) == 3 and all("wasserstein" in r for r in log)
    # The logged estimate is the critic's mean score on real minus on fake.
    assert all(r["wasserstein"] == pytest.approx(r["d_real"] - r["d_fake"], abs=1e-5) for r in log)


def test_wgan_gp_logs_the_penalty(tmp_path: Path) -> None:
    run = tmp_path / "run"
    smoke_train("wgan_gp", run, steps=3, overrides=TINY, train_overrides=QUIET)
    log = rows(run)
    assert all(r["gp"] >= 0 and "wasserstein" in r for r in log)
    # loss_d = critic loss + 10 * penalty, with critic loss = E[D(fake)] - E[D(real)] = -wasserstein.
    assert all(r["loss_d"] == pytest.approx(-r["wasserstein"] + 10 * r["gp"], rel=1e-4, abs=1e-5) for r in log)


def test_gradient_penalty_follows_precision(tmp_path: Path) -> None:
    result = smoke_train("wgan_gp", tmp_path / "bf16", steps=2, overrides=TINY,
                         train_overrides={**QUIET, "precision": "bf16"})
    assert result.steps == 2 and all(torch.isfinite(torch.tensor(v)) for v in result.final_logs.values())


def test_the_critics_minibatch_stddev_scores_each_image_with_its_group_and_resumes_exactly(tmp_path: Path) -> None:
    from ganzoo_wgan.config import WGANGPConfig
    from ganzoo_wgan.model import build_wgan_gp

    from ganzoo.nn import MinibatchStdDev

    critic = build_wgan_gp(WGANGPConfig(channels=1, **TINY, mbstd_group=4)).nets["D"]
    assert [m.group for m in critic.modules() if isinstance(m, MinibatchStdDev)] == [4]
    x = torch.randn(8, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    y = x.clone()
    y[2] += 1.0  # image 2 shares its group with image 0 (groups interleave: 0, 2, 4, 6 and 1, 3, 5, 7)
    with torch.no_grad():
        a, b = critic(x).flatten(), critic(y).flatten()
    assert a[0] != b[0] and torch.equal(a[1::2], b[1::2])
    report = check_resume("wgan_gp", tmp_path, steps=4, split=2, overrides={**TINY, "mbstd_group": 4},
                          train_overrides=QUIET)
    assert report.exact


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_resume_is_bit_exact(tmp_path: Path, name: str) -> None:
    report = check_resume(name, tmp_path, steps=4, split=2, overrides=TINY, train_overrides=QUIET)
    assert report.exact


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_cli_train_writes_the_run_folder(tmp_path: Path, name: str) -> None:
    run = tmp_path / "run"
    env = {"GANZOO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    got = run_cli("train", name, "--steps", "2", "--g-width", "8", "--d-width", "8", "--batch-size", "16",
                  "--log-every", "1", "--diagnostics-every", "0", "--out", str(run), env=env)
    assert got.returncode == 0, got.stderr
    assert (run / "checkpoints" / "last.safetensors").exists() and list((run / "samples").glob("*.png"))
    # Five critic updates on digits for wgan; wgan_gp's digits demo takes one at a three times larger rate.
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["train"]["d_steps"] == (5 if name == "wgan" else 1)
    assert [r["step"] for r in rows(run)] == [1, 2]
    assert load_checkpoint(run / "checkpoints" / "last.safetensors").state["images_seen"] == \
        2 * config["train"]["d_steps"] * 16


@pytest.mark.parametrize("data, d_steps, lr_d, steps, batch", [("digits", 1, 3e-4, 8000, 64),
                                                               ("photos", 5, 1e-4, 2000, 32)])
def test_wgan_gp_demo_departs_from_the_paper_only_on_digits(
    data: str, d_steps: int, lr_d: float, steps: int, batch: int
) -> None:
    from ganzoo.run_config import resolve

    config = resolve(check_model_spec("wgan_gp"), train_flags={"data": data})
    assert (config.train.d_steps, config.model.lr_d, config.train.steps) == (d_steps, lr_d, steps)
    assert config.train.batch_size == batch and config.model.mbstd_group == 1
    assert config.model.lr_g == 1e-4 and config.model.gp_weight == 10.0 and config.model.betas_d == (0.0, 0.9)


@pytest.mark.parametrize("name, augment", [("wgan_gp", "ada:p=0.5,kimg=0.1"), ("wgan_gp", "diffaugment"),
                                           ("wgan", "ada:p=0.5,kimg=0.1")])
def test_augmentation_trains_and_resumes_exactly(tmp_path: Path, name: str, augment: str) -> None:
    report = check_resume(name, tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={**QUIET, "augment": augment})
    assert report.exact
    logged = rows(tmp_path / "resumed")
    assert all(torch.isfinite(torch.tensor(r["loss_d"])) for r in logged)
    if augment.startswith("ada"):
        # Five critic batches a step, an adjustment every four: r_t (read at the midpoint of the critic's
        # real and fake means, as a critic has no zero) is logged, and p has moved from its start.
        rts = [r["augment_rt"] for r in logged if "augment_rt" in r]
        assert rts and all(-1 <= rt <= 1 for rt in rts)
        assert logged[-1]["augment_p"] != 0.5


@pytest.mark.parametrize("name", ["wgan", "wgan_gp"])
def test_resume_is_bit_exact_in_bf16_channels_last(tmp_path: Path, name: str) -> None:
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume(name, tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={**QUIET, "precision": "bf16"})
    assert report.exact
