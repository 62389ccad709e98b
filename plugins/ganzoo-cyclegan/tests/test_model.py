"""The cyclegan model through the real engine: conformance, the update's arithmetic, schedule, resume, CLI."""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from ganzoo_cyclegan.config import CycleGANConfig
from ganzoo_cyclegan.model import build
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

#: Tiny networks for 16 px images (a 2-layer PatchGAN fits 16 px; the 70x70 one needs more).
TINY = {"image_size": 16, "ngf": 4, "ndf": 4, "discriminator": "n_layers", "n_layers_d": 2}


def test_conformance():
    spec = check_model_spec("cyclegan")
    assert spec.factory == "ganzoo_cyclegan.model:build" and spec.task == "image-to-image"
    assert "cyclegan-reference" in spec.converters


def test_reference_defaults_and_digits_demo_defaults():
    spec = get_registry().resolve_model("cyclegan").spec
    reference = resolve(spec, train_flags={"data": "horse2zebra"})
    m, t = reference.model, reference.train
    assert (m.image_size, m.load_size, m.flip, m.generator, m.discriminator) == (256, 286, True, "resnet_9blocks", "basic")
    assert (m.lambda_a, m.lambda_b, m.lambda_identity, m.pool_size, m.gan_mode) == (10.0, 10.0, 0.5, 50, "lsgan")
    assert (m.lr, m.beta1, m.n_epochs, m.n_epochs_decay, t.batch_size) == (2e-4, 0.5, 100, 100, 1)
    assert (m.norm, m.init_type, m.init_gain, m.dropout) == ("instance", "normal", 0.02, False)
    options = data_options_for(m)
    assert (options.load_size, options.image_size, options.random_crop, options.flip) == (286, 256, True, True)
    demo = resolve(spec)  # the default data: digits-invert, with the demo's defaults
    assert demo.model.image_size == 32 and demo.model.lambda_identity == 0.0 and demo.train.batch_size == 4
    user = resolve(spec, model_flags={"lambda_identity": 0.5, "image_size": 24})
    assert user.model.lambda_identity == 0.5 and user.model.image_size == 24  # user values win


@pytest.mark.parametrize("norm", ["instance", "batch"])
def test_batched_passes_compute_what_separate_calls_do(norm):
    def one_step(batched: bool):
        cfg = tiny_config(lambda_identity=0.5, norm=norm, batched_passes=batched)
        torch.manual_seed(0)
        model = build(cfg)
        stream = BatchStream(resolve_data("digits-invert", data_options_for(cfg)).train, 3, seed=4, in_memory=True)
        ctx = StepContext(model, stream, Precision.create("fp32", torch.device("cpu")),
                          BalancePolicy.parse("none", 1), DistInfo(), total_steps=1, seed=4)
        return model, {k: float(v) for k, v in model.train_step(ctx).items()}

    batched, logs_batched = one_step(True)
    separate, logs_separate = one_step(False)
    assert batched.batch_generator_passes == batched.batch_discriminator_passes == (norm == "instance")
    assert not separate.batch_generator_passes and not separate.batch_discriminator_passes
    assert logs_batched.keys() == logs_separate.keys()
    for key in logs_batched:
        assert logs_batched[key] == pytest.approx(logs_separate[key], rel=1e-5, abs=1e-6), key
    probe = torch.rand(2, 1, 16, 16) * 2 - 1
    with torch.no_grad():
        for name in ("G_A", "G_B", "D_A", "D_B"):
            batched.nets[name].eval(), separate.nets[name].eval()
            torch.testing.assert_close(batched.nets[name](probe), separate.nets[name](probe), rtol=1e-4, atol=1e-4)


