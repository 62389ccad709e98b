"""Fidelity of CycleGAN's networks to the reference architecture (junyanz/pytorch-CycleGAN-and-pix2pix).

The tests build state dicts in the reference's key layout from the published architecture (layer
positions and shapes; see conftest.py), load them into ganzoo's networks without any renaming, and
compare the output with an independent forward pass written with torch.nn.functional calls in the
reference's layer order.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from ganzoo_cyclegan.networks import (
    NLayerDiscriminator,
    PixelDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    init_weights,
    patch_output_sizes,
)


@pytest.mark.parametrize(("n_blocks", "channels", "ngf", "size"), [(9, 3, 8, 32), (6, 1, 4, 24), (9, 3, 64, 64)])
def test_resnet_generator_matches_reference_forward(reference, n_blocks, channels, ngf, size):
    sd = reference.resnet_state(channels, ngf, n_blocks, seed=n_blocks)
    G = ResnetGenerator(channels, channels, ngf, norm="instance", dropout=False, n_blocks=n_blocks)
    G.load_state_dict(sd, strict=True)  # the reference's key names, no renaming
    G.eval()
    x = torch.rand(2, channels, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        ours = G(x)
        expected = reference.resnet_forward(sd, x, n_blocks)
    assert ours.shape == x.shape
    diff = (ours - expected).abs().max().item()
    assert diff < 1e-5, diff
    # Instance norm uses each image's own statistics in training and evaluation alike.
    G.train()
    with torch.no_grad():
        assert (G(x) - expected).abs().max().item() < 1e-5


def test_resnet_layout_positions_and_parameter_count():
    G = ResnetGenerator(3, 3, 64, norm="instance", n_blocks=9)
    keys = list(G.state_dict())
    assert len(G.model) == 28
    assert keys[:2] == ["model.1.weight", "model.1.bias"]
    assert "model.10.conv_block.1.weight" in keys and "model.18.conv_block.5.bias" in keys
    assert {"model.19.weight", "model.22.weight", "model.26.weight", "model.26.bias"} <= set(keys)
    # 11,378,179 parameters: the published size of the 9-block CycleGAN generator at 3 channels, width 64.
    assert sum(p.numel() for p in G.parameters()) == 11_378_179
    assert not any("running" in k for k in keys)  # instance norm keeps no statistics
    G6 = ResnetGenerator(3, 3, 64, norm="instance", n_blocks=6)
    assert len(G6.model) == 25 and "model.23.weight" in G6.state_dict()


def test_dropout_and_batch_norm_layouts():
    G = ResnetGenerator(3, 3, 8, norm="batch", dropout=True, n_blocks=2)
    keys = set(G.state_dict())
    # dropout shifts the block's second conv from position 5 to 6; batch norm drops conv biases
    assert "model.10.conv_block.6.weight" in keys and "model.10.conv_block.5.weight" not in keys
    assert "model.1.bias" not in keys and "model.2.weight" in keys and "model.2.running_mean" in keys
    assert "model.19.bias" in keys  # the output conv always has a bias
    G0 = ResnetGenerator(3, 3, 8, norm="none", n_blocks=1)
    assert "model.1.bias" not in G0.state_dict()  # the reference leaves the bias out without a norm too


def test_unet_layouts():
    G = UnetGenerator(3, 3, 7, 4, norm="instance")
    keys = set(G.state_dict())
    innermost = "model.model.1.model" + ".3.model" * 5
    assert {"model.model.0.weight", "model.model.0.bias", "model.model.3.weight", "model.model.3.bias",
            "model.model.1.model.1.weight", "model.model.1.model.5.weight",
            f"{innermost}.1.weight", f"{innermost}.3.weight"} <= keys
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.no_grad():
        assert G(x).shape == x.shape
    assert UnetGenerator(3, 3, 8, 4).size_multiple == 256


def reference_patch_forward(sd: dict[str, torch.Tensor], x: torch.Tensor, n_layers: int) -> torch.Tensor:
    h = F.leaky_relu(F.conv2d(x, sd["model.0.weight"], sd["model.0.bias"], stride=2, padding=1), 0.2)
    pos = 2
    for n in range(1, n_layers + 1):
        stride = 2 if n < n_layers else 1
        h = F.conv2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=stride, padding=1)
        h = F.leaky_relu(F.instance_norm(h, eps=1e-5), 0.2)
        pos += 3
    return F.conv2d(h, sd[f"model.{pos}.weight"], sd[f"model.{pos}.bias"], stride=1, padding=1)


@pytest.mark.parametrize("n_layers", [3, 2])
def test_patchgan_matches_reference_forward(n_layers):
    ndf, channels = 8, 3
    g = torch.Generator().manual_seed(n_layers)
    sd = {"model.0.weight": torch.randn(ndf, channels, 4, 4, generator=g) * 0.1, "model.0.bias": torch.randn(ndf, generator=g)}
    width, pos = ndf, 2
    for n in range(1, n_layers + 1):
        out = ndf * min(2 ** n, 8)
        sd[f"model.{pos}.weight"] = torch.randn(out, width, 4, 4, generator=g) * 0.1
        sd[f"model.{pos}.bias"] = torch.randn(out, generator=g) * 0.1
        width, pos = out, pos + 3
    sd[f"model.{pos}.weight"] = torch.randn(1, width, 4, 4, generator=g) * 0.1
    sd[f"model.{pos}.bias"] = torch.randn(1, generator=g) * 0.1
    D = NLayerDiscriminator(channels, ndf, n_layers, norm="instance")
    D.load_state_dict(sd, strict=True)
    x = torch.rand(2, channels, 64, 64, generator=g) * 2 - 1
    with torch.no_grad():
        ours, expected = D(x), reference_patch_forward(sd, x, n_layers)
    assert (ours - expected).abs().max().item() < 1e-5
    assert ours.shape[-1] == patch_output_sizes(64, n_layers)[-1]


def test_basic_patchgan_receptive_field_is_70():
    # Receptive field of conv(k4,s2) x3, conv(k4,s1), conv(k4,s1): 70 pixels.
    field, jump = 1, 1
    strides = [2, 2, 2, 1, 1]
    for s in strides:
        jump *= s
    for s in reversed(strides):
        field = (field - 1) * s + 4
    assert field == 70
    assert patch_output_sizes(256, 3) == [128, 64, 32, 31, 30]
    assert sum(p.numel() for p in NLayerDiscriminator(3, 64, 3).parameters()) == 2_764_737


def test_pixel_discriminator_layout():
    D = PixelDiscriminator(3, 8, norm="instance")
    assert list(D.state_dict()) == ["net.0.weight", "net.0.bias", "net.2.weight", "net.2.bias", "net.5.weight", "net.5.bias"]
    assert D(torch.zeros(1, 3, 5, 7)).shape == (1, 1, 5, 7)


@pytest.mark.parametrize("kind", ["normal", "xavier", "kaiming", "orthogonal"])
def test_init_types(kind):
    torch.manual_seed(0)
    G = init_weights(ResnetGenerator(3, 3, 16, norm="batch", n_blocks=1), kind, 0.02)
    conv = G.model[1].weight
    assert G.model[-2].weight.abs().sum() > 0 and G.model[-2].bias.abs().sum() == 0
    if kind == "normal":
        assert abs(conv.std().item() - 0.02) < 0.003 and abs(conv.mean().item()) < 0.003
    if kind == "kaiming":  # fan-in, gain sqrt(2): std = sqrt(2 / (3 * 7 * 7))
        assert abs(conv.std().item() - (2 / 147) ** 0.5) < 0.02
    bn = G.model[2]
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and bn.bias.abs().sum() == 0
    assert all(m.bias.abs().sum() == 0 for m in G.modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None)
