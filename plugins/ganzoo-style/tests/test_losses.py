"""The losses of style transfer against values computed by hand."""

from __future__ import annotations

import pytest
import torch
from ganzoo_style.images import keep_colors, rgb_to_yiq, yiq_to_rgb
from ganzoo_style.losses import blend_grams, content_loss, gram_matrix, style_loss, tv_loss


def test_gram_matrix_by_hand() -> None:
    # Two channels of two pixels: F = [[1, 2], [3, 4]]; F F^T = [[5, 11], [11, 25]]; C*H*W = 4.
    features = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)
    expected = torch.tensor([[[1.25, 2.75], [2.75, 6.25]]])
    assert torch.allclose(gram_matrix(features), expected)


def test_gram_matrix_is_per_image_in_a_batch() -> None:
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)
    b = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).view(1, 2, 1, 2)  # F F^T = [[1, 0], [0, 1]]
    grams = gram_matrix(torch.cat([a, b]))
    assert grams.shape == (2, 2, 2)
    assert torch.allclose(grams[1], torch.tensor([[0.25, 0.0], [0.0, 0.25]]))


def test_content_loss_by_hand() -> None:
    features = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    target = torch.tensor([1.0, 0.0, 3.0, 2.0]).view(1, 1, 2, 2)
    # differences 0, 2, 0, 2 -> mean of squares (0 + 4 + 0 + 4) / 4 = 2
    assert content_loss(features, target).item() == pytest.approx(2.0)


def test_style_loss_by_hand() -> None:
    features = {"a": torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)}
    targets = {"a": torch.zeros(1, 2, 2)}
    # Gram [[1.25, 2.75], [2.75, 6.25]] vs 0: (1.5625 + 2 * 7.5625 + 39.0625) / 4 = 13.9375
    assert style_loss(features, targets).item() == pytest.approx(13.9375)
    assert style_loss(features, targets, {"a": 2.0}).item() == pytest.approx(27.875)
    # A second layer whose Gram matches its target adds nothing; the loss sums over layers.
    features["b"] = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).view(1, 2, 1, 2)
    targets["b"] = torch.tensor([[[0.25, 0.0], [0.0, 0.25]]])
    assert style_loss(features, targets).item() == pytest.approx(13.9375)
    targets["b"] = torch.zeros(1, 2, 2)  # now (0.0625 + 0.0625) / 4 = 0.03125 more
    assert style_loss(features, targets).item() == pytest.approx(13.96875)


def test_tv_loss_by_hand() -> None:
    image = torch.tensor([[0.0, 1.0], [2.0, 4.0]]).view(1, 1, 2, 2)
    # vertical differences 2, 3 -> 6.5; horizontal 1, 2 -> 2.5
    assert tv_loss(image).item() == pytest.approx(9.0)
    assert tv_loss(torch.full((1, 3, 5, 7), 0.3)).item() == 0.0


def test_blend_grams_weighted_average() -> None:
    g1 = {"x": torch.ones(1, 2, 2)}
    g2 = {"x": torch.full((1, 2, 2), 5.0)}
    blended = blend_grams([g1, g2], [1.0, 3.0])
    assert torch.allclose(blended["x"], torch.full((1, 2, 2), 4.0))  # (1 * 1 + 3 * 5) / 4
    with pytest.raises(ValueError):
        blend_grams([g1, g2], [0.0, 0.0])


def test_colour_preservation_keeps_luminance_and_takes_chroma() -> None:
    g = torch.Generator().manual_seed(0)
    stylized = 0.3 + 0.4 * torch.rand(1, 3, 6, 5, generator=g)
    content = 0.3 + 0.4 * torch.rand(1, 3, 6, 5, generator=g)
    out = keep_colors(stylized, content)
    assert torch.allclose(rgb_to_yiq(out)[:, 0], rgb_to_yiq(stylized)[:, 0], atol=1e-5)
    assert torch.allclose(rgb_to_yiq(out)[:, 1:], rgb_to_yiq(content)[:, 1:], atol=1e-5)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(content)), content, atol=1e-5)
