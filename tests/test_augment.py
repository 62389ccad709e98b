"""Discriminator augmentation (`--augment`): the option, ADA's transforms and controller, DiffAugment.

The transforms are checked by their statistics over many draws and by exact geometry on images whose
result is known (a flipped ramp, a shifted image); gradients by finite differences.
"""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.augment import ada, diffaugment
from ganzoo.augment.augmentation import Augmentation
from ganzoo.augment.controller import AdaController
from ganzoo.augment.spec import AugmentSpec, parse_augment
from ganzoo.errors import ConfigError


def _smooth(n: int = 2, channels: int = 1, size: int = 16) -> torch.Tensor:
    """Low-frequency images (sums of a few cosines), which 2x resampling keeps almost exactly."""
    g = torch.Generator().manual_seed(3)
    y, x = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    out = torch.zeros(n, channels, size, size)
    for _ in range(3):
        a, fx, fy, ph = torch.rand(4, n, channels, 1, 1, generator=g)
        out += 0.3 * a * torch.cos(2 * math.pi * (fx * 1.5 * x + fy * 1.5 * y) + 6 * ph)
    return out


# -- the option ---------------------------------------------------------------------------------------
def test_parse_defaults_and_options() -> None:
    assert parse_augment(None) == AugmentSpec() and not parse_augment("none").enabled
    spec = parse_augment("ada")
    assert (spec.kind, spec.pipeline, spec.target, spec.p, spec.kimg, spec.interval) == ("ada", "bgc", 0.6, 0.0, 500, 4)
    spec = parse_augment("ada:bg,target=0.7,p=0.25,kimg=100,interval=8")
    assert (spec.pipeline, spec.target, spec.p, spec.kimg, spec.interval) == ("bg", 0.7, 0.25, 100, 8)
    assert parse_augment("ada:target=none,p=0.3").adaptive is False
    assert parse_augment("diffaugment").policy == ("color", "translation", "cutout")
    assert parse_augment("DiffAugment:cutout,color").policy == ("cutout", "color")