def test_discriminators_can_have_their_own_learning_rate_and_beta1(tmp_path):
    model = build(tiny_config(lr_d=1e-3, beta1_d=0.9))
    assert (model.optimizers["G"].defaults["lr"], model.optimizers["G"].defaults["betas"]) == (2e-4, (0.5, 0.999))
    assert (model.optimizers["D"].defaults["lr"], model.optimizers["D"].defaults["betas"]) == (1e-3, (0.9, 0.999))
    reference = build(tiny_config())
    assert reference.optimizers["D"].defaults["lr"] == reference.optimizers["G"].defaults["lr"] == 2e-4
    smoke_train("cyclegan", tmp_path / "run", steps=2, overrides={**TINY, "lr_d": 1e-3},
                train_overrides={"batch_size": 2, "log_every": 1, "diagnostics_every": 0})
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["lr"] for r in rows if "lr" in r][-1] == {"G": 2e-4, "D": 1e-3}


def tiny_config(**changes) -> CycleGANConfig:
    return replace(CycleGANConfig(), **{"channels": 1, "load_size": None, "flip": False, **TINY, **changes})


def test_one_update_follows_the_reference_arithmetic():
    cfg = tiny_config(lambda_a=10.0, lambda_b=7.0, lambda_identity=0.5)
    torch.manual_seed(0)
    model = build(cfg)
    before = {name: copy.deepcopy(net) for name, net in model.nets.items()}
    data = resolve_data("digits-invert", data_options_for(cfg))

    def stream() -> BatchStream:
        return BatchStream(data.train, 3, seed=4, in_memory=True)

    ctx = StepContext(model, stream(), Precision.create("fp32", torch.device("cpu")), BalancePolicy.parse("none", 1),
                      DistInfo(), total_steps=1, seed=4)
    batch = next(iter(stream()))
    a, b = batch["a"], batch["b"]
    logs = model.train_step(ctx)

    G_A, G_B, D_A, D_B = (before[n] for n in ("G_A", "G_B", "D_A", "D_B"))
    with torch.no_grad():
        fake_b, fake_a = G_A(a), G_B(b)
        rec_a, rec_b = G_B(fake_b), G_A(fake_a)
        expected = {
            # identity weights are relative: lambda_identity x the cycle weight of the same domain
            "idt_a": F.l1_loss(G_A(b), b) * 7.0 * 0.5,
            "idt_b": F.l1_loss(G_B(a), a) * 10.0 * 0.5,
            "cycle_a": F.l1_loss(rec_a, a) * 10.0,
            "cycle_b": F.l1_loss(rec_b, b) * 7.0,
            "g_a": F.mse_loss(D_A(fake_b), torch.ones_like(D_A(fake_b))),
            "g_b": F.mse_loss(D_B(fake_a), torch.ones_like(D_B(fake_a))),
            # the pool is still filling, so the discriminators see this step's fakes (pre-update generators)
            "d_a": 0.5 * (F.mse_loss(D_A(b), torch.ones(1).expand_as(D_A(b)))
                          + F.mse_loss(D_A(fake_b), torch.zeros(1).expand_as(D_A(fake_b)))),
            "d_b": 0.5 * (F.mse_loss(D_B(a), torch.ones(1).expand_as(D_B(a)))
                          + F.mse_loss(D_B(fake_a), torch.zeros(1).expand_as(D_B(fake_a)))),
        }
    expected["loss_g"] = sum(expected[k] for k in ("idt_a", "idt_b", "cycle_a", "cycle_b", "g_a", "g_b"))
    for key, value in expected.items():
        assert abs(float(logs[key]) - float(value)) < 1e-5, (key, float(logs[key]), float(value))
    assert len(model.pools["fake_b"]) == 3
    torch.testing.assert_close(model.pools["fake_b"].images[0], fake_b[:1], rtol=0, atol=1e-6)
    for name in ("G_A", "G_B", "D_A", "D_B"):  # one Adam over both generators, one over both discriminators
        assert not torch.equal(next(model.nets[name].parameters()), next(before[name].parameters()))
    assert model.optimizers["G"].param_groups[0]["betas"] == (0.5, 0.999)
    assert len(model.optimizers["G"].param_groups[0]["params"]) == 2 * len(list(G_A.parameters()))


