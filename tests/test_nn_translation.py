"""ganzoo.nn's image-to-image translation networks (cyclegan and pix2pix) follow the reference architecture.

The reference is junyanz/pytorch-CycleGAN-and-pix2pix. The tests build state dicts in its key layout
from the published architecture (layer positions and shapes; `ganzoo.testing.translation_reference`),
load them into ganzoo's networks without any renaming, and compare the output with an independent
forward pass written with torch.nn.functional calls in the reference's layer order.
"""

from __future__ import annotations

import pytest
import torch

from ganzoo.errors import CheckpointError
from ganzoo.nn import (
    NLayerDiscriminator,
    PixelDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    make_discriminator,
    make_generator,
    patch_output_sizes,
    run_padded,
    size_problem,
    translation_init_,
)
from ganzoo.nn.translation_weights import read_generator
from ganzoo.testing import translation_reference as reference


@pytest.mark.parametrize(("n_blocks", "channels", "ngf", "size"), [(9, 3, 8, 32), (6, 1, 4, 24), (9, 3, 64, 64)])
def test_resnet_generator_matches_reference_forward(n_blocks, channels, ngf, size):
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


@pytest.mark.parametrize("n_layers", [3, 2])
def test_patchgan_matches_reference_forward(n_layers):
    ndf, channels = 8, 3
    sd = reference.patch_state(channels, ndf, n_layers, norm="instance", seed=n_layers)
    D = NLayerDiscriminator(channels, ndf, n_layers, norm="instance")
    D.load_state_dict(sd, strict=True)
    x = torch.rand(2, channels, 64, 64, generator=torch.Generator().manual_seed(n_layers)) * 2 - 1
    with torch.no_grad():
        ours, expected = D(x), reference.patch_forward(sd, x, n_layers, norm="instance")
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
    G = translation_init_(ResnetGenerator(3, 3, 16, norm="batch", n_blocks=1), kind, 0.02)
    conv = G.model[1].weight
    assert G.model[-2].weight.abs().sum() > 0 and G.model[-2].bias.abs().sum() == 0
    if kind == "normal":
        assert abs(conv.std().item() - 0.02) < 0.003 and abs(conv.mean().item()) < 0.003
    if kind == "kaiming":  # fan-in, gain sqrt(2): std = sqrt(2 / (3 * 7 * 7))
        assert abs(conv.std().item() - (2 / 147) ** 0.5) < 0.02
    bn = G.model[2]
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and bn.bias.abs().sum() == 0
    assert all(m.bias.abs().sum() == 0 for m in G.modules() if isinstance(m, torch.nn.Conv2d) and m.bias is not None)


@pytest.mark.parametrize(("levels", "norm", "size"), [(5, "batch", 32), (6, "instance", 64), (5, "none", 32)])
def test_unet_matches_reference_forward_in_both_modes(levels, norm, size):
    sd = reference.unet_state(3, 3, levels, 4, norm=norm, seed=levels)
    G = UnetGenerator(3, 3, levels, 4, norm=norm, dropout=True)
    G.load_state_dict(sd, strict=True)  # the reference's key names; dropout leaves no trace in them
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(2)) * 2 - 1
    with torch.no_grad():
        evaluated = G.eval()(x)
        expected = reference.unet_forward(sd, x, levels, norm=norm, batch_statistics=False)
        assert (evaluated - expected).abs().max().item() < 1e-5
        # Training mode, one image at a time and without dropout's effect (5 levels have no dropout):
        # batch norm uses the image's own statistics, as the reference's test script runs it.
        if levels == 5:
            G.train()
            for i in range(2):
                own = reference.unet_forward(sd, x[i:i + 1], levels, norm=norm, batch_statistics=True)
                assert (G(x[i:i + 1]) - own).abs().max().item() < 1e-5


