"""Style transfer options (torch-free)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ganzoo.configs import option

GATYS_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
JOHNSON_STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


@dataclass
class NeuralStyleConfig:
    """Gatys et al. (2016): VGG19 features, style conv1_1..conv5_1, content conv4_2, L-BFGS on the picture."""

    image_size: int = option(512, "Longest edge of the optimised picture (at the finest scale).", min=16)
    content: str | None = option(None, "Content image file; none: the data set's content picture.")
    style: tuple[str, ...] = option((), "Style image file(s); none: the data set's style picture.")
    style_blend: tuple[float, ...] = option((), "Weights of several style images (default: equal).")
    style_scale: float = option(1.0, "Style image size relative to the picture's longest edge.", min=0.05)
    backbone: str = option("vgg19", "Feature network: vgg19, vgg16, or timm:NAME.")
    feature_weights: str | None = option(None, "Feature network weights file (torchvision's layout for VGG); --weights in ganzoo stylize.")
    random_features: bool = option(False, "Use randomly initialised features (degraded; recorded in the output).")
    content_layers: tuple[str, ...] = option(("conv4_2",), "Content layers (convN_M, reluN_M, poolN; timm: levelK).")
    style_layers: tuple[str, ...] = option(GATYS_STYLE_LAYERS, "Style layers (convN_M, reluN_M, poolN; timm: levelK).")
    content_weight: float | None = option(
        None, "Content loss weight; none: 1 with pretrained features, 100 with random ones.", min=0)
    style_weight: float = option(1e6, "Style loss weight.", min=0)
    tv_weight: float = option(1.0, "Total variation loss weight.", min=0)
    init: Literal["content", "noise", "style"] = option("content", "Starting picture.")
    optimizer: Literal["lbfgs", "adam"] = option("lbfgs", "Optimiser of the picture (one iteration per step).")
    lr: float | None = option(None, "Step size; none: 1.0 for L-BFGS, 0.05 for Adam (on the picture's logits).",
                              min=0)
    lbfgs_history: int = option(20, "L-BFGS memory (pairs of past steps kept, and checkpointed).", min=1)
    scales: int = option(1, "Coarse-to-fine scales, halving the size per scale (1: single scale).", min=1, max=6)
    scale_steps: int | None = option(None, "Steps at each coarser scale; none: an equal share of the run.", min=1)
    preserve_color: bool = option(False, "Keep the content picture's colours (luminance-only transfer).")


@dataclass
class FastStyleConfig:
    """Johnson et al. (2016): residual transformation network, instance norm, VGG16 perceptual losses."""

    image_size: int = option(256, "Training crop size of content images.", min=16)
    style: str | None = option(None, "Style image file; none: the data set's style picture.")
    style_size: int | None = option(None, "Resize the style image's longest edge to this; none: its own size.", min=16)
    backbone: str = option("vgg16", "Feature network: vgg16, vgg19, or timm:NAME.")
    feature_weights: str | None = option(None, "Feature network weights file (torchvision's layout for VGG); --weights in ganzoo stylize.")
    random_features: bool = option(False, "Use randomly initialised features (degraded; recorded in the output).")
    content_layers: tuple[str, ...] = option(("relu2_2",), "Content layers.")
    style_layers: tuple[str, ...] = option(JOHNSON_STYLE_LAYERS, "Style layers.")
    content_weight: float = option(1e5, "Content loss weight.", min=0)
    style_weight: float = option(1e10, "Style loss weight.", min=0)
    tv_weight: float = option(0.0, "Total variation loss weight.", min=0)
    lr: float = option(1e-3, "Adam learning rate.", min=0)
