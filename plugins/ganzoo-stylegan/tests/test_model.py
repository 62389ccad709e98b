"""The stylegan2 model on ganzoo's engine: contract, training phases, bit-exact resume, sampling options."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ganzoo_stylegan import plugin
from ganzoo_stylegan.config import StyleGAN2Config, auto_batch, auto_channel_base, auto_gamma, auto_lr
from ganzoo_stylegan.model import build

from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.testing import check_model_spec, check_resume, isolated_registry, smoke_train

TINY = {"image_size": 16, "z_dim": 16, "w_dim": 16, "mapping_layers": 2, "d_mapping_layers": 2,
        "channel_base": 64, "channel_max": 16, "r1_interval": 2, "pl_interval": 3, "classes": 10}


@pytest.fixture
def registry():
    with isolated_registry(("ganzoo-stylegan", plugin)) as reg:
        yield reg


def test_follows_the_contract(registry) -> None:
    check_model_spec("stylegan2", overrides={"image_size": 16, "channel_base": 256, "channel_max": 32, "z_dim": 32,
                                             "w_dim": 32})


def test_auto_rules_follow_the_reference() -> None:
    assert [auto_batch(r) for r in (32, 128, 256, 512, 1024)] == [32, 32, 16, 8, 4]
    assert auto_channel_base(256) == 16384 and auto_channel_base(512) == 32768
    assert auto_lr(512) == 0.0025 and auto_lr(1024) == 0.002
    assert auto_gamma(1024, 4) == pytest.approx(52.4288) and auto_gamma(256, 16) == pytest.approx(0.8192)


def test_lazy_regularisation_scales_adam() -> None:
    model = build(StyleGAN2Config(**{**TINY, "r1_interval": 16, "pl_interval": 4}), training=True)
    g, d = model.optimizers["G"].param_groups[0], model.optimizers["D"].param_groups[0]
    assert g["lr"] == pytest.approx(0.0025 * 4 / 5) and d["lr"] == pytest.approx(0.0025 * 16 / 17)
    assert g["betas"] == (0.0, pytest.approx(0.99 ** 0.8)) and d["betas"][1] == pytest.approx(0.99 ** (16 / 17))


@pytest.mark.slow  # the engine's run set-up makes even 4 tiny steps take over 10 s on a shared machine
def test_training_runs_every_phase_and_moves_the_average(registry, tmp_path: Path) -> None:
    result = smoke_train("stylegan2", tmp_path / "run", steps=4, overrides=TINY, train_overrides={"batch_size": 8})
    assert result.steps == 4
    for key in ("loss_g", "loss_d", "pl_mean", "d_real", "d_fake"):
        assert key in result.final_logs
    ck = load_checkpoint(result.last_checkpoint)
    assert "G_ema" in ck.nets and float(result.final_logs["pl_mean"]) > 0  # path-length mean tracked from step 0
    w_avg = ck.nets["G"]["mapping.w_avg"]
    assert w_avg.abs().sum() > 0  # tracked while training
    assert torch.equal(ck.nets["G_ema"]["mapping.w_avg"], w_avg)  # buffers are copied into the average


@pytest.mark.slow
def test_resume_is_bit_exact_across_the_lazy_intervals(registry, tmp_path: Path) -> None:
    # Steps 0..5 with R1 every 2 and path length every 3: the resume after step 3 falls between them.
    check_resume("stylegan2", tmp_path, steps=6, split=3, overrides=TINY, train_overrides={"batch_size": 8})


@pytest.mark.slow
@pytest.mark.parametrize("augment", ["ada:p=0.5,kimg=1", "diffaugment"])
def test_resume_is_bit_exact_with_augmentation(registry, tmp_path: Path, augment: str) -> None:
    # Every discriminator input goes through ctx.augment; ADA's p and statistics resume exactly too.
    check_resume("stylegan2", tmp_path, steps=5, split=2, overrides=TINY,
                 train_overrides={"batch_size": 8, "augment": augment})


def test_truncation_pulls_towards_the_average() -> None:
    model = build(StyleGAN2Config(**TINY), training=False).eval()
    G = model.nets["G_ema"]
    with torch.no_grad():
        G.mapping.w_avg.normal_()
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
    labels = torch.arange(4)
    full = model.synthesize(z, labels, truncation_psi=1.0)
    again = model.synthesize(z, labels, truncation_psi=1.0)
    assert torch.equal(full, again)  # constant noise: the latents fix the images
    mean_image = model.synthesize(z, labels, truncation_psi=0.0)
    assert torch.allclose(mean_image, mean_image[:1].expand_as(mean_image), atol=1e-6)  # psi 0: every image is w_avg's
    assert not torch.allclose(model.synthesize(z, labels, truncation_psi=0.5), full)


def test_resume_is_bit_exact_in_bf16_channels_last(registry, tmp_path: Path) -> None:
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume("stylegan2", tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={"batch_size": 8, "precision": "bf16"})
    assert report.exact


@pytest.mark.parametrize("data, mapping, d_mapping, rampup", [("digits", 2, 2, None), ("photos", 8, 8, 0.05)])
def test_the_digits_demo_shortens_both_mappings_and_the_ema_ramp_other_data_keep_the_reference(
    data: str, mapping: int, d_mapping: int, rampup: float | None
) -> None:
    from ganzoo.run_config import resolve

    config = resolve(check_model_spec("stylegan2"), train_flags={"data": data})
    assert (config.model.mapping_layers, config.model.d_mapping_layers) == (mapping, d_mapping)
    assert config.model.ema_rampup == rampup and config.model.ema_kimg is None  # auto: batch * 10 / 32
    if data == "digits":  # the discriminator's label mapping: an embedding, then 2 dense layers at the 0.01 rate
        D = build(config.model, training=False).nets["D"]
        mapping = next(m for m in D.modules() if type(m).__name__ == "MappingNetwork")
        fan_in = mapping.fc1.weight.shape[1]
        assert mapping.num_layers == 2 and mapping.fc1.weight_gain == pytest.approx(0.01 / fan_in**0.5)


@pytest.mark.parametrize("rampup", [0.05, None])
def test_the_ema_ramp_caps_the_half_life_by_the_images_shown_and_none_keeps_it_whole(rampup: float | None) -> None:
    model = build(StyleGAN2Config(**{**TINY, "ema_rampup": rampup}), training=True)
    G, G_ema = model.nets["G"], model.nets["G_ema"]
    before = [p.detach().clone() for p in G_ema.parameters()]
    with torch.no_grad():
        for p in G.parameters():
            p.add_(1.0)
    model.update_ema(G, G_ema, 32, 6400, 10_000)  # 200 steps of 32 images so far, half-life 10k images
    half_life = 10_000 if rampup is None else 6400 * rampup  # the ramp allows 5% of 6400 images: 320
    beta = 0.5 ** (32 / half_life)
    for p_ema, p_before, p in zip(G_ema.parameters(), before, G.parameters(), strict=True):
        torch.testing.assert_close(p_ema, p.detach() + beta * (p_before - p.detach()))