def test_unet_dropout_sits_in_the_levels_next_to_the_innermost():
    G = UnetGenerator(3, 3, 8, 2, norm="batch", dropout=True)
    dropouts = [m for m in G.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 3 and all(d.p == 0.5 for d in dropouts)
    assert not any(isinstance(m, torch.nn.Dropout) for m in UnetGenerator(3, 3, 5, 2, dropout=True).modules())
    keys = set(G.state_dict())
    # batch norm: no conv biases except the output transposed conv; statistics are state
    assert "model.model.0.bias" not in keys and "model.model.3.bias" in keys
    assert "model.model.1.model.2.running_mean" in keys and "model.model.1.model.2.num_batches_tracked" in keys
    # The reference prints "[Network G] Total number of parameters : 54.414 M" and "[Network D] ... 2.769 M"
    # for pix2pix (unet_256 and the 70x70 PatchGAN on 6 channels, width 64, batch norm).
    big = UnetGenerator(3, 3, 8, 64, norm="batch", dropout=True)
    assert sum(p.numel() for p in big.parameters()) == 54_413_955
    assert sum(p.numel() for p in NLayerDiscriminator(6, 64, 3, norm="batch").parameters()) == 2_768_705


def test_batch_norm_patchgan_matches_reference_forward():
    sd = reference.patch_state(6, 8, 3, norm="batch", seed=5)
    D = NLayerDiscriminator(6, 8, 3, norm="batch")
    D.load_state_dict(sd, strict=True)
    x = torch.rand(2, 6, 64, 64, generator=torch.Generator().manual_seed(5)) * 2 - 1
    with torch.no_grad():
        evaluated = D.eval()(x)  # first: a training-mode pass updates the running statistics
        assert (evaluated - reference.patch_forward(sd, x, 3, norm="batch", batch_statistics=False)).abs().max() < 1e-5
        trained = D.train()(x)
        assert (trained - reference.patch_forward(sd, x, 3, norm="batch", batch_statistics=True)).abs().max() < 1e-5


def test_init_visits_modules_in_the_reference_order():
    # Seeded, the weights equal drawing N(0, 0.02) (batch-norm scales N(1, 0.02)) layer by layer in the
    # order the layers were registered, which is the order the reference's net.apply visits them.
    G = UnetGenerator(1, 1, 5, 2, norm="batch")
    torch.manual_seed(3)
    translation_init_(G, "normal", 0.02)
    by_hand = UnetGenerator(1, 1, 5, 2, norm="batch")
    torch.manual_seed(3)
    with torch.no_grad():
        for m in by_hand.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.BatchNorm2d)):
                torch.nn.init.normal_(m.weight, 1.0 if isinstance(m, torch.nn.BatchNorm2d) else 0.0, 0.02)
                if m.bias is not None:
                    torch.nn.init.zeros_(m.bias)
    for (name, ours), theirs in zip(G.state_dict().items(), by_hand.state_dict().values()):
        assert torch.equal(ours, theirs), name


def test_factories_and_size_problems():
    G = make_generator("unet_32", 1, 1, 4, norm="batch", dropout=False)
    assert G.size_multiple == 32 and G(torch.zeros(2, 1, 32, 32)).shape == (2, 1, 32, 32)
    assert make_generator("resnet_6blocks", 3, 3, 4, norm="instance", dropout=False).size_multiple == 4
    assert make_discriminator("pixel", 6, 4, n_layers=3, norm="batch")(torch.zeros(2, 6, 8, 8)).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="unknown generator"):
        make_generator("unet_512", 3, 3, 4, norm="batch", dropout=False)
    assert size_problem("unet_256", "basic", 3, "batch", 256) is None
    assert size_problem("unet_32", "n_layers", 2, "batch", 32) is None
    assert "multiple of 256, not 128; use a smaller U-Net" in size_problem("unet_256", "basic", 3, "batch", 128)
    assert "multiple of 4" in size_problem("resnet_9blocks", "basic", 3, "instance", 30)
    assert "PatchGAN with 3 layers needs larger images than 16 px" in size_problem("resnet_6blocks", "basic", 3,
                                                                                  "instance", 16)
    assert size_problem("unet_32", "pixel", 3, "batch", 32) is None


def test_run_padded_keeps_any_size():
    G = make_generator("unet_32", 1, 1, 2, norm="instance", dropout=False).eval()
    for shape in ((1, 1, 32, 32), (2, 1, 20, 45), (1, 1, 7, 5)):
        x = torch.rand(*shape) * 2 - 1
        with torch.no_grad():
            assert run_padded(G, x, G.size_multiple).shape == x.shape


def test_reading_reference_generator_files():
    # U-Net with batch norm, saved before PyTorch 0.4.1 (no num_batches_tracked), from DataParallel.
    sd = reference.unet_state(3, 3, 6, 4, norm="batch", seed=1)
    old = {f"module.{k}": v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    weights, described, dropped, added = read_generator(old)
    assert described == {"generator": "unet_64", "ngf": 4, "in_channels": 3, "out_channels": 3, "norm": "batch"}
    assert not dropped and len(added) == sum(k.endswith("num_batches_tracked") for k in sd)
    G = UnetGenerator(3, 3, 6, 4, norm="batch")
    G.load_state_dict(weights, strict=True)
    # instance-norm U-Net and ResNet files
    _, described, _, _ = read_generator(reference.unet_state(1, 1, 8, 2, norm="instance"))
    assert (described["generator"], described["norm"], described["in_channels"]) == ("unet_256", "instance", 1)
    _, described, dropped, _ = read_generator(reference.resnet_state(3, 4, 6, stale_stats=True))
    assert described["generator"] == "resnet_6blocks" and described["dropout"] is False and dropped
    with pytest.raises(CheckpointError, match="not a reference generator"):
        read_generator({"conv1.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="holds no tensors"):
        read_generator({"epoch": 3})
