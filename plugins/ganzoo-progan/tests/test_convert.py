"""Converting pytorch_GAN_zoo PGAN checkpoints: a file of that layout built here, checked against an
independent forward pass of that layout written with plain torch.nn.functional."""

from __future__ import annotations

import itertools
import math
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from ganzoo_progan import plugin
from ganzoo_progan.config import ProGANConfig
from ganzoo_progan.convert import convert, convert_generator
from ganzoo_progan.model import build

from ganzoo.catalogue import Catalogue, CatalogueCheckpoint, CatalogueModel
from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.inference import load
from ganzoo.errors import CheckpointError
from ganzoo.pretrained import fetch_pretrained
from ganzoo.testing import isolated_registry

LATENT = 16
DEPTHS = [32, 24, 16]  # 4x4, 8x8, 16x16
CHANNELS = 3


def zoo_generator_state(seed: int, latent: int = LATENT, depths: list[int] = DEPTHS, channels: int = CHANNELS) -> dict:
    """Random weights with the keys and shapes of pytorch_GAN_zoo's GNet (biases non-zero on purpose)."""
    g = torch.Generator().manual_seed(seed)

    def layer(out_c: int, *fan: int) -> dict[str, torch.Tensor]:
        return {"weight": torch.randn(out_c, *fan, generator=g), "bias": 0.1 * torch.randn(out_c, generator=g)}

    sd: dict[str, torch.Tensor] = {}

    def put(name: str, params: dict[str, torch.Tensor]) -> None:
        for key, value in params.items():
            sd[f"{name}.module.{key}"] = value

    put("formatLayer", layer(16 * depths[0], latent))
    put("groupScale0.0", layer(depths[0], depths[0], 3, 3))
    put("toRGBLayers.0", layer(channels, depths[0], 1, 1))
    for i, (prev, depth) in enumerate(itertools.pairwise(depths)):
        put(f"scaleLayers.{i}.0", layer(depth, prev, 3, 3))
        put(f"scaleLayers.{i}.1", layer(depth, depth, 3, 3))
        put(f"toRGBLayers.{i + 1}", layer(channels, depth, 1, 1))
    return sd


