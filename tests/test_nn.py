"""ganzoo.nn: the shared DCGAN networks follow the paper's layout at every supported size."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.nn import DCGANDiscriminator, DCGANGenerator, dcgan_depth, norm2d, normal_init_, stage_widths


def layers(net: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in net.modules() if isinstance(m, kind)]


@pytest.mark.parametrize("size", [16, 32, 64, 128, 256])
@pytest.mark.parametrize("channels", [1, 3])
def test_sizes_and_depth_follow_the_image_size(size: int, channels: int) -> None:
    torch.manual_seed(0)
    G = DCGANGenerator(10, size, channels, width=4)
    D = DCGANDiscriminator(size, channels, width=4)
    images = G(torch.randn(2, 10))
    assert images.shape == (2, channels, size, size)
    assert images.abs().max() <= 1.0
    assert D(images).shape == (2,)
    depth = dcgan_depth(size)
    assert depth == {16: 2, 32: 3, 64: 4, 128: 5, 256: 6}[size]
    # G: one 4x4 projection + one stride-2 transposed conv per doubling; D: one stride-2 conv per halving + head.
    convs_t = layers(G, nn.ConvTranspose2d)
    assert len(convs_t) == depth + 1
    assert convs_t[0].stride == (1, 1) and all(c.stride == (2, 2) for c in convs_t[1:])
    convs = layers(D, nn.Conv2d)
    assert len(convs) == depth + 1
    assert all(c.stride == (2, 2) for c in convs[:-1]) and convs[-1].kernel_size == (4, 4)


def test_paper_layout_at_64() -> None:
    G = DCGANGenerator(100, 64, 3, width=64)
    D = DCGANDiscriminator(64, 3, width=64)
    assert [c.out_channels for c in layers(G, nn.ConvTranspose2d)] == [512, 256, 128, 64, 3]
    assert [c.out_channels for c in layers(D, nn.Conv2d)] == [64, 128, 256, 512, 1]
    # Batch norm after every generator layer but the output; in every discriminator layer but the first.
    assert len(layers(G, nn.BatchNorm2d)) == 4 and len(layers(D, nn.BatchNorm2d)) == 3
    assert isinstance(list(G.body)[-1], nn.Tanh) and len(layers(G, nn.ReLU)) == 4
    assert {m.negative_slope for m in layers(D, nn.LeakyReLU)} == {0.2} and len(layers(D, nn.LeakyReLU)) == 4
    assert not layers(D, nn.Sigmoid)


def test_critic_without_batch_norm_and_width_cap() -> None:
    D = DCGANDiscriminator(32, 1, width=8, norm="none")
    assert not layers(D, nn.BatchNorm2d) and all(c.bias is not None for c in layers(D, nn.Conv2d))
    L = DCGANDiscriminator(32, 1, width=8, norm="layer")
    assert len(layers(L, nn.GroupNorm)) == 2
    assert stage_widths(256, 64, max_width=256) == [64, 128, 256, 256, 256, 256]
    # Per-example normalisation: a critic without batch norm scores each image independently of the batch.
    x = torch.randn(4, 1, 32, 32)
    assert torch.allclose(L(x)[:2], L(x[:2]), atol=1e-6)


def test_init_is_normal_with_std_002() -> None:
    torch.manual_seed(0)
    G = DCGANGenerator(100, 64, 3, width=64)
    weights = torch.cat([c.weight.detach().flatten() for c in layers(G, nn.ConvTranspose2d)])
    assert abs(float(weights.mean())) < 1e-3 and float(weights.std()) == pytest.approx(0.02, rel=0.02)
    scales = torch.cat([b.weight.detach() for b in layers(G, nn.BatchNorm2d)])
    assert float(scales.mean()) == pytest.approx(1.0, abs=0.01) and float(scales.std()) == pytest.approx(0.02, rel=0.2)
    lin = normal_init_(nn.Linear(1000, 100), std=0.5)
    assert float(lin.weight.detach().std()) == pytest.approx(0.5, rel=0.02) and float(lin.bias.detach().abs().max()) == 0.0


@pytest.mark.parametrize("size", [8, 24, 512])
def test_unsupported_sizes_are_refused(size: int) -> None:
    with pytest.raises(ValueError, match="power of two from 16 to 256"):
        DCGANGenerator(10, size, 1)


def test_norm_names() -> None:
    assert isinstance(norm2d("none", 4), nn.Identity)
    with pytest.raises(ValueError, match="unknown normalisation"):
        norm2d("spectral", 4)