def ganzoo_rates(n_epochs: int, n_epochs_decay: int) -> list[float]:
    """The rate of each epoch of a ganzoo run: the model's schedulers, stepped at every epoch end."""
    model = build(tiny_config(n_epochs=n_epochs, n_epochs_decay=n_epochs_decay))
    rates = []
    with warnings.catch_warnings():  # no optimizer step between the scheduler steps here
        warnings.simplefilter("ignore")
        for _ in range(n_epochs + n_epochs_decay):
            rates.append(model.optimizers["G"].param_groups[0]["lr"])
            assert model.optimizers["D"].param_groups[0]["lr"] == rates[-1]
            for scheduler in model.schedulers.values():
                scheduler.step()
    return rates


@pytest.mark.parametrize("n_epochs,n_epochs_decay", [(100, 100), (1, 2), (3, 3), (2, 0), (5, 1)])
def test_learning_rate_matches_the_reference_epoch_by_epoch(n_epochs, n_epochs_decay):
    assert ganzoo_rates(n_epochs, n_epochs_decay) == pytest.approx(linear_rates(n_epochs, n_epochs_decay),
                                                                   rel=1e-12, abs=1e-15)


def unpaired_folder(root: Path, n: int = 6, size: int = 20) -> str:
    rng = np.random.default_rng(0)
    for domain in ("a", "b"):
        folder = root / domain
        folder.mkdir(parents=True)
        for i in range(n):
            pixels = rng.integers(0, 255, (size, size), dtype=np.uint8)
            if domain == "b":
                pixels = 255 - pixels // 2
            Image.fromarray(pixels, mode="L").save(folder / f"{i}.png")
    return f"a={root / 'a'},b={root / 'b'}"


def test_learning_rate_schedule_per_epoch(tmp_path):
    data = unpaired_folder(tmp_path / "data")
    overrides = {**TINY, "load_size": 20, "n_epochs": 1, "n_epochs_decay": 2}
    result = smoke_train("cyclegan", tmp_path / "run", steps=None, data=data, overrides=overrides,
                         train_overrides={"batch_size": 2, "log_every": 1, "diagnostics_every": 0})
    assert result.steps == 9 and result.epochs == 3  # (1 + 2) epochs of 6 / 2 steps: the model's own budget
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: r["lr"]["G"] for r in records if "lr" in r}
    # logged after the step (and any epoch end it completes); as in the reference with n_epochs 1 and
    # n_epochs_decay 2, epoch 0 runs at 2/3 of 2e-4, epoch 1 at 1/3 and epoch 2 at 0
    assert rates[1] == rates[2] == pytest.approx(2e-4 * 2 / 3)
    assert rates[3] == rates[5] == pytest.approx(2e-4 / 3)
    assert rates[6] == rates[8] == 0.0
    assert all(r["lr"]["D"] == r["lr"]["G"] for r in records if "lr" in r)
    grid = Image.open(result.samples[-1])
    # one row per input pair (all 6 images of each domain): a, G_A(a), rec, b, G_B(b), rec; enlarged 2x
    assert grid.size == (2 * (6 * 16 + 7 * 2), 2 * (6 * 16 + 7 * 2))


def test_resume_is_exact_mid_decay_with_a_full_pool(tmp_path):
    data = unpaired_folder(tmp_path / "data")
    overrides = {**TINY, "load_size": 20, "flip": True, "n_epochs": 1, "n_epochs_decay": 2, "pool_size": 3,
                 "dropout": True}
    report = check_resume("cyclegan", tmp_path / "runs", steps=8, split=4, data=data, overrides=overrides,
                          train_overrides={"batch_size": 2, "diagnostics_every": 0})
    assert report.exact and report.compared > 50


