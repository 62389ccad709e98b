"""ADA's augmentation pipeline (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data").

Each transform of the enabled groups is applied to each image independently with probability p:

  blit   x-flip; rotation by a multiple of 90 degrees; integer translation (up to 1/8 of the side)
  geom   isotropic scaling (log2-normal, std 0.2); arbitrary rotation (uniform, before and after the
         anisotropic scaling, each with probability 1 - sqrt(1 - p), so that one or both happen with
         probability p); anisotropic scaling (log2-normal, std 0.2); fractional translation (normal,
         std 1/8 of the side)
  color  brightness (+ normal, std 0.2); contrast (x log2-normal, std 0.5); luma flip; hue rotation
         about the luma axis (uniform, full circle); saturation (x log2-normal, std 1)

The spatial transforms of an image are composed into one 3 x 3 matrix and executed in one resampling:
the image is reflect-padded enough to cover what the transform shows, upsampled 2x with the
orthogonal symlet-6 low-pass filter, resampled bilinearly, filtered and downsampled 2x again; the
colour transforms are composed into one 4 x 4 matrix on homogeneous RGB (gray images use its mean
row, which keeps brightness, contrast and luma flip). Everything is differentiable with respect to
the images; the parameters come from a CPU generator and are moved to the images' device.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F

# -- strengths (the paper's values) ---------------------------------------------------------------
INT_TRANSLATION_MAX = 0.125  # integer translation, relative to the side
SCALE_STD = 0.2  # log2 standard deviation of isotropic scaling
ROTATE_MAX = 1.0  # arbitrary rotation range, 1 = full circle
ANISO_STD = 0.2  # log2 standard deviation of anisotropic scaling
FRAC_TRANSLATION_STD = 0.125  # fractional translation, relative to the side
BRIGHTNESS_STD = 0.2
CONTRAST_STD = 0.5  # log2
HUE_MAX = 1.0  # full circle
SATURATION_STD = 1.0  # log2

#: Daubechies' symlet-6 low-pass analysis filter (12 taps): its orthogonality makes upsampling then
#: downsampling with it an identity, so an identity warp returns the image.
SYM6 = (0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
        0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
        -0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148)


def ada_augment(images: torch.Tensor, p: float, groups: Sequence[str], generator: torch.Generator) -> torch.Tensor:
    """`images` (N x C x H x W, C = 1 or 3, in [-1, 1]) with the transforms of `groups` at probability p."""
    n, channels, height, width = images.shape
    if channels not in (1, 3):
        raise ValueError(f"ADA augments gray or RGB images, not {channels} channels")
    params = draw_parameters(n, p, generator)
    warp = torch.eye(3).expand(n, 3, 3)
    if "blit" in groups:
        warp = warp @ blit_warp(params, width, height)
    if "geom" in groups:
        warp = warp @ geometric_warp(params, width, height)
    if not torch.equal(warp, torch.eye(3).expand(n, 3, 3)):
        images = resample(images, warp)
    if "color" in groups:
        colour = colour_matrix(params)
        if not torch.equal(colour, torch.eye(4).expand(n, 4, 4)):
            images = apply_colour(images, colour)
    return images


# -- random parameters ----------------------------------------------------------------------------
def draw_parameters(n: int, p: float, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every transform's parameter for `n` images, at its identity value where the image is not chosen.

    Each transform chooses each image with probability p (the two rotations with 1 - sqrt(1 - p)
    each). All are drawn whatever the pipeline, so the generator advances the same way for any p.
    """
    def chosen(prob: float, shape: tuple[int, ...] = ()) -> torch.Tensor:
        return (torch.rand(n, generator=generator) < prob).reshape(n, *shape)

    def keep(value: torch.Tensor, identity: float, prob: float = p) -> torch.Tensor:
        mask = chosen(prob, (1,) * (value.dim() - 1))
        return torch.where(mask, value, torch.full_like(value, identity))

    p_rot = 1 - math.sqrt(min(max(1 - p, 0.0), 1.0))
    return {
        "xflip": keep(torch.floor(torch.rand(n, generator=generator) * 2), 0.0),
        "rotate90": keep(torch.floor(torch.rand(n, generator=generator) * 4), 0.0),
        "xint": keep((torch.rand(n, 2, generator=generator) * 2 - 1) * INT_TRANSLATION_MAX, 0.0),
        "scale": keep(torch.exp2(torch.randn(n, generator=generator) * SCALE_STD), 1.0),
        "rotate_pre": keep((torch.rand(n, generator=generator) * 2 - 1) * math.pi * ROTATE_MAX, 0.0, p_rot),
        "aniso": keep(torch.exp2(torch.randn(n, generator=generator) * ANISO_STD), 1.0),
        "rotate_post": keep((torch.rand(n, generator=generator) * 2 - 1) * math.pi * ROTATE_MAX, 0.0, p_rot),
        "xfrac": keep(torch.randn(n, 2, generator=generator) * FRAC_TRANSLATION_STD, 0.0),
        "brightness": keep(torch.randn(n, generator=generator) * BRIGHTNESS_STD, 0.0),
        "contrast": keep(torch.exp2(torch.randn(n, generator=generator) * CONTRAST_STD), 1.0),
        "lumaflip": keep(torch.floor(torch.rand(n, generator=generator) * 2), 0.0),
        "hue": keep((torch.rand(n, generator=generator) * 2 - 1) * math.pi * HUE_MAX, 0.0),
        "saturation": keep(torch.exp2(torch.randn(n, generator=generator) * SATURATION_STD), 1.0),
    }


