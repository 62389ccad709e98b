"""Style transfer options (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import option


@dataclass
class NeuralStyleConfig:
    """Gatys et al. (2016): VGG19 features, style conv1_1..conv5_1, content conv4_2, L-BFGS."""

    image_size: int = option(512, "Side length (longest edge) of the optimised image.", min=16)
    content: str | None = option(None, "Content image file; none: the data set's content image.")
    style: tuple[str, ...] = option((), "Style image file(s); none: the data set's style image.")
    style_blend: tuple[float, ...] = option((), "Weights of several style images (default: equal).")
    backbone: str = option("vgg19", "Feature network: vgg19, vgg16, or timm:NAME.")
    weights: str | None = option(None, "Feature network weights file (torchvision layout).")
    random_features: bool = option(False, "Use randomly initialised features (degraded; recorded in the output).")
    content_layers: tuple[str, ...] = option(("conv4_2",), "Content layers.")
    style_layers: tuple[str, ...] = option(("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"), "Style layers.")
    content_weight: float = option(1.0, "Content loss weight.", min=0)
    style_weight: float = option(1e6, "Style loss weight.", min=0)
    tv_weight: float = option(1e-3, "Total variation loss weight.", min=0)
    init: Literal["content", "noise", "style"] = option("content", "Starting image.")
    optimizer: Literal["lbfgs", "adam"] = option("lbfgs", "Optimiser of the image.")
    lr: float = option(1.0, "Learning rate (L-BFGS step size or Adam lr).", min=0)
    scales: int = option(1, "Coarse-to-fine scales (1: single scale).", min=1)
    preserve_color: bool = option(False, "Keep the content image's colours (luminance-only transfer).")


@dataclass
class FastStyleConfig:
    """Johnson et al. (2016): residual transformation network, instance norm, VGG16 relu2_2 content loss."""

    image_size: int = option(256, "Training crop size of content images.", min=16)
    style: str | None = option(None, "Style image file; none: the data set's style image.")
    style_size: int | None = option(None, "Resize the style image to this; none: its own size.")
    backbone: str = option("vgg16", "Feature network: vgg16, vgg19, or timm:NAME.")
    weights: str | None = option(None, "Feature network weights file (torchvision layout).")
    random_features: bool = option(False, "Use randomly initialised features (degraded; recorded in the output).")
    content_weight: float = option(1e5, "Content loss weight.", min=0)
    style_weight: float = option(1e10, "Style loss weight.", min=0)
    tv_weight: float = option(0.0, "Total variation loss weight.", min=0)
    lr: float = option(1e-3, "Adam learning rate.", min=0)
