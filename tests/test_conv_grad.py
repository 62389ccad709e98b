"""The matrix-product weight gradient of small bf16 convolutions (`ganzoo.engine.conv_grad`) against PyTorch's own."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from ganzoo.engine import conv_grad
from ganzoo.engine.conv_grad import MatmulGradConv2d, MatmulGradConvTranspose2d, use_matmul_weight_grads

CASES = [
    # module, input shape: small output maps (the product path) and a larger one (PyTorch's path)
    (lambda: nn.Conv2d(64, 96, 4, 2, 1, bias=False), (8, 64, 8, 8)),
    (lambda: nn.Conv2d(32, 16, 3, 1, 1), (4, 32, 4, 4)),
    (lambda: nn.Conv2d(48, 1, 4, 1, 0), (8, 48, 4, 4)),
    (lambda: nn.Conv2d(8, 16, 4, 2, 1), (2, 8, 32, 32)),
    (lambda: nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False), (8, 100, 1, 1)),
    (lambda: nn.ConvTranspose2d(64, 32, 4, 2, 1), (8, 64, 4, 4)),
    (lambda: nn.ConvTranspose2d(16, 8, 4, 2, 1), (2, 16, 16, 16)),
]


def _grads(module: nn.Module, x: torch.Tensor, grad_out: torch.Tensor | None, channels_last: bool):
    module = module.to(memory_format=torch.channels_last) if channels_last else module
    x = x.clone().contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    x.requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = module(x)
    g = torch.randn(y.shape, generator=torch.Generator().manual_seed(1)) if grad_out is None else grad_out
    (y.float() * g).sum().backward()
    return y.float(), x.grad, [p.grad for p in module.parameters()], g


@pytest.mark.parametrize("channels_last", [True, False])
@pytest.mark.parametrize("make, shape", CASES)
def test_bf16_forward_and_gradients_match_pytorch(make, shape, channels_last):
    torch.manual_seed(0)
    plain = make()
    fast = copy.deepcopy(plain)
    assert use_matmul_weight_grads([fast]) == 1
    assert isinstance(fast, (MatmulGradConv2d, MatmulGradConvTranspose2d))
    assert list(fast.state_dict()) == list(plain.state_dict())
    x = torch.randn(shape)
    y_ref, gx_ref, gp_ref, g = _grads(plain, x, None, channels_last)
    y, gx, gp, _ = _grads(fast, x, g, channels_last)
    scale = y_ref.abs().max()
    assert (y - y_ref).abs().max() <= 0.02 * scale  # one extra bf16 rounding where the bias is added
    assert (gx - gx_ref).abs().max() <= 1e-6 + 0.01 * gx_ref.abs().max()
    for got, ref in zip(gp, gp_ref, strict=True):
        assert got.dtype == torch.float32 and got.shape == ref.shape
        assert (got - ref).abs().max() <= 0.02 * ref.abs().max()  # bf16 products, fp32 sums in both


def test_outside_bf16_training_the_module_is_pytorchs_bit_for_bit():
    torch.manual_seed(0)
    plain = nn.Conv2d(32, 64, 4, 2, 1)
    fast = copy.deepcopy(plain)
    use_matmul_weight_grads([fast])
    x = torch.randn(4, 32, 8, 8, requires_grad=True)
    assert torch.equal(fast(x), plain(x))  # fp32
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.equal(fast(x), plain(x))  # inference


def test_a_gradient_penalty_under_the_product_path_is_refused_not_wrong():
    fast = nn.Conv2d(16, 8, 4, 2, 1)
    use_matmul_weight_grads([fast])
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = fast(x).float().sum()
    (grad,) = torch.autograd.grad(y, x, create_graph=True)
    with pytest.raises(RuntimeError):
        grad.square().sum().backward()  # engines compute penalties under twice_differentiable, not here


def test_a_penalty_region_takes_pytorchs_gradients_and_matches_the_plain_module():
    from ganzoo.engine.conv_grad import twice_differentiable

    plain = nn.Conv2d(16, 8, 4, 2, 1)
    fast = copy.deepcopy(plain)
    use_matmul_weight_grads([fast])
    x = torch.randn(2, 16, 8, 8, requires_grad=True)
    penalties = []
    for net in (plain, fast):
        with torch.autocast("cpu", dtype=torch.bfloat16), twice_differentiable():
            y = net(x).float().sum()
        (grad,) = torch.autograd.grad(y, x, create_graph=True)
        grad.square().sum().backward()
        penalties.append(net.weight.grad.clone())
    assert torch.equal(penalties[0], penalties[1])


def test_only_plain_geometries_are_swapped():
    nets = nn.Sequential(nn.Conv2d(8, 8, 3, groups=2), nn.Conv2d(8, 8, 3, dilation=2), nn.Conv2d(8, 8, (3, 1)),
                         nn.Conv2d(8, 8, 3, padding_mode="reflect", padding=1),
                         nn.ConvTranspose2d(8, 8, 3, 2, 1, output_padding=1), nn.Conv2d(8, 8, 3))
    assert use_matmul_weight_grads([nets]) == 1
    assert type(nets[5]) is MatmulGradConv2d and all(type(m) in (nn.Conv2d, nn.ConvTranspose2d) for m in nets[:5])


def test_the_host_decision_is_measured_once_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path))
    monkeypatch.delenv("GANZOO_WEIGHT_GRAD", raising=False)
    conv_grad.choose_weight_grad.cache_clear()
    try:
        first, detail = conv_grad.choose_weight_grad()
        assert "oneDNN" in detail and "product" in detail
        conv_grad.choose_weight_grad.cache_clear()
        monkeypatch.setattr(conv_grad, "probe", lambda: pytest.fail("probed again"))
        again, why = conv_grad.choose_weight_grad()
        assert again == first and "measured earlier on this host" in why
        conv_grad.choose_weight_grad.cache_clear()
        monkeypatch.setenv("GANZOO_WEIGHT_GRAD", "onednn")
        assert conv_grad.choose_weight_grad() == (False, "fixed by GANZOO_WEIGHT_GRAD")
    finally:
        conv_grad.choose_weight_grad.cache_clear()


def test_a_resumed_run_keeps_the_weight_gradients_it_recorded(tmp_path, monkeypatch):
    """A bf16 run records whether it took the product path; a resume on a host that measures otherwise keeps it
    (the gradients, and so the resumed steps, stay the same)."""
    import yaml

    from ganzoo.engine.checkpoint import read_header
    from ganzoo.testing.kit import smoke_train

    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    out = tmp_path / "run"
    tiny = {"g_width": 8, "d_width": 8, "image_size": 16}
    train = {"precision": "bf16", "diagnostics_every": 0, "sample_every": 1000, "batch_size": 8}
    conv_grad.choose_weight_grad.cache_clear()
    monkeypatch.setenv("GANZOO_WEIGHT_GRAD", "matmul")
    smoke_train("dcgan", out, steps=2, overrides=tiny, train_overrides=train)
    last = out / "checkpoints" / "last.safetensors"
    assert read_header(last)["state_structure"]["precision"]["product_weight_grads"] is True
    conv_grad.choose_weight_grad.cache_clear()
    monkeypatch.setenv("GANZOO_WEIGHT_GRAD", "onednn")  # e.g. resumed where the probe says otherwise
    try:
        smoke_train("dcgan", out, steps=4, overrides=tiny, train_overrides=train)
    finally:
        conv_grad.choose_weight_grad.cache_clear()
    assert read_header(last)["state_structure"]["precision"]["product_weight_grads"] is True
    host = yaml.safe_load((out / "config.yaml").read_text())["host"]
    assert host["weight_grads"].startswith("matrix product") and "kept as this run recorded it" in host["weight_grads"]
