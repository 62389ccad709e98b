"""Where a gradient penalty computes under mixed precision (`StepContext.penalty_precision`)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganzoo.engine.precision import Precision
from ganzoo.losses import gradient_penalty

CPU = torch.device("cpu")


def _conv_dtype(precision: Precision) -> torch.dtype:
    x, w = torch.randn(1, 2, 5, 5), torch.randn(3, 2, 3, 3)
    with precision.penalty_precision():  # engines call penalties outside the step's autocast
        return F.conv2d(x, w).dtype


@pytest.mark.parametrize(("mode", "dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16),
                                             ("fp16", torch.float32)])
def test_bf16_keeps_its_autocast_for_penalties_and_fp16_computes_them_in_fp32(mode: str, dtype: torch.dtype) -> None:
    assert _conv_dtype(Precision.create(mode, CPU)) == dtype


@pytest.mark.parametrize("product_grads", [False, True], ids=["pytorch-convs", "product-grad-convs"])
def test_a_bf16_penalty_is_close_to_the_fp32_one_and_reaches_the_critic(product_grads: bool) -> None:
    from ganzoo.engine.conv_grad import use_matmul_weight_grads

    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.LeakyReLU(0.2),
                                 torch.nn.Conv2d(16, 16, 3, stride=2, padding=1), torch.nn.LeakyReLU(0.2),
                                 torch.nn.Flatten(), torch.nn.Linear(16 * 4 * 4, 1))  # 4x4: the product path's small map
    if product_grads:  # what the engine swaps in under bf16 (its backward cannot be differentiated again)
        use_matmul_weight_grads([critic])
    real, fake = torch.randn(32, 1, 8, 8), torch.randn(32, 1, 8, 8)
    values, grads = {}, {}
    for mode in ("fp32", "bf16"):
        precision = Precision.create(mode, CPU)
        critic.zero_grad(set_to_none=True)
        with precision.penalty_precision():
            gp = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
        gp.backward()
        values[mode] = gp.item()
        grads[mode] = torch.cat([p.grad.flatten() for p in critic.parameters() if p.grad is not None])
    assert values["bf16"] == pytest.approx(values["fp32"], rel=0.03)
    cosine = F.cosine_similarity(grads["bf16"], grads["fp32"], dim=0).item()
    assert cosine > 0.99, cosine  # the same direction for the critic's update
