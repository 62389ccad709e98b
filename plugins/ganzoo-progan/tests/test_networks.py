"""ProGAN's layers and networks: equalised lr, pixel norm, minibatch stddev, growth and fade-in maths."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from ganzoo_progan.layers import (
    EqualizedConv2d,
    EqualizedLinear,
    downscale2d,
    group_size_for,
    minibatch_stddev,
    pixel_norm,
    upscale2d,
)
from ganzoo_progan.networks import Discriminator, Generator, hidden_width, stage_widths


def small_pair(image_size: int = 32, channels: int = 3) -> tuple[Generator, Discriminator]:
    torch.manual_seed(0)
    widths = stage_widths(image_size, fmap_base=64, fmap_max=16)
    return Generator(12, widths, channels), Discriminator(widths, channels, hidden_width(64, 16), mbstd_group=4)


# -- layers ---------------------------------------------------------------------------------------
def test_equalized_layers_store_unit_weights_and_scale_at_run_time() -> None:
    torch.manual_seed(1)
    conv = EqualizedConv2d(64, 32, 3)
    assert abs(conv.weight.std().item() - 1.0) < 0.02 and torch.all(conv.bias == 0)
    assert conv.scale == pytest.approx(math.sqrt(2.0) / math.sqrt(64 * 9))
    x = torch.randn(2, 64, 5, 5)
    with torch.no_grad():
        conv.bias.normal_()
        expected = F.conv2d(x, conv.weight * math.sqrt(2.0 / 576), padding=1) + conv.bias.view(1, -1, 1, 1)
        assert torch.allclose(conv(x), expected, atol=1e-5)
    dense = EqualizedLinear(100, 7, gain=1.0)
    assert dense.scale == pytest.approx(0.1)
    y = torch.randn(3, 100)
    with torch.no_grad():
        assert torch.allclose(dense(y), y @ (dense.weight * 0.1).t(), atol=1e-6)


def _relative_adam_step(layer: torch.nn.Module, fan_in: int, scale: float) -> float:
    """One Adam step's change of the effective weights, relative to their spread."""
    before = layer.weight.detach().clone() * scale
    opt = torch.optim.Adam(layer.parameters(), lr=1e-3, betas=(0.0, 0.99))
    layer(torch.randn(64, fan_in)).pow(2).mean().backward()
    opt.step()
    after = layer.weight.detach() * scale
    return float((after - before).abs().mean() / before.std())


def test_equalized_lr_makes_adam_steps_scale_free() -> None:
    # Adam moves every stored weight by about lr; with run-time scaling, the effective weights of a
    # narrow and of a wide layer then change by the same fraction of their spread. Without it (plain
    # layers with He-style initialisation) the wide layer's weights change sqrt(64) = 8 times faster.
    torch.manual_seed(2)
    eq = [_relative_adam_step(layer, n, layer.scale) for n in (8, 512) for layer in [EqualizedLinear(n, 16)]]
    assert eq[0] == pytest.approx(1e-3, rel=0.05) and eq[1] == pytest.approx(1e-3, rel=0.05)
    plain = [_relative_adam_step(torch.nn.Linear(n, 16), n, 1.0) for n in (8, 512)]
    assert plain[1] / plain[0] == pytest.approx(8.0, rel=0.15)


def test_pixel_norm_gives_unit_mean_square_per_pixel() -> None:
    x = torch.randn(3, 10, 4, 4) * 7
    y = pixel_norm(x)
    assert torch.allclose(y.pow(2).mean(dim=1), torch.ones(3, 4, 4), atol=1e-5)
    by_hand = x[1, :, 2, 3] / torch.sqrt(x[1, :, 2, 3].pow(2).mean() + 1e-8)
    assert torch.allclose(y[1, :, 2, 3], by_hand)


def test_resampling_is_nearest_up_and_box_down() -> None:
    x = torch.arange(4.0).view(1, 1, 2, 2)
    assert torch.equal(upscale2d(x), torch.tensor([[[[0.0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]]]))
    assert torch.equal(downscale2d(upscale2d(x)), x)
    y = torch.arange(16.0).view(1, 1, 4, 4)
    assert downscale2d(y)[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 4 + 5) / 4)
    assert torch.allclose(downscale2d(y, 4), y.mean().view(1, 1, 1, 1))


def test_minibatch_stddev_by_hand() -> None:
    torch.manual_seed(3)
    x = torch.randn(8, 3, 2, 2)
    out = minibatch_stddev(x, group=4)
    assert out.shape == (8, 4, 2, 2) and torch.equal(out[:, :3], x)
    # Groups are samples {0, 2, 4, 6} and {1, 3, 5, 7}: biased std per feature and pixel, then averaged.
    for member in range(2):
        group = x[member::2]
        std = torch.sqrt(((group - group.mean(0)) ** 2).mean(0) + 1e-8).mean()
        for i in range(member, 8, 2):
            assert torch.allclose(out[i, 3], std.expand(2, 2), atol=1e-6)
    # Identical samples: the statistic is sqrt(1e-8).
    same = minibatch_stddev(torch.ones(4, 2, 3, 3))
    assert torch.allclose(same[:, 2], torch.full((4, 3, 3), 1e-4))


