"""ProGAN on the engine: conformance, growth through the schedule, bit-exact resume, sampling."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from ganzoo.engine.checkpoint import load_checkpoint, read_header
from ganzoo.engine.inference import load
from ganzoo.errors import CheckpointError
from ganzoo.testing import check_model_spec, check_resume, smoke_train

# 16x16 in three stages: 4x4 for 4 steps of 16, then fade-in and stable at 8x8 and 16x16 in steps of 8.
TINY = {"image_size": 16, "latent_dim": 8, "fmap_base": 32, "fmap_max": 8, "fade_images": (64,), "stable_images": (64,),
        "batch_sizes": (16, 8)}
QUIET = {"diagnostics_every": 0, "sample_every": 1000, "log_every": 1}


def metrics(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if "loss_d" in r]


def test_conformance() -> None:
    spec = check_model_spec("progan")
    assert spec.converters == {"pgan-pytorch-gan-zoo": "ganzoo_progan.convert:convert"}
    assert "digits" in spec.data_defaults


def test_default_config_is_the_papers() -> None:
    from ganzoo_progan.config import ProGANConfig
    from ganzoo_progan.model import ProGAN, build

    cfg = ProGANConfig(channels=3, image_size=64)
    assert (cfg.latent_dim, cfg.fade_images, cfg.stable_images, cfg.lr, cfg.betas) == (512, (800_000,), (800_000,), 1e-3, (0.0, 0.99))
    assert (cfg.gp_weight, cfg.drift, cfg.mbstd_group, ProGAN.default_ema_decay) == (10.0, 0.001, 4, 0.999)
    model = build(cfg)
    assert model.generator.widths == [512, 512, 512, 512, 256]
    assert model.optimizers["G"].defaults["betas"] == (0.0, 0.99) and model.optimizers["D"].defaults["lr"] == 1e-3
    assert model.loss.name == "wasserstein"
    assert model.total_steps_hint(100) == 800_000 // 16 + 4 * 1_600_000 // 16


def test_two_time_scale_learning_rates_and_betas(tmp_path: Path) -> None:
    from ganzoo_progan.config import ProGANConfig
    from ganzoo_progan.model import build

    model = build(ProGANConfig(channels=1, lr_d=4e-3, betas_d=(0.5, 0.9), **TINY))
    assert model.optimizers["G"].defaults["lr"] == 1e-3 and model.optimizers["G"].defaults["betas"] == (0.0, 0.99)
    assert model.optimizers["D"].defaults["lr"] == 4e-3 and model.optimizers["D"].defaults["betas"] == (0.5, 0.9)
    smoke_train("progan", tmp_path / "run", steps=2, overrides={**TINY, "lr_d": 4e-3}, train_overrides=QUIET)
    assert metrics(tmp_path / "run")[-1]["lr"] == {"G": 1e-3, "D": 4e-3}  # both logged, each its own


def test_growth_through_the_schedule(tmp_path: Path) -> None:
    result = smoke_train("progan", tmp_path / "run", steps=None, overrides=TINY,
                         train_overrides={**QUIET, "sample_every": 4})
    assert result.steps == 4 + 16 + 16
    rows = metrics(tmp_path / "run")
    by_step = {r["step"]: r for r in rows}
    assert [by_step[s]["resolution"] for s in (1, 4, 5, 20, 21, 36)] == [4, 4, 8, 8, 16, 16]
    # alpha rises by 8 / 64 per step of 8 images through each fade-in, then stays at 1.
    assert [by_step[s]["alpha"] for s in (5, 6, 12, 13, 20)] == pytest.approx([0.0, 0.125, 0.875, 1.0, 1.0])
    assert [by_step[s]["alpha"] for s in (21, 24, 29)] == pytest.approx([0.0, 0.375, 1.0])
    samples = tmp_path / "run" / "samples"
    assert {p.name for p in samples.glob("stage-*.png")} == {"stage-4x4.png", "stage-8x8.png", "stage-16x16.png"}
    ck = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert ck.state["images_seen"] == 64 + 256
    assert ck.state["extra"]["stage"] == 2 and ck.state["extra"]["resolution"] == 16
    assert ck.state["stream"]["batch_size"] == 8
    assert read_header(tmp_path / "run" / "checkpoints" / "last.safetensors")["notes"]["resolution"] == 16
    assert int(ck.ema["G"]["stage"]) == 2  # the EMA copy follows growth


def test_grids_show_the_current_resolution_enlarged(tmp_path: Path) -> None:
    from PIL import Image

    smoke_train("progan", tmp_path / "run", steps=6, overrides=TINY, train_overrides={**QUIET, "sample_every": 3})
    step3 = Image.open(tmp_path / "run" / "samples" / "step-000003.png")
    step6 = Image.open(tmp_path / "run" / "samples" / "step-000006.png")
    assert step3.size == step6.size  # both grids at the final 16x16 size
    tile = torch.from_numpy(np.array(step3)).float()
    scale = step3.size[0] // (8 * 18 + 2)  # 8 tiles of 16 + 2 px padding per row, then enlarged
    first = tile[2 * scale:(2 + 16) * scale:scale, 2 * scale:(2 + 16) * scale:scale]
    # At 4x4 each generated pixel covers a 4x4 block of the 16x16 tile.
    assert torch.equal(first, first[::4, ::4].repeat_interleave(4, 0).repeat_interleave(4, 1))


def test_resume_in_the_middle_of_a_fade_in(tmp_path: Path) -> None:
    # Step 8 of 14 is half-way through the 8x8 fade-in (steps 5..12).
    report = check_resume("progan", tmp_path, steps=14, split=8, overrides=TINY, train_overrides=QUIET)
    assert report.exact and report.compared > 40
    ck = load_checkpoint(tmp_path / "resumed" / "checkpoints" / "last.safetensors")
    assert ck.state["extra"]["stage"] == 1 and ck.state["extra"]["phase"] == 2


def test_resume_across_a_stage_boundary_with_a_batch_size_change(tmp_path: Path) -> None:
    # The split falls at the end of 4x4 (batches of 16): the next step starts 8x8 with batches of 8
    # and fresh Adam moments; two discriminator steps per step exercise several batches per step.
    check_resume("progan", tmp_path, steps=9, split=2, overrides=TINY,
                 train_overrides={**QUIET, "d_steps": 2})
    check_resume("progan", tmp_path / "b", steps=8, split=4, overrides=TINY, train_overrides=QUIET)
    split = load_checkpoint(tmp_path / "b" / "straight" / "checkpoints" / "last.safetensors")
    assert split.state["stream"]["batch_size"] == 8


def test_optimizer_moments_reset_when_a_fade_in_starts_and_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    from ganzoo_progan.config import ProGANConfig
    from ganzoo_progan.model import build

    from ganzoo.engine import GANModel

    model = build(ProGANConfig(**{**TINY, "channels": 1}))
    calls: list[int] = []
    monkeypatch.setattr(GANModel, "train_step", lambda self, ctx: calls.append(ctx.images_seen) or {})

    class Ctx:  # the smallest stand-in for the Trainer's StepContext
        images_seen = 0
        batch = 0

        def set_batch_size(self, n: int) -> None:
            self.batch = n

    ctx = Ctx()
    state = model.optimizers["G"].state
    for seen, kept, batch, stage in [(0, True, 16, 0), (32, True, 16, 0), (64, False, 8, 1), (96, True, 8, 1),
                                     (128, False, 8, 1), (136, True, 8, 1)]:
        state[model.generator.input.weight]["exp_avg"] = torch.ones(1)
        ctx.images_seen = seen
        model.train_step(ctx)
        assert (len(state) == 1) == kept and ctx.batch == batch and model.stage == stage, seen
    assert calls == [0, 32, 64, 96, 128, 136]


def test_real_batches_are_box_filtered_and_blended_during_fade_in() -> None:
    from ganzoo_progan.config import ProGANConfig
    from ganzoo_progan.model import build

    model = build(ProGANConfig(**{**TINY, "channels": 1}))
    images = torch.randn(4, 1, 16, 16)
    model.generator.set_position(1, 1.0)
    real, labels = model.real_batch({"image": images, "label": torch.zeros(4)})
    assert labels is None and torch.allclose(real, torch.nn.functional.avg_pool2d(images, 2))
    model.generator.set_position(1, 0.25)
    real, _ = model.real_batch({"image": images})
    at8 = torch.nn.functional.avg_pool2d(images, 2)
    at4_up = torch.nn.functional.avg_pool2d(images, 4).repeat_interleave(2, 2).repeat_interleave(2, 3)
    assert torch.allclose(real, 0.75 * at4_up + 0.25 * at8, atol=1e-6)
    assert model.preview_tag() == "8x8"


def test_sampling_uses_the_resolution_reached(tmp_path: Path) -> None:
    smoke_train("progan", tmp_path / "run", steps=10, overrides=TINY, train_overrides=QUIET)
    loaded = load(str(tmp_path / "run"))
    assert loaded.model.resolution == 8 and loaded.model.reached_resolution(loaded.nets) == 8
    images = loaded.generate(5, seed=3)
    assert images.shape == (5, 1, 8, 8) and images.min() >= -1 and images.max() <= 1
    assert torch.equal(images, loaded.generate(5, seed=3))


def test_inconsistent_growth_state_is_refused(tmp_path: Path) -> None:
    from ganzoo_progan.config import ProGANConfig
    from ganzoo_progan.model import build

    model = build(ProGANConfig(**{**TINY, "channels": 1}))
    with pytest.raises(CheckpointError, match="growth state"):
        model.load_extra_state({"stage": 1})
    with pytest.raises(CheckpointError, match="grows only to stage 2"):
        model.load_extra_state({"phase": 6, "stage": 3, "alpha": 1.0, "step_images": 500})
    model.load_extra_state({"phase": 2, "stage": 1, "alpha": 0.5, "step_images": 96})

    class Ctx:
        images_seen = 104

        def set_batch_size(self, n: int) -> None:
            pass

    with pytest.raises(CheckpointError, match="does not match the schedule"):
        model.on_train_start(Ctx())  # at 96 images the schedule is at alpha 0.5 of phase 1, not phase 2


def test_augmentation_follows_the_growth_and_resumes_exactly(tmp_path: Path) -> None:
    # ADA at every resolution (4x4 to 8x8 here), through the fade-in, with p moving every 4 critic batches.
    report = check_resume("progan", tmp_path, steps=8, split=5, overrides=TINY,
                          train_overrides={**QUIET, "augment": "ada:p=0.5,kimg=0.1"})
    assert report.exact
    logged = metrics(tmp_path / "resumed")
    assert {r["resolution"] for r in logged} == {4.0, 8.0} and len({r["augment_p"] for r in logged}) >= 2


def test_resume_in_a_fade_in_is_bit_exact_in_bf16_channels_last(tmp_path: Path) -> None:
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume("progan", tmp_path, steps=8, split=6, overrides=TINY,
                          train_overrides={**QUIET, "precision": "bf16"})
    assert report.exact


def test_logistic_loss_with_lazy_r1_weights_it_by_gamma_half_times_the_interval() -> None:
    """The digits demo's regularisation (bce loss, no gradient penalty or drift, R1 with gamma 10 every 4th
    step): R1 is the mean squared norm of the critic's gradient on the real batch, on its steps only."""
    from contextlib import nullcontext
    from types import SimpleNamespace

    from ganzoo_progan.config import ProGANConfig
    from ganzoo_progan.model import build

    torch.manual_seed(0)
    cfg = ProGANConfig(channels=1, loss="bce", gp_weight=0.0, drift=0.0, r1_gamma=10.0, r1_interval=4, **TINY)
    model = build(cfg)
    assert model.loss.name == "bce"
    real, fake = torch.rand(16, 1, 4, 4) * 2 - 1, torch.rand(16, 1, 4, 4) * 2 - 1
    scores = model.run_discriminator(real, None)
    for step, expect_r1 in ((1, False), (3, False), (4, True), (8, True)):
        ctx = SimpleNamespace(step=step, penalty_precision=nullcontext)
        total, logs = model.discriminator_penalty(ctx, real, fake, None, scores, None)
        assert set(logs) == ({"r1"} if expect_r1 else set()), step
        if not expect_r1:
            assert total is None
            continue
        x = real.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model.run_discriminator(x, None).sum(), x)
        by_hand = grad.flatten(1).pow(2).sum(1).mean()
        assert float(logs["r1"]) == pytest.approx(float(by_hand), rel=1e-5) and float(by_hand) > 0
        assert float(total.detach()) == pytest.approx(10.0 / 2 * 4 * float(by_hand), rel=1e-5)
        model.nets["D"].zero_grad()
        total.backward()  # the penalty trains the critic
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.nets["D"].parameters())


def test_the_digits_demo_regularisation_resumes_exactly(tmp_path: Path) -> None:
    overrides = {**TINY, "loss": "bce", "gp_weight": 0.0, "drift": 0.0, "r1_gamma": 10.0, "r1_interval": 2}
    report = check_resume("progan", tmp_path, steps=8, split=5, overrides=overrides, train_overrides=QUIET)
    assert report.exact
    logged = metrics(tmp_path / "resumed")
    # ctx.step counts the steps done before this one (logged as step + 1): R1 on the 1st, 3rd, 5th... step
    assert all(("r1" in r) == ((r["step"] - 1) % 2 == 0) for r in logged) and not any("gp" in r for r in logged)
