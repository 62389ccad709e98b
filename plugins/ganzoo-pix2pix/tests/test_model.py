"""The pix2pix model through the real engine: conformance, the update's arithmetic, inference modes, schedule,
resume and the command line."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ganzoo_pix2pix.config import Pix2PixConfig
from ganzoo_pix2pix.model import build, content_seed
from PIL import Image

from ganzoo.data import DataOptions, resolve_data
from ganzoo.data.stream import BatchStream
from ganzoo.engine.balance import BalancePolicy
from ganzoo.engine.context import StepContext
from ganzoo.engine.distributed import DistInfo
from ganzoo.engine.inference import load
from ganzoo.engine.model import data_options_for
from ganzoo.engine.precision import Precision
from ganzoo.errors import ConfigError
from ganzoo.registry import get_registry
from ganzoo.run_config import resolve
from ganzoo.testing import check_model_spec, check_resume, run_cli, smoke_train
from ganzoo.testing.translation_reference import linear_rates

#: Tiny networks for 32 px images: a 5-level U-Net and a 2-layer PatchGAN.
TINY = {"image_size": 32, "generator": "unet_32", "ngf": 4, "ndf": 4, "discriminator": "n_layers", "n_layers_d": 2}
#: A 6-level U-Net at 64 px: its fifth level has dropout, so the modes differ in dropout too.
TINY64 = {**TINY, "image_size": 64, "generator": "unet_64"}


def tiny_config(**changes) -> Pix2PixConfig:
    return replace(Pix2PixConfig(), **{"channels": 1, "load_size": None, "flip": False, **TINY, **changes})


def test_conformance():
    spec = check_model_spec("pix2pix", overrides=TINY64)
    assert spec.factory == "ganzoo_pix2pix.model:build" and spec.task == "image-to-image"
    assert "pix2pix-reference" in spec.converters


def test_reference_defaults_and_the_digits_demo():
    spec = get_registry().resolve_model("pix2pix").spec
    reference = resolve(spec, train_flags={"data": "facades-paired"})
    m, t = reference.model, reference.train
    assert (m.image_size, m.load_size, m.flip, m.direction) == (256, 286, True, "AtoB")
    assert (m.generator, m.discriminator, m.norm, m.dropout, m.ngf, m.ndf) == ("unet_256", "basic", "batch", True, 64, 64)
    assert (m.gan_mode, m.lambda_l1, m.lr, m.beta1, m.n_epochs, m.n_epochs_decay) == ("vanilla", 100.0, 2e-4, 0.5, 100, 100)
    assert (m.init_type, m.init_gain, t.batch_size) == ("normal", 0.02, 1)
    options = data_options_for(m)
    assert (options.load_size, options.image_size, options.random_crop, options.flip) == (286, 256, True, True)
    demo = resolve(spec)
    assert spec.default_data == "digits-edges" and demo.model.image_size == 32 and demo.model.generator == "unet_32"
    # (The default networks' sizes, 54.414 M and 2.769 M parameters as the reference prints them, are
    # checked in tests/test_nn_translation.py.) The discriminator sees the input and the output concatenated:
    assert build(tiny_config(channels=3)).nets["D"].model[0].in_channels == 6


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_one_update_follows_the_reference_arithmetic(direction):
    cfg = tiny_config(direction=direction, lambda_l1=37.0)
    torch.manual_seed(0)
    model = build(cfg)
    model.train()
    before = {name: copy.deepcopy(net) for name, net in model.nets.items()}
    data = resolve_data("digits-edges", data_options_for(cfg))

    def stream() -> BatchStream:
        return BatchStream(data.train, 3, seed=4, in_memory=True)

    ctx = StepContext(model, stream(), Precision.create("fp32", torch.device("cpu")), BalancePolicy.parse("none", 1),
                      DistInfo(), total_steps=1, seed=4)
    batch = next(iter(stream()))
    source, target = (batch["a"], batch["b"]) if direction == "AtoB" else (batch["b"], batch["a"])
    logs = model.train_step(ctx)

    G, D = before["G"], before["D"]
    with torch.no_grad():
        fake = G(source)  # training mode: batch norm with the batch's statistics, as the step does
        fake_scores = D(torch.cat([source, fake], 1))
        real_scores = D(torch.cat([source, target], 1))
        expected = {
            "d_fake": F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)),
            "d_real": F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores)),
            # the generator's update sees the discriminator after its update (the reference's order)
            "g_gan": F.binary_cross_entropy_with_logits(model.nets["D"](torch.cat([source, fake], 1)),
                                                        torch.ones_like(fake_scores)),
            "g_l1": (fake - target).abs().mean() * 37.0,
        }
    expected["loss_d"] = 0.5 * (expected["d_fake"] + expected["d_real"])
    expected["loss_g"] = expected["g_gan"] + expected["g_l1"]
    for key, value in expected.items():
        assert abs(float(logs[key]) - float(value)) < 1e-5, (key, float(logs[key]), float(value))
    for name in ("G", "D"):
        assert not torch.equal(next(model.nets[name].parameters()), next(before[name].parameters()))
    assert model.optimizers["G"].param_groups[0]["betas"] == (0.5, 0.999)


def test_translate_modes():
    torch.manual_seed(0)
    model = build(tiny_config(**TINY64), training=False)
    G = model.nets["G"]
    with torch.no_grad():  # give batch norm running statistics unlike any one image's
        for _ in range(3):
            G.train()(torch.rand(4, 1, 64, 64) * 2 - 1)
    G.eval()
    x = torch.rand(3, 1, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    buffers = [b.clone() for b in G.buffers()]
    rng = torch.get_rng_state()

    train = model.translate(x)  # the default: the reference test script's training mode
    assert torch.equal(train, model.translate(x, mode="train"))
    assert torch.equal(train[1:2], model.translate(x[1:2]))  # one image at a time: the batch does not matter
    with torch.no_grad():
        by_hand = []
        G.train()
        for image in x:
            torch.manual_seed(content_seed(image))
            by_hand.append(G(image.unsqueeze(0)))
        G.eval()
    torch.set_rng_state(rng)
    for b, saved in zip(G.buffers(), buffers):
        b.copy_(saved)
    assert torch.equal(train, torch.cat(by_hand).clamp(-1, 1))

    evaluated = model.translate(x, mode="eval")
    with torch.no_grad():
        assert torch.equal(evaluated, G(x).clamp(-1, 1))
    assert (evaluated - train).abs().max() > 1e-3
    # Nothing changed: running statistics, the global random state, the network's mode.
    assert all(torch.equal(b, saved) for b, saved in zip(G.buffers(), buffers))
    assert torch.equal(torch.get_rng_state(), rng) and not G.training
    assert model.translate(torch.rand(1, 1, 50, 70) * 2 - 1).shape == (1, 1, 50, 70)  # any size (padded)

    with pytest.raises(ConfigError, match="one generator, trained to turn the data's A images into B images"):
        model.translate(x, direction="b2a")
    with pytest.raises(ConfigError, match="mode train or eval"):
        model.translate(x, mode="test")
    with pytest.raises(ConfigError, match="N x 1 x H x W"):
        model.translate(torch.zeros(1, 3, 64, 64))


def ab_folder(root: Path, n: int = 6, size: int = 36) -> str:
    """Side-by-side gray pairs: B is A's negative."""
    rng = np.random.default_rng(0)
    for split, count in (("train", n), ("test", 2)):
        (root / split).mkdir(parents=True)
        for i in range(count):
            a = rng.integers(0, 255, (size, size), dtype=np.uint8)
            Image.fromarray(np.concatenate([a, 255 - a], axis=1), mode="L").save(root / split / f"{i}.png")
    return f"paired:{root}"


