"""ganzoo.nn.minibatch_std and the DCGAN discriminator's `mbstd_group` option (off by default)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganzoo.nn import DCGANDiscriminator, MinibatchStdDev, minibatch_stddev
from ganzoo.nn.minibatch_std import EPSILON, divisor_group


def test_statistic_by_hand() -> None:
    # Batch of 4, groups of 2: sample i is grouped with i + 2. Group (0, 2) differs by 2 everywhere
    # (std 1 per feature); group (1, 3) holds two identical images (std sqrt(EPSILON)).
    x = torch.zeros(4, 3, 2, 2)
    x[0], x[2] = 1.0, 3.0
    x[1] = x[3] = torch.arange(12.0).reshape(3, 2, 2)
    y = minibatch_stddev(x, group=2)
    assert y.shape == (4, 4, 2, 2)
    assert torch.equal(y[:, :3], x)
    expected = torch.tensor([1.0, EPSILON ** 0.5, 1.0, EPSILON ** 0.5])
    assert torch.allclose(y[:, 3], expected.reshape(4, 1, 1).expand(4, 2, 2), rtol=1e-5)


def test_statistic_is_the_mean_biased_std_over_each_group() -> None:
    torch.manual_seed(0)
    x = torch.randn(12, 5, 4, 4)
    y = minibatch_stddev(x, group=4)  # 3 groups of 4: {0, 3, 6, 9}, {1, 4, 7, 10}, {2, 5, 8, 11}
    for first in range(3):
        members = x[first::3]
        want = members.std(dim=0, unbiased=False).mean()
        assert torch.allclose(y[first::3, 5], want.expand(4, 4, 4), atol=1e-6)


@pytest.mark.parametrize("batch,group,size", [(32, 4, 4), (6, 4, 3), (7, 4, 1), (2, 4, 2), (1, 4, 1)])
def test_group_size_divides_the_batch(batch: int, group: int, size: int) -> None:
    assert divisor_group(batch, group) == size
    assert minibatch_stddev(torch.randn(batch, 2, 3, 3), group).shape == (batch, 3, 3, 3)


def test_gradient_reaches_every_member_and_the_layer_can_be_off() -> None:
    x = torch.randn(8, 2, 3, 3, requires_grad=True)
    minibatch_stddev(x, 4)[:, 2].sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().min()) > 0
    off = MinibatchStdDev(1)
    assert off.extra_channels == 0 and off(x) is x
    assert MinibatchStdDev(4).extra_channels == 1 and MinibatchStdDev(4)(x).shape == (8, 3, 3, 3)


def test_bf16_input_keeps_its_dtype() -> None:
    y = minibatch_stddev(torch.randn(8, 2, 3, 3).bfloat16(), 4)
    assert y.dtype == torch.bfloat16 and bool(torch.isfinite(y.float()).all())


def test_discriminator_default_is_unchanged_and_option_adds_one_channel_before_the_last_conv() -> None:
    torch.manual_seed(0)
    plain = DCGANDiscriminator(32, 1, width=8)
    torch.manual_seed(0)
    same = DCGANDiscriminator(32, 1, width=8, mbstd_group=1)
    assert list(plain.state_dict()) == list(same.state_dict())  # checkpoints of cgan/wgan keep their keys
    assert not any(isinstance(m, MinibatchStdDev) for m in plain.modules())
    D = DCGANDiscriminator(32, 1, width=8, mbstd_group=4)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.in_channels for c in convs] == [1, 8, 16 + 1, 32]  # 8 x 8 map plus the spread channel
    assert D.feature_channels == 32 and D.features(torch.randn(8, 1, 32, 32)).shape == (8, 32, 4, 4)
    assert D(torch.randn(8, 1, 32, 32)).shape == (8,)


def test_discriminator_scores_depend_on_the_rest_of_the_group() -> None:
    torch.manual_seed(0)
    D = DCGANDiscriminator(16, 1, width=4, norm="none", mbstd_group=4).eval()
    x = torch.randn(4, 1, 16, 16)
    varied = D(x)
    alike = D(x[:1].expand(4, 1, 16, 16).contiguous())
    assert not torch.allclose(varied[0], alike[0])  # the same image scores differently in a uniform batch
    plain = DCGANDiscriminator(16, 1, width=4, norm="none").eval()
    assert torch.allclose(plain(x)[0], plain(x[:1].expand(4, 1, 16, 16).contiguous())[0])