def test_minibatch_group_size_divides_the_batch() -> None:
    assert [group_size_for(n, 4) for n in (1, 2, 3, 4, 6, 14, 16)] == [1, 2, 3, 4, 3, 2, 4]


# -- widths --------------------------------------------------------------------------------------
def test_paper_widths_per_resolution() -> None:
    # Karras et al. 2018, table 2: 512 feature maps from 4x4 to 32x32, then 256, 128, 64, 32, 16.
    assert stage_widths(1024) == [512, 512, 512, 512, 256, 128, 64, 32, 16]
    assert hidden_width() == 512
    assert stage_widths(64, fmap_base=8192, fmap_max=128) == [128, 128, 128, 128, 128]
    assert stage_widths(32, fmap_base=256, fmap_max=64) == [64, 64, 32, 16]
    assert stage_widths(16, widths=(7, 6, 5, 4)) == [7, 6, 5]
    with pytest.raises(ValueError):
        stage_widths(64, widths=(8, 8))


# -- growth --------------------------------------------------------------------------------------
def test_shapes_at_every_stage_and_parameter_set_never_changes() -> None:
    G, D = small_pair(32, 3)
    names = [n for n, _ in G.named_parameters()] + [n for n, _ in D.named_parameters()]
    z = torch.randn(4, 12)
    for stage in range(4):
        for alpha in (0.0, 0.5, 1.0):
            images = G(z, stage, alpha)
            r = 4 * 2 ** stage
            assert images.shape == (4, 3, r, r)
            assert D(images, stage, alpha).shape == (4,)
    assert [n for n, _ in G.named_parameters()] + [n for n, _ in D.named_parameters()] == names
    with pytest.raises(ValueError, match="8x8"):
        D(torch.zeros(4, 3, 16, 16), 1, 1.0)


def test_generator_fade_in_maths() -> None:
    G, _ = small_pair(32, 1)
    z = torch.randn(5, 12)
    with torch.no_grad():
        for stage in (1, 2, 3):
            lower = G(z, stage - 1, 1.0)
            # alpha 0: exactly the lower resolution's output, up-sampled (nearest).
            assert torch.equal(G(z, stage, 0.0), lower.repeat_interleave(2, 2).repeat_interleave(2, 3))
            # alpha 1: the new block's toRGB alone.
            features, previous = G.features(z, stage)
            assert torch.equal(G(z, stage, 1.0), G.to_rgb[stage](features))
            # In between: the linear blend of the two.
            low = F.interpolate(G.to_rgb[stage - 1](previous), scale_factor=2, mode="nearest")
            assert torch.allclose(G(z, stage, 0.25), 0.75 * low + 0.25 * G.to_rgb[stage](features), atol=1e-6)


def test_discriminator_fade_in_maths() -> None:
    _, D = small_pair(32, 1)
    D.mbstd_group = 1  # compare single images: no cross-sample statistic
    D.conv4 = EqualizedConv2d(D.widths[0], D.widths[0], 3)
    x = torch.randn(6, 1, 16, 16)
    with torch.no_grad():
        # alpha 0: the lower stage's critic on the box-filtered images.
        assert torch.allclose(D(x, 2, 0.0), D(F.avg_pool2d(x, 2), 1, 1.0), atol=1e-6)
        # Scores are linear in the blend of the two 8x8 feature paths: check at the feature level.
        new = downscale2d(F.leaky_relu(D.blocks[1].conv2(F.leaky_relu(D.blocks[1].conv1(
            F.leaky_relu(D.from_rgb[2](x), 0.2)), 0.2)), 0.2))
        old = F.leaky_relu(D.from_rgb[1](F.avg_pool2d(x, 2)), 0.2)
        captured = {}
        handle = D.blocks[0].conv1.register_forward_pre_hook(lambda m, args: captured.update(x=args[0]))
        D(x, 2, 0.3)
        handle.remove()
        assert torch.allclose(captured["x"], 0.7 * old + 0.3 * new, atol=1e-6)


def test_generator_buffers_hold_the_stage_it_runs_at() -> None:
    G, _ = small_pair(32, 1)
    z = torch.randn(2, 12)
    assert G.resolution == 4 and G(z).shape[-1] == 4
    G.set_position(2, 0.5)
    assert G.resolution == 16 and torch.equal(G(z), G(z, 2, 0.5))
    assert set(G.state_dict()) >= {"stage", "alpha"}
    with pytest.raises(ValueError):
        G.set_position(4, 1.0)