def test_resume_is_exact_while_the_pool_fills(tmp_path):
    report = check_resume("cyclegan", tmp_path / "runs", steps=4, split=2, overrides=TINY,
                          train_overrides={"diagnostics_every": 0})
    assert report.exact


@pytest.mark.parametrize("mode", ["vanilla", "wgangp"])
def test_other_gan_modes_train(tmp_path, mode):
    result = smoke_train("cyclegan", tmp_path / mode, steps=2, overrides={**TINY, "gan_mode": mode},
                         train_overrides={"diagnostics_every": 0})
    assert result.steps == 2 and all(np.isfinite(v) for v in result.final_logs.values())


def test_configurations_the_networks_cannot_run_are_one_line_errors():
    with pytest.raises(ConfigError, match="multiple of 128"):
        build(tiny_config(generator="unet_128", image_size=32))
    with pytest.raises(ConfigError, match="PatchGAN with 3 layers needs larger images"):
        build(tiny_config(discriminator="basic", image_size=16))
    with pytest.raises(ConfigError, match="multiple of 4"):
        build(tiny_config(image_size=18))
    with pytest.raises(ConfigError, match="load_size 20 is smaller"):
        build(tiny_config(image_size=24, load_size=20))
    unet = build(tiny_config(generator="unet_256", image_size=256, ngf=2), training=False)
    assert unet.translate(torch.zeros(1, 1, 256, 256)).shape == (1, 1, 256, 256)


def test_translate_any_size_and_direction_errors():
    model = build(tiny_config(), training=False).eval()
    x = torch.rand(2, 1, 15, 21) * 2 - 1
    for direction in ("a2b", "b2a"):
        out = model.translate(x, direction=direction)
        assert out.shape == x.shape and out.abs().max() <= 1
    with pytest.raises(ConfigError, match="a2b or b2a"):
        model.translate(x, direction="ab")
    with pytest.raises(ConfigError, match="N x 1 x H x W"):
        model.translate(torch.zeros(1, 3, 16, 16))


def test_cli_train_then_translate(tmp_path):
    out = tmp_path / "run"
    args = ["train", "cyclegan", "--steps", "6", "--image-size", "16", "--ngf", "4", "--ndf", "4",
            "--discriminator", "n_layers", "--n-layers-d", "2", "--sample-every", "3", "--out", str(out)]
    result = run_cli(*args, env={"GANZOO_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr
    config = (out / "config.yaml").read_text()
    assert "data: digits-invert" in config and "lambda_identity: 0.0" in config and "batch_size: 4" in config
    assert (out / "samples" / "step-000006.png").exists() and (out / "checkpoints" / "last.safetensors").exists()
    loaded = load(str(out))
    assert set(loaded.nets) == {"G_A", "G_B"}
    assert loaded.translate_mode(None) is None  # cyclegan declares no translate modes: --mode is refused
    with pytest.raises(ConfigError, match="'cyclegan' has no translate mode 'eval'; it runs one way only"):
        loaded.translate_mode("eval")

    inputs = tmp_path / "inverted"
    inputs.mkdir()
    source = resolve_data("digits-invert", DataOptions(image_size=16, channels=1))
    for i in range(3):
        b = source.test[(i, 0)]["b"]
        Image.fromarray(((b[0].numpy() + 1) * 127.5).round().astype(np.uint8), mode="L").save(inputs / f"d{i}.png")
    translated = tmp_path / "translated"
    result = run_cli("translate", str(out), "--input", str(inputs), "--direction", "b2a", "--out", str(translated),
                     env={"GANZOO_HOME": str(tmp_path / "home")})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in translated.iterdir()) == ["d0.png", "d1.png", "d2.png"]
    assert Image.open(translated / "d0.png").size == (16, 16)


def test_resume_is_exact_in_bf16_channels_last(tmp_path):
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume("cyclegan", tmp_path / "runs", steps=4, split=2, overrides=TINY,
                          train_overrides={"diagnostics_every": 0, "precision": "bf16"})
    assert report.exact