def blit_warp(params: dict[str, torch.Tensor], width: int, height: int) -> torch.Tensor:
    """Inverse warp (output pixel -> input pixel offsets from the centre) of x-flip, 90-degree rotations
    and integer translation."""
    flip, shift = params["xflip"], params["xint"]
    return (_scale(1 - 2 * flip, torch.ones_like(flip))
            @ _rotate(math.pi / 2 * params["rotate90"])
            @ _translate(-torch.round(shift[:, 0] * width), -torch.round(shift[:, 1] * height)))


def geometric_warp(params: dict[str, torch.Tensor], width: int, height: int) -> torch.Tensor:
    """Inverse warp of isotropic scaling, rotation, anisotropic scaling, rotation and fractional translation."""
    iso, aniso, frac = params["scale"], params["aniso"], params["xfrac"]
    return (_scale(1 / iso, 1 / iso)
            @ _rotate(params["rotate_pre"])
            @ _scale(1 / aniso, aniso)
            @ _rotate(params["rotate_post"])
            @ _translate(-frac[:, 0] * width, -frac[:, 1] * height))


def colour_matrix(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The N x 4 x 4 matrices (acting on homogeneous RGB) of brightness, contrast, luma flip, hue, saturation."""
    n = params["brightness"].shape[0]
    luma = torch.tensor([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3)
    luma_outer = torch.outer(luma, luma)
    eye = torch.eye(4)
    contrast = params["contrast"]
    matrix = eye.repeat(n, 1, 1)
    matrix[:, :3, 3] = params["brightness"][:, None]
    matrix = torch.diag_embed(torch.stack([contrast, contrast, contrast, torch.ones(n)], dim=1)) @ matrix
    matrix = (eye - 2 * luma_outer * params["lumaflip"][:, None, None]) @ matrix  # Householder reflection
    matrix = _rotate_about(luma[:3], params["hue"]) @ matrix
    return (luma_outer + (eye - luma_outer) * params["saturation"][:, None, None]) @ matrix


# -- matrices -------------------------------------------------------------------------------------
def _affine(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor, e: torch.Tensor,
            f: torch.Tensor) -> torch.Tensor:
    """N x 3 x 3 matrices [[a, b, c], [d, e, f], [0, 0, 1]] from length-N entries."""
    zero, one = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack([a, b, c, d, e, f, zero, zero, one], dim=1).reshape(-1, 3, 3)


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros_like(sx)
    return _affine(sx, zero, zero, zero, sy * torch.ones_like(sx), zero)


def _rotate(theta: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros_like(theta)
    cos, sin = torch.cos(theta), torch.sin(theta)
    return _affine(cos, -sin, zero, sin, cos, zero)


def _translate(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(tx), torch.zeros_like(tx)
    return _affine(one, zero, tx, zero, one, ty)


def _constant(matrix: list[list[float]], n: int) -> torch.Tensor:
    return torch.tensor(matrix, dtype=torch.float32).expand(n, 3, 3)


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """N x 4 x 4 rotations by `theta` about the unit 3-vector `axis` (Rodrigues' formula)."""
    n = theta.shape[0]
    k = torch.tensor([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    sin, cos = torch.sin(theta)[:, None, None], torch.cos(theta)[:, None, None]
    rotation = torch.eye(3) + sin * k + (1 - cos) * (k @ k)
    out = torch.eye(4).repeat(n, 1, 1)
    out[:, :3, :3] = rotation
    return out


# -- execution ------------------------------------------------------------------------------------
def resample(images: torch.Tensor, warp: torch.Tensor) -> torch.Tensor:
    """Resample each image at its inverse warp (pixel offsets from the image centre), alias-free."""
    n, channels, height, width = images.shape
    guard = len(SYM6) // 4  # low-resolution pixels of filter support on each side
    cx, cy = (width - 1) / 2, (height - 1) / 2

    # Reflect-pad just enough for every pixel the warped output reads (plus the filter's support),
    # then upsample 2x: one matrix product per axis does both.
    corners = torch.tensor([[-cx, cx, cx, -cx], [-cy, -cy, cy, cy], [1.0, 1.0, 1.0, 1.0]])
    reach = (warp @ corners)[:, :2, :]  # N x 2 x 4 input positions of the output's corners
    low = (-reach).amax(dim=(0, 2)) + 2 * guard - torch.tensor([cx, cy])
    high = reach.amax(dim=(0, 2)) + 2 * guard - torch.tensor([cx, cy])
    limit = torch.tensor([width - 1.0, height - 1.0])
    low = torch.minimum(low.clamp(min=0), limit).ceil().long().tolist()
    high = torch.minimum(high.clamp(min=0), limit).ceil().long().tolist()
    up_x = _pad_upsample_matrix(width, low[0], high[0], images.device, images.dtype)
    up_y = _pad_upsample_matrix(height, low[1], high[1], images.device, images.dtype)
    images = up_y.t() @ (images @ up_x)
    warp = _translate(torch.tensor([(low[0] - high[0]) / 2]), torch.tensor([(low[1] - high[1]) / 2])) @ warp
    # In the doubled grid, offsets double and a pixel's centre moves by half a (new) pixel.
    double, half = _constant([[2, 0, 0], [0, 2, 0], [0, 0, 1]], 1), _constant([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 1]], 1)
    shift_in, shift_out = _constant([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]], 1), _constant([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], 1)
    warp = shift_in @ double @ warp @ half @ shift_out

    # Sample an output of (side + guard band) x 2, in normalised coordinates, then filter down 2x.
    out_h, out_w = (height + 2 * guard) * 2, (width + 2 * guard) * 2
    to_input = _constant([[2 / images.shape[3], 0, 0], [0, 2 / images.shape[2], 0], [0, 0, 1]], 1)
    from_output = _constant([[out_w / 2, 0, 0], [0, out_h / 2, 0], [0, 0, 1]], 1)
    theta = (to_input @ warp @ from_output)[:, :2, :].to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, [n, channels, out_h, out_w], align_corners=False)
    images = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    down_x = _downsample_matrix(out_w, 2 * guard, images.device, images.dtype)
    down_y = _downsample_matrix(out_h, 2 * guard, images.device, images.dtype)
    return down_y.t() @ (images @ down_x)


@functools.lru_cache(maxsize=64)
def _pad_upsample_matrix(size: int, before: int, after: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The linear map of one axis: reflect-pad `size` samples by (before, after), then upsample 2x.

    Upsampling puts zeros between the samples and convolves with the filter at gain 2: output j sums
    tap (j + 5 - 2i) times padded sample i (zeros beyond the padded signal). Returned as a
    size x 2 * (size + before + after) matrix M, so an axis is resampled by one product with M.
    """
    padded = size + before + after
    position = torch.arange(padded)
    source = (position - before).abs()
    source = torch.where(source > size - 1, 2 * (size - 1) - source, source)  # reflection
    taps = torch.tensor(_sym6_taps(), dtype=torch.float64) * 2
    k = torch.arange(len(taps))
    out = 2 * position[:, None] + k[None, :] - 5  # padded x taps: the output each product lands in
    valid = (out >= 0) & (out < 2 * padded)
    rows = source[:, None].expand_as(out)[valid]
    weights = taps[None, :].expand_as(out)[valid]
    matrix = torch.zeros(size, 2 * padded, dtype=torch.float64)
    matrix.index_put_((rows, out[valid]), weights, accumulate=True)
    return matrix.to(device=device, dtype=dtype)


@functools.lru_cache(maxsize=64)
def _downsample_matrix(size: int, crop: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """The linear map of one axis: drop a guard band, correlate with the filter and keep every second output.

    Output o sums tap t times sample (trim + 2o + t), trim being the guard band less the filter's own
    padding, so `size` samples (the original side plus the two bands, doubled) give the original side.
    """
    taps = _sym6_taps()
    trim = crop - (len(taps) - 1) // 2
    out = (size - 2 * trim - len(taps)) // 2 + 1
    o = torch.arange(out)[:, None]
    t = torch.arange(len(taps))[None, :]
    matrix = torch.zeros(size, out, dtype=torch.float64)
    matrix[(trim + 2 * o + t).reshape(-1), o.expand(-1, len(taps)).reshape(-1)] = torch.tensor(taps, dtype=torch.float64).repeat(out)
    return matrix.to(device=device, dtype=dtype)


def _sym6_taps() -> list[float]:
    total = math.fsum(SYM6)
    return [f / total for f in SYM6]


def apply_colour(images: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Each image times its colour matrix (gray images: the mean of its three colour rows)."""
    n, channels, height, width = images.shape
    matrix = matrix.to(device=images.device, dtype=images.dtype)
    flat = images.reshape(n, channels, height * width)
    if channels == 3:
        flat = matrix[:, :3, :3] @ flat + matrix[:, :3, 3:]
    else:  # gray: the mean of the three rows acts on a gray value repeated in R, G and B
        row = matrix[:, :3, :].mean(dim=1)  # N x 4
        flat = flat * row[:, :3].sum(dim=1)[:, None, None] + row[:, 3][:, None, None]
    return flat.reshape(n, channels, height, width)