def zoo_forward(sd: dict, z: torch.Tensor, zoo_alpha: float = 0.0, *, leak: float = 0.2,
                tanh: bool = False) -> torch.Tensor:
    """pytorch_GAN_zoo's generator computation, written out: each equalised layer is (W x + b) * sqrt(2 / fan_in);
    `leak` is their leakyReluLeak, `tanh` their generationActivation of the DCGAN and MSE losses (after the blend)."""

    def he(w: torch.Tensor) -> float:
        return math.sqrt(2.0 / math.prod(w.shape[1:]))

    def dense(x: torch.Tensor, name: str) -> torch.Tensor:
        w, b = sd[f"{name}.module.weight"], sd[f"{name}.module.bias"]
        return F.linear(x, w, b) * he(w)

    def conv(x: torch.Tensor, name: str) -> torch.Tensor:
        w, b = sd[f"{name}.module.weight"], sd[f"{name}.module.bias"]
        return F.conv2d(x, w, b, padding=w.shape[-1] // 2) * he(w)

    def norm(x: torch.Tensor) -> torch.Tensor:
        return x / torch.sqrt((x * x).mean(dim=1, keepdim=True) + 1e-8)

    def act(x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, leak * x)

    def up(x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")

    scales = len({k.split(".")[1] for k in sd if k.startswith("scaleLayers.")})
    x = act(dense(norm(z), "formatLayer")).view(z.shape[0], -1, 4, 4)
    x = norm(x)
    x = norm(act(conv(x, "groupScale0.0")))
    low = up(conv(x, "toRGBLayers.0")) if scales == 1 else None
    for i in range(scales):
        x = up(x)
        x = norm(act(conv(x, f"scaleLayers.{i}.0")))
        x = norm(act(conv(x, f"scaleLayers.{i}.1")))
        if i == scales - 2:
            low = up(conv(x, f"toRGBLayers.{i + 1}"))
    x = conv(x, f"toRGBLayers.{scales}")
    if zoo_alpha > 0:
        x = zoo_alpha * low + (1.0 - zoo_alpha) * x
    return torch.tanh(x) if tanh else x


def relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """Largest difference relative to the reference output's scale: float32 rounding through five layers
    depends on the CPU's convolution kernels (1.2e-5 absolute on outputs of scale 5 seen on AMD EPYC)."""
    return (ours - theirs).abs().max().item() / theirs.abs().max().item()


def converted_generator(sd: dict, zoo_alpha: float = 0.0):
    state, values = convert_generator(sd, zoo_alpha=zoo_alpha)
    model = build(ProGANConfig(**values), training=False)
    model.nets["G"].load_state_dict(state, strict=True)
    return model.nets["G"].eval(), values


@pytest.mark.parametrize("zoo_alpha", [0.0, 0.3])
def test_converted_generator_matches_the_reference_computation(zoo_alpha: float) -> None:
    sd = zoo_generator_state(1)
    G, values = converted_generator(sd, zoo_alpha)
    assert values == {"image_size": 16, "latent_dim": LATENT, "channels": CHANNELS, "widths": tuple(DEPTHS)}
    z = torch.randn(6, LATENT, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, theirs = G(z), zoo_forward(sd, z, zoo_alpha)
    assert ours.shape == theirs.shape == (6, CHANNELS, 16, 16)
    assert G.resolution == 16 and float(G.alpha) == pytest.approx(1.0 - zoo_alpha)
    assert theirs.abs().max().item() > 0.1  # a real signal, not two zeros
    assert relative_error(ours, theirs) < 1e-5


def test_a_single_scale_generator_converts() -> None:
    sd = zoo_generator_state(3, depths=[8])
    G, values = converted_generator(sd)
    z = torch.randn(2, LATENT, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert relative_error(G(z), zoo_forward(sd, z)) < 1e-5
    assert values["image_size"] == 4


def write_zoo_file(path: Path, *, alpha: float = 0.0, **extra: object) -> dict:
    """A checkpoint as pytorch_GAN_zoo saves one: its config object pickled as models.utils.config.BaseConfig."""
    fake = types.ModuleType("models.utils.config")
    cls = type("BaseConfig", (), {"__module__": "models.utils.config"})
    fake.BaseConfig = cls
    values = dict(depthScale0=DEPTHS[0], depthOtherScales=DEPTHS[1:], alpha=alpha, equalizedlR=True,
                  perChannelNormalization=True, miniBatchStdDev=True, noiseVectorDim=LATENT, latentVectorDim=LATENT,
                  categoryVectorDim=0, dimOutput=CHANNELS, lossCriterion="WGANGP", attribKeysOrder=None,
                  lambdaGP=10.0, epsilonD=0.001, learningRate=0.001)
    values.update(extra)
    config = cls()
    config.__dict__.update(values)
    raw, averaged = zoo_generator_state(4), zoo_generator_state(5)
    with pytest.MonkeyPatch.context() as mp:  # the class exists only while saving: the converter must not need it
        for name in ("models", "models.utils"):
            mp.setitem(sys.modules, name, types.ModuleType(name))
        mp.setitem(sys.modules, "models.utils.config", fake)
        torch.save({"config": config, "netG": raw, "netD": {"decisionLayer.module.weight": torch.zeros(1, 32)},
                    "avgG": averaged}, path)
    return averaged


def test_convert_reads_their_file_safely_and_prefers_the_averaged_generator(tmp_path) -> None:
    path = tmp_path / "celebaHQ_s2_i1-00000000.pth"
    averaged = write_zoo_file(path, alpha=0.25)
    assert "models.utils.config" not in sys.modules
    converted = convert(path, None)
    assert set(converted.nets) == {"G"} and converted.notes["generator"] == "averaged (avgG)"
    assert converted.model["widths"] == tuple(DEPTHS) and converted.model["image_size"] == 16
    model = build(ProGANConfig(**converted.model), training=False)
    model.nets["G"].load_state_dict(converted.nets["G"])
    z = torch.randn(3, LATENT, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert relative_error(model.nets["G"](z), zoo_forward(averaged, z, 0.25)) < 1e-5


@pytest.mark.parametrize("loss,leak,tanh", [("DCGAN", 0.2, True), ("MSE", 0.1, True), ("Logistic", 0.3, False),
                                            ("WGANGP", 0.05, False)])
def test_their_loss_mode_and_leak_are_honoured(tmp_path, loss, leak, tanh) -> None:
    path = tmp_path / f"{loss}.pth"
    averaged = write_zoo_file(path, alpha=0.25, lossCriterion=loss, leakyReluLeak=leak)
    converted = convert(path, None)
    assert converted.model["output_activation"] == ("tanh" if tanh else "linear")
    assert converted.model["lrelu_slope"] == leak and converted.notes["loss_mode"] == loss
    model = build(ProGANConfig(**converted.model), training=False)
    model.nets["G"].load_state_dict(converted.nets["G"])
    z = torch.randn(5, LATENT, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        ours, theirs = model.nets["G"](z), zoo_forward(averaged, z, 0.25, leak=leak, tanh=tanh)
    assert relative_error(ours, theirs) < 1e-5
    if tanh:
        assert theirs.abs().max() < 1 < zoo_forward(averaged, z, 0.25, leak=leak).abs().max()


@pytest.mark.parametrize("extra,message", [({"lossCriterion": "Hinge"}, "unknown loss mode 'Hinge'"),
                                           ({"leakyReluLeak": "x"}, "slope 'x' is not a number"),
                                           ({"leakyReluLeak": 2.0}, "slope 2.0 is not a number in")])
def test_unknown_loss_modes_and_slopes_are_refused_in_one_line(tmp_path, extra, message) -> None:
    path = tmp_path / "odd.pth"
    write_zoo_file(path, **extra)
    with pytest.raises(CheckpointError, match=message) as info:
        convert(path, None)
    assert "\n" not in str(info.value)


def test_files_needing_other_code_are_refused(tmp_path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"config": Path("x"), "netG": {}}, path)  # any class outside the allow-list
    with pytest.raises(CheckpointError, match="weights_only"):
        convert(path, None)


def test_conditional_or_unnormalised_models_are_refused(tmp_path) -> None:
    path = tmp_path / "cond.pth"
    write_zoo_file(path, categoryVectorDim=3)
    with pytest.raises(CheckpointError, match="class-conditional"):
        convert(path, None)
    write_zoo_file(path, perChannelNormalization=False)
    with pytest.raises(CheckpointError, match="pixel normalisation"):
        convert(path, None)


def test_download_convert_and_sample_end_to_end(tmp_path, ganzoo_home) -> None:
    path = tmp_path / "zoo.pth"
    averaged = write_zoo_file(path)
    ck = CatalogueCheckpoint(tag="demo", url=path.as_uri(), mirrors=(), sha256=None, size=None, license="BSD-3-Clause",
                             source="test", dataset="celebahq", format="pgan-pytorch-gan-zoo",
                             hash_note="test file", config={"image_size": 16})
    entry = CatalogueModel(name="progan", plugin="ganzoo-progan", task="unconditional", summary="progan",
                           paper="", aliases=(), defaults={}, checkpoints={"demo": ck})
    with isolated_registry(("ganzoo-progan", plugin), catalogue=Catalogue(1, {"progan": entry}, {})):
        target = fetch_pretrained("progan.demo", progress=False)
        assert target == ganzoo_home / "weights" / "progan.demo.safetensors"
        header = read_header(target)
        assert header["kind"] == "weights" and header["config"]["model"]["widths"] == list(DEPTHS)
        assert header["notes"]["converted_from"] == "pgan-pytorch-gan-zoo"
        loaded = load("progan.demo")
        images = loaded.generate(4, seed=7)
    z = torch.randn(4, LATENT, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = zoo_forward(averaged, z).clamp(-1, 1)
    assert images.shape == (4, CHANNELS, 16, 16)
    assert (images - expected).abs().max().item() < 1e-5