def test_learning_rate_schedule_per_epoch(tmp_path):
    data = ab_folder(tmp_path / "data")
    overrides = {**TINY, "load_size": 36, "n_epochs": 1, "n_epochs_decay": 2}
    result = smoke_train("pix2pix", tmp_path / "run", steps=None, data=data, overrides=overrides,
                         train_overrides={"batch_size": 2, "log_every": 1, "diagnostics_every": 0})
    assert result.steps == 9 and result.epochs == 3  # (1 + 2) epochs of 6 / 2 steps: the model's own budget
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: r["lr"]["G"] for r in records if "lr" in r}
    # logged after the step (and any epoch end it completes); as in the reference's loop with n_epochs 1
    # and n_epochs_decay 2: epoch 0 runs at 2/3 of 2e-4, epoch 1 at 1/3 and epoch 2 at 0
    assert rates[1] == rates[2] == pytest.approx(2e-4 * 2 / 3)
    assert rates[3] == rates[5] == pytest.approx(2e-4 / 3)
    assert rates[6] == rates[8] == 0.0
    # the reference's rate of each epoch, simulated with its own rule and loop
    assert [rates[1], rates[3], rates[6]] == pytest.approx(linear_rates(1, 2), rel=1e-12, abs=1e-15)
    assert {"loss_d", "loss_g", "g_gan", "g_l1", "d_real", "d_fake"} <= set(records[-1])
    grid = Image.open(result.samples[-1])
    # one row per held-out pair (both): input, translation, target; enlarged 2x
    assert grid.size == (2 * (3 * 32 + 4 * 2), 2 * (2 * 32 + 3 * 2))


