"""Feature networks: torchvision's parameter layout, where weights come from, and the refusal without them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ganzoo_style import weights as weights_mod
from ganzoo_style.features import (
    FeatureSpec,
    TimmFeatures,
    VGGFeatures,
    build_feature_net,
    default_layers,
    vgg_layer_names,
)
from ganzoo_style.weights import MissingWeightsError

from ganzoo.errors import CheckpointError, ConfigError


@pytest.mark.parametrize("arch", ["vgg16", "vgg19"])
def test_vgg_matches_torchvision_layout(arch: str) -> None:
    from torchvision.models import vgg

    # torchvision builds VGG's `features` with make_layers from configuration D (vgg16) or E (vgg19).
    reference = vgg.make_layers(vgg.cfgs["D" if arch == "vgg16" else "E"])
    expected = {f"features.{k}": tuple(v.shape) for k, v in reference.state_dict().items()}
    ours = {k: tuple(v.shape) for k, v in VGGFeatures(arch).state_dict().items()}
    assert ours == expected
    # The layer names follow the modules of torchvision's `features`.
    names = vgg_layer_names(arch)
    assert len(names) == len(reference)
    for name, module in zip(names, reference):
        kind = type(module).__name__
        assert kind == {"conv": "Conv2d", "relu": "ReLU", "pool": "MaxPool2d"}[name[:4].rstrip("0123456789_")]
    assert names.index("relu2_2") == 8 and names.index("conv4_2") == (21 if arch == "vgg19" else 19)


def test_vgg_loads_torchvision_weights_and_computes_like_torchvision(tmp_path: Path) -> None:
    from torchvision.models import vgg

    torch.manual_seed(3)
    reference = vgg.make_layers(vgg.cfgs["D"]).eval()
    state = {f"features.{k}": v for k, v in reference.state_dict().items()}
    state["classifier.6.bias"] = torch.zeros(1000)  # published files also hold the classifier: ignored
    file = tmp_path / "vgg16-local.pth"
    torch.save(state, file)
    net = build_feature_net(FeatureSpec("vgg16", str(file), layers=("relu2_2", "relu4_3")))
    assert not net.source.degraded and net.source.sha256 == weights_mod.file_sha256(file)
    x = torch.rand(2, 3, 32, 40)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = reference[:23]((x - mean) / std)  # relu4_3 is module 22
        got = net(x, ("relu2_2", "relu4_3"))
    assert len(net.features) == 23  # truncated after the deepest layer asked for
    assert torch.allclose(got["relu4_3"], expected, atol=1e-5)
    assert all(not p.requires_grad for p in net.parameters())


def test_random_features_are_seeded_and_marked_degraded() -> None:
    a = build_feature_net(FeatureSpec("vgg19", random_features=True, layers=("conv1_1",), seed=1))
    b = build_feature_net(FeatureSpec("vgg19", random_features=True, layers=("conv1_1",), seed=1))
    c = build_feature_net(FeatureSpec("vgg19", random_features=True, layers=("conv1_1",), seed=2))
    assert torch.equal(a.features[0].weight, b.features[0].weight)
    assert not torch.equal(a.features[0].weight, c.features[0].weight)
    assert a.source.degraded and "random features" in a.source.describe()
    assert "degraded" in a.source.notes()


def test_unknown_layer_and_backbone_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match="no layer 'conv9_1'"):
        build_feature_net(FeatureSpec("vgg19", random_features=True, layers=("conv9_1",)))
    with pytest.raises(ConfigError, match="unknown feature network"):
        build_feature_net(FeatureSpec("alexnet", random_features=True, layers=("conv1_1",)))


def test_missing_weights_refuse_in_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    with pytest.raises(MissingWeightsError) as info:
        build_feature_net(FeatureSpec("vgg19", layers=("conv4_2",), model="neural_style"))
    message = info.value.message
    assert "\n" not in message
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in message
    assert str(tmp_path / "home" / "weights" / "vgg19-dcbb9e9d.pth") in message
    assert "--random-features" in message and "--weights" in message
    with pytest.raises(MissingWeightsError, match="no such file"):
        build_feature_net(FeatureSpec("vgg19", str(tmp_path / "absent.pth"), layers=("conv4_2",)))


def test_cached_files_are_checked_against_the_published_hash(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub = tmp_path / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    torch.save(VGGFeatures("vgg16", 3).state_dict(), hub / "vgg16-397923af.pth")  # right name, wrong bytes
    assert weights_mod.torch_hub_checkpoints() == hub
    with pytest.raises(CheckpointError, match="is not torchvision's file"):
        build_feature_net(FeatureSpec("vgg16", layers=("relu1_2",)))


def test_timm_backbone_random_and_from_a_local_file(tmp_path: Path) -> None:
    import timm
    from safetensors.torch import save_file

    net = build_feature_net(FeatureSpec("timm:resnet18", random_features=True, layers=()))
    assert isinstance(net, TimmFeatures) and net.layer_names == ("level0", "level1", "level2", "level3", "level4")
    content, style = default_layers(net, ("conv4_2",), ("conv1_1", "conv2_1"))
    assert content == ("level2",) and style == net.layer_names
    out = net(torch.rand(1, 3, 64, 64), ("level0", "level4"))
    assert out["level0"].shape[1] == 64 and out["level4"].shape[-1] == 2

    torch.manual_seed(0)
    full = timm.create_model("resnet18", pretrained=False)
    file = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in full.state_dict().items()}, str(file))
    loaded = build_feature_net(FeatureSpec("timm:resnet18", str(file), layers=()))
    assert torch.equal(loaded.body.state_dict()["conv1.weight"], full.state_dict()["conv1.weight"])
    assert not loaded.source.degraded and loaded.source.sha256 == weights_mod.file_sha256(file)
    with pytest.raises(MissingWeightsError, match="needs a local weights file"):
        build_feature_net(FeatureSpec("timm:resnet18", layers=()))