@pytest.mark.parametrize("text, words", [
    ("mixup", ["unknown --augment", "ada", "diffaugment"]),
    ("ada:bgcfn", ["pipeline", "bgc"]),
    ("ada:target=2", ["target", "0 to 1"]),
    ("ada:p=nan", ["p must be"]),
    ("ada:speed=3", ["unknown ADA option"]),
    ("ada:interval=2.5", ["whole number"]),
    ("diffaugment:rotate", ["rotate", "color, translation, cutout"]),
    ("none:x", ["takes no options"]),
])
def test_parse_mistakes_are_one_line(text: str, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        parse_augment(text)
    message = str(info.value)
    assert "\n" not in message and all(w in message for w in words), message


# -- identity and gradients ------------------------------------------------------------------------------
def test_none_and_p_zero_are_the_identity() -> None:
    images = torch.randn(4, 3, 8, 8)
    for text in ("none", "ada", "ada:target=none,p=0"):
        augment = Augmentation(text, seed=1)
        state = augment.generator.get_state()
        assert augment(images) is images
        assert torch.equal(augment.generator.get_state(), state)  # nothing drawn


@pytest.mark.parametrize("kind", ["ada:target=none,p=1", "ada:target=none,p=0.5,geom", "diffaugment"])
def test_transforms_are_differentiable(kind: str) -> None:
    spec = parse_augment(kind)
    images = (torch.rand(2, 1, 8, 8, dtype=torch.float64) * 2 - 1).requires_grad_(True)

    def fn(x: torch.Tensor) -> torch.Tensor:
        g = torch.Generator().manual_seed(5)  # the same draw on every call
        if spec.kind == "ada":
            return ada.ada_augment(x, spec.p, ("blit", "geom", "color") if spec.pipeline == "bgc" else ("geom",), g)
        return diffaugment.diff_augment(x, spec.policy, g)

    out = fn(images)
    assert not torch.equal(out, images)
    assert torch.autograd.gradcheck(fn, (images,), eps=1e-6, atol=1e-5)


def test_augmentation_keeps_the_graph_of_generated_images() -> None:
    weight = torch.tensor(0.5, requires_grad=True)
    fake = torch.tanh(torch.randn(8, 3, 16, 16) * weight)
    for text in ("ada:target=none,p=1", "diffaugment"):
        weight.grad = None
        Augmentation(text, seed=0)(fake).square().mean().backward(retain_graph=True)
        assert weight.grad is not None and torch.isfinite(weight.grad) and weight.grad != 0


# -- ADA's parameters: each transform at probability p ---------------------------------------------
def test_each_transform_is_chosen_with_probability_p() -> None:
    n = 20000
    g = torch.Generator().manual_seed(0)
    at1 = ada.draw_parameters(n, 1.0, g)
    assert abs(at1["xflip"].mean().item() - 0.5) < 0.02  # x-flip half the time at p = 1
    assert abs(at1["lumaflip"].mean().item() - 0.5) < 0.02
    counts = torch.bincount(at1["rotate90"].long(), minlength=4).float() / n
    assert torch.allclose(counts, torch.full((4,), 0.25), atol=0.02)
    assert at1["xint"].abs().max() <= ada.INT_TRANSLATION_MAX
    assert abs(at1["scale"].log2().std().item() - ada.SCALE_STD) < 0.01
    assert abs(at1["aniso"].log2().std().item() - ada.ANISO_STD) < 0.01
    assert abs(at1["xfrac"].std().item() - ada.FRAC_TRANSLATION_STD) < 0.005
    assert abs(at1["brightness"].std().item() - ada.BRIGHTNESS_STD) < 0.01
    assert abs(at1["contrast"].log2().std().item() - ada.CONTRAST_STD) < 0.02
    assert abs(at1["saturation"].log2().std().item() - ada.SATURATION_STD) < 0.03
    assert abs(at1["hue"].abs().mean().item() - math.pi / 2) < 0.05  # uniform over the circle
    rotated = (at1["rotate_pre"] != 0) | (at1["rotate_post"] != 0)
    assert rotated.all()

    p = 0.3
    at = ada.draw_parameters(n, p, torch.Generator().manual_seed(1))
    for key, identity in [("scale", 1.0), ("aniso", 1.0), ("brightness", 0.0), ("contrast", 1.0),
                          ("hue", 0.0), ("saturation", 1.0)]:
        assert abs((at[key] != identity).float().mean().item() - p) < 0.015, key
    assert abs((at["xint"] != 0).any(dim=1).float().mean().item() - p) < 0.015
    assert abs(at["xflip"].mean().item() - p / 2) < 0.015
    assert abs((at["rotate90"] != 0).float().mean().item() - p * 0.75) < 0.015
    # One or both rotations with probability p in all (each 1 - sqrt(1 - p)).
    rotated = (at["rotate_pre"] != 0) | (at["rotate_post"] != 0)
    assert abs(rotated.float().mean().item() - p) < 0.015


def test_parameters_are_drawn_alike_for_every_p() -> None:
    a = torch.Generator().manual_seed(9)
    b = torch.Generator().manual_seed(9)
    ada.draw_parameters(7, 0.1, a)
    ada.draw_parameters(7, 0.9, b)
    assert torch.equal(a.get_state(), b.get_state())


# -- ADA's execution: exact geometry ----------------------------------------------------------------
def _one(matrix: torch.Tensor, n: int) -> torch.Tensor:
    return matrix.expand(n, 3, 3)


def test_identity_warp_reconstructs_the_image() -> None:
    # Odd, even and non-square sides; white noise, seeded: the filters' float rounding reaches 2.7e-6 of
    # the largest value (worst of 300 seeds), so the bound is relative to it.
    images = torch.randn(3, 3, 15, 12, generator=torch.Generator().manual_seed(0))
    out = ada.resample(images, torch.eye(3).expand(3, 3, 3))
    assert out.shape == images.shape and (out - images).abs().max() < 1e-5 * images.abs().max()


def test_integer_translation_moves_pixels_exactly() -> None:
    images = torch.randn(2, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    # Inverse warp: output pixel (x, y) reads input (x - 3, y + 2).
    warp = _one(ada._translate(torch.tensor([-3.0]), torch.tensor([2.0])), 2)
    out = ada.resample(images, warp)
    assert (out[:, :, 3:-3, 4:-4] - images[:, :, 5:-1, 1:-7]).abs().max() < 1e-5 * images.abs().max()


def test_flips_and_quarter_turns_match_torch_on_smooth_images() -> None:
    images = _smooth()
    flip = ada.blit_warp({"xflip": torch.ones(2), "rotate90": torch.zeros(2), "xint": torch.zeros(2, 2)}, 16, 16)
    assert (ada.resample(images, flip) - images.flip(3)).abs().max() < 0.02
    turn = ada.blit_warp({"xflip": torch.zeros(2), "rotate90": torch.ones(2), "xint": torch.zeros(2, 2)}, 16, 16)
    turned = ada.resample(images, turn)
    assert min((turned - torch.rot90(images, k, (2, 3))).abs().max().item() for k in (1, 3)) < 0.02


def test_isotropic_scaling_magnifies_about_the_centre() -> None:
    images = _smooth(size=32)
    params = {"scale": torch.full((2,), 2.0), "aniso": torch.ones(2), "rotate_pre": torch.zeros(2),
              "rotate_post": torch.zeros(2), "xfrac": torch.zeros(2, 2)}
    out = ada.resample(images, ada.geometric_warp(params, 32, 32))
    # Output offset d from the centre shows input offset d / 2: compare with bilinear zoom of the middle.
    middle = images[:, :, 8:24, 8:24]
    zoomed = torch.nn.functional.interpolate(middle, scale_factor=2, mode="bilinear", align_corners=False)
    assert (out[:, :, 4:-4, 4:-4] - zoomed[:, :, 4:-4, 4:-4]).abs().max() < 0.03


def test_colour_transforms_do_what_they_say() -> None:
    images = torch.rand(4, 3, 6, 6) * 2 - 1
    n = images.shape[0]

    def params(**values: torch.Tensor) -> dict[str, torch.Tensor]:
        base = {"brightness": torch.zeros(n), "contrast": torch.ones(n), "lumaflip": torch.zeros(n),
                "hue": torch.zeros(n), "saturation": torch.ones(n)}
        return {**base, **values}

    out = ada.apply_colour(images, ada.colour_matrix(params(brightness=torch.full((n,), 0.3))))
    assert torch.allclose(out, images + 0.3, atol=1e-6)
    out = ada.apply_colour(images, ada.colour_matrix(params(contrast=torch.full((n,), 2.0))))
    assert torch.allclose(out, images * 2, atol=1e-6)
    gray = images.mean(dim=1, keepdim=True)
    out = ada.apply_colour(images, ada.colour_matrix(params(saturation=torch.zeros(n))))
    assert torch.allclose(out, gray.expand_as(images), atol=1e-6)
    out = ada.apply_colour(images, ada.colour_matrix(params(lumaflip=torch.ones(n))))
    assert torch.allclose(out, images - 2 * gray, atol=1e-6)  # the luma component reverses
    out = ada.apply_colour(images, ada.colour_matrix(params(hue=torch.full((n,), 2 * math.pi / 3))))
    assert torch.allclose(out, images.roll(1, dims=1), atol=1e-5)  # a third of a turn permutes R, G, B
    assert torch.allclose(out.mean(dim=1), images.mean(dim=1), atol=1e-6)
    # Gray images: brightness, contrast and luma flip (which inverts them) apply, hue and saturation cannot.
    one = images[:, :1]
    out = ada.apply_colour(one, ada.colour_matrix(params(lumaflip=torch.ones(n), saturation=torch.zeros(n))))
    assert torch.allclose(out, -one, atol=1e-6)


def test_ada_at_p_one_changes_every_image_and_keeps_the_range_sane() -> None:
    augment = Augmentation("ada:target=none,p=1", seed=0)
    images = _smooth(n=64, channels=3, size=16)
    out = augment(images)
    assert out.shape == images.shape and torch.isfinite(out).all()
    changed = (out - images).flatten(1).abs().amax(dim=1) > 1e-3
    assert changed.float().mean() > 0.95
    assert out.abs().max() < 20


def test_same_seed_same_augmentations_other_seed_others() -> None:
    images = torch.randn(4, 1, 16, 16)
    a = Augmentation("ada:target=none,p=0.8", seed=4)(images)
    b = Augmentation("ada:target=none,p=0.8", seed=4)(images)
    c = Augmentation("ada:target=none,p=0.8", seed=5)(images)
    assert torch.equal(a, b) and not torch.equal(a, c)


# -- DiffAugment ------------------------------------------------------------------------------------------
def test_diffaugment_translation_shifts_whole_pixels_with_zeros() -> None:
    images = torch.rand(64, 1, 16, 16) + 1  # all positive, so a zero shows where the shift let zeros in
    out = diffaugment.translation(images, torch.Generator().manual_seed(0))
    for i in range(64):
        shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                  if torch.equal(out[i], _shifted(images[i], dy, dx))]
        assert len(shifts) == 1
    assert (out == 0).any(dim=(1, 2, 3)).float().mean() > 0.5


def _shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_diffaugment_cutout_zeros_a_square_of_half_the_side() -> None:
    images = torch.rand(200, 1, 16, 16) + 1
    out = diffaugment.cutout(images, torch.Generator().manual_seed(0))
    zeros = (out == 0).sum(dim=(1, 2, 3)).float()
    assert zeros.max() == 64 and zeros.min() >= 16  # 8 x 8, clipped at the borders to at least 4 x 4
    # Centres are uniform over 0..16 on each axis; 4..12 keep the square whole: (9/17)^2 of the time.
    assert abs((zeros == 64).float().mean() - (9 / 17) ** 2) < 0.07


def test_diffaugment_colour_ranges() -> None:
    images = torch.zeros(1000, 3, 2, 2)
    out = diffaugment.color(images, torch.Generator().manual_seed(0))
    shift = out[:, 0, 0, 0]  # brightness only on a flat image
    assert shift.min() >= -0.5 and shift.max() <= 0.5 and abs(shift.mean()) < 0.05


# -- ADA's controller ---------------------------------------------------------------------------------
def test_controller_raises_p_when_the_discriminator_overfits_and_lowers_it_otherwise() -> None:
    ctl = AdaController(target=0.6, kimg=1, interval=4)
    confident = torch.full((32,), 3.0)  # every real image scored real: r_t = 1
    for _ in range(4 * 5):
        ctl.observe(confident)
    assert ctl.rt == 1.0 and ctl.p == pytest.approx(5 * 128 / 1000)
    g = torch.Generator().manual_seed(0)
    for _ in range(4 * 3):  # r_t about 0: D no longer tells reals apart
        ctl.observe(torch.randn(32, generator=g))
    assert ctl.rt < 0.6 and ctl.p == pytest.approx(2 * 128 / 1000)
    for _ in range(4 * 100):
        ctl.observe(-confident)
    assert ctl.p == 0.0  # never below 0
    for _ in range(4 * 100):
        ctl.observe(confident)
    assert ctl.p == 1.0  # never above 1


def test_controller_waits_for_its_interval_and_uses_the_threshold() -> None:
    ctl = AdaController(target=0.6, kimg=1, interval=4)
    for _ in range(3):
        ctl.observe(torch.full((8,), 1.0))
    assert ctl.p == 0.0 and ctl.rt is None
    ctl.observe(torch.full((8,), 1.0), threshold=2.0)  # scores below the threshold read as fake
    assert ctl.rt == pytest.approx(0.5) and ctl.p == 0.0
    fixed = AdaController(p=0.4, target=None)
    for _ in range(20):
        fixed.observe(torch.ones(8))
    assert fixed.p == 0.4


def test_augmentation_state_round_trip_continues_identically() -> None:
    images = torch.randn(8, 1, 16, 16)
    a = Augmentation("ada:p=0.5,kimg=1", seed=2)
    for _ in range(6):
        a(images)
        a.observe(torch.ones(8))
    b = Augmentation("ada:p=0.5,kimg=1", seed=2)
    b.load_state_dict(a.state_dict())
    assert b.p == a.p and b.p > 0.5
    for _ in range(3):
        assert torch.equal(a(images), b(images))
        a.observe(torch.ones(8))
        b.observe(torch.ones(8))
    assert a.p == b.p
    other = Augmentation("diffaugment", seed=2)
    other.load_state_dict(a.state_dict())  # another kind starts fresh
    assert torch.equal(other.generator.get_state(), Augmentation("diffaugment", seed=2).generator.get_state())


def test_ada_refuses_other_channel_counts_in_one_line() -> None:
    with pytest.raises(ConfigError, match="gray or RGB images, not 4 channels; use --augment diffaugment"):
        Augmentation("ada:p=0.5", seed=0)(torch.zeros(2, 4, 8, 8))
    assert Augmentation("diffaugment", seed=0)(torch.zeros(2, 4, 8, 8)).shape == (2, 4, 8, 8)