def test_resume_is_exact_mid_decay_with_jitter_and_dropout(tmp_path):
    data = ab_folder(tmp_path / "data", size=70)
    overrides = {**TINY64, "load_size": 70, "flip": True, "n_epochs": 1, "n_epochs_decay": 2}
    report = check_resume("pix2pix", tmp_path / "runs", steps=8, split=4, data=data, overrides=overrides,
                          train_overrides={"batch_size": 2, "diagnostics_every": 0})
    assert report.exact and report.compared > 50


def test_unpaired_data_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="pix2pix trains on aligned pairs and 'digits-invert' has none"):
        smoke_train("pix2pix", tmp_path / "run", steps=1, data="digits-invert", overrides=TINY,
                    train_overrides={"diagnostics_every": 0})


@pytest.mark.parametrize("mode", ["lsgan"])
def test_other_gan_mode_trains(tmp_path, mode):
    result = smoke_train("pix2pix", tmp_path / mode, steps=2, overrides={**TINY, "gan_mode": mode},
                         train_overrides={"diagnostics_every": 0})
    assert result.steps == 2 and all(np.isfinite(v) for v in result.final_logs.values())


def test_configurations_the_networks_cannot_run_are_one_line_errors():
    with pytest.raises(ConfigError, match="unet_256 needs an image size that is a multiple of 256, not 128"):
        build(tiny_config(generator="unet_256", image_size=128))
    with pytest.raises(ConfigError, match="PatchGAN with 3 layers needs larger images"):
        build(tiny_config(discriminator="basic", image_size=16, generator="resnet_6blocks"))
    with pytest.raises(ConfigError, match="load_size 20 is smaller"):
        build(tiny_config(image_size=32, load_size=20))


@pytest.mark.slow  # four `ganzoo` processes: over 10 s even on an idle machine (27 s wall on the shared one)
def test_cli_train_then_translate_in_both_modes(tmp_path):
    out = tmp_path / "run"
    env = {"GANZOO_HOME": str(tmp_path / "home")}
    args = ["train", "pix2pix", "--steps", "6", "--ngf", "4", "--ndf", "4", "--sample-every", "3", "--out", str(out)]
    result = run_cli(*args, env=env)
    assert result.returncode == 0, result.stderr
    config = (out / "config.yaml").read_text()
    assert "data: digits-edges" in config and "generator: unet_32" in config
    assert (out / "samples" / "step-000006.png").exists()
    assert set(load(str(out)).nets) == {"G"}

    inputs = tmp_path / "edges"
    inputs.mkdir()
    source = resolve_data("digits-edges", DataOptions(image_size=32, channels=1))
    for i in range(3):
        a = source.test[(i, 0)]["a"]
        Image.fromarray(((a[0].numpy() + 1) * 127.5).round().astype(np.uint8), mode="L").save(inputs / f"e{i}.png")
    outputs = {}
    for mode in (None, "eval"):  # the default is train mode (checked in-process by test_translate_modes)
        folder = tmp_path / f"digits-{mode}"
        extra = ["--mode", mode] if mode else []
        result = run_cli("translate", str(out), "--input", str(inputs), *extra, "--out", str(folder), env=env)
        assert result.returncode == 0, result.stderr
        assert sorted(p.name for p in folder.iterdir()) == ["e0.png", "e1.png", "e2.png"]
        image = Image.open(folder / "e0.png")
        assert image.size == (32, 32) and image.info.get("ganzoo:mode") == (mode or "train")
        outputs[mode] = np.asarray(image)
    assert not np.array_equal(outputs[None], outputs["eval"])
    refused = run_cli("translate", str(out), "--input", str(inputs), "--direction", "b2a", "--mode", "eval",
                      "--out", str(tmp_path / "x"), env=env)
    assert refused.returncode != 0 and "Error: pix2pix has one generator" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    with pytest.raises(ConfigError, match="has no translate mode 'test'; choose train or eval"):
        load(str(out)).translate_mode("test")


def test_resume_is_exact_in_bf16_channels_last(tmp_path):
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    data = ab_folder(tmp_path / "data", size=70)
    overrides = {**TINY64, "load_size": 70, "flip": True}
    report = check_resume("pix2pix", tmp_path / "runs", steps=4, split=2, data=data, overrides=overrides,
                          train_overrides={"batch_size": 2, "diagnostics_every": 0, "precision": "bf16"})
    assert report.exact
