"""Feature networks for perceptual losses: VGG16/VGG19 in torchvision's layout, or a timm CNN.

The VGG networks name their parameters like torchvision (`features.N.weight`), so torchvision's
published ImageNet files load as they are. Layers are addressed by the usual names: `conv3_1` is
the output of that convolution (before its ReLU), `relu3_1` the activation after it, `pool3` the
pooling output. A timm backbone (`timm:NAME`, built with `features_only=True`) exposes its feature
levels as `level0`, `level1`, ...

Inputs are RGB images in [0, 1]; the network normalises them with its own mean and standard
deviation (ImageNet's for VGG). A feature network is a fixed loss network: it is never trained and
never checkpointed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Convolution widths per block ("M" = 2x2 max pooling), as in Simonyan & Zisserman's configurations D and E.
VGG_BLOCKS: dict[str, tuple[tuple[int, ...], ...]] = {
    "vgg16": ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
    "vgg19": ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512)),
}


def vgg_layer_names(arch: str) -> list[str]:
    """Names of the modules of `features` in order: conv1_1, relu1_1, conv1_2, ..., pool5."""
    names: list[str] = []
    for b, widths in enumerate(VGG_BLOCKS[arch], start=1):
        for i in range(1, len(widths) + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


@dataclass
class FeatureSource:
    """Where a feature network's weights came from (recorded in checkpoints and output metadata)."""

    backbone: str
    weights: str | None = None
    sha256: str | None = None
    degraded: bool = False

    def describe(self) -> str:
        if self.degraded:
            return f"{self.backbone} with random features (degraded: no pretrained weights)"
        digest = f" sha256 {self.sha256}" if self.sha256 else ""
        return f"{self.backbone} weights {self.weights}{digest}"

    def notes(self) -> dict[str, Any]:
        out: dict[str, Any] = {"feature_network": self.backbone, "features": self.describe()}
        if self.degraded:
            out["degraded"] = "random features: the feature network has random weights, not pretrained ones"
        else:
            out["feature_weights"] = self.weights
            out["feature_weights_sha256"] = self.sha256
        return out


class FeatureNet(nn.Module):
    """A frozen network that returns named intermediate activations of [0, 1] RGB images."""

    layer_names: tuple[str, ...] = ()
    source: FeatureSource

    def forward(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def min_size(self, layers: Sequence[str]) -> int:
        """The smallest image side these layers can be computed at."""
        return 1

    def check_layers(self, layers: Sequence[str]) -> None:
        unknown = [name for name in layers if name not in self.layer_names]
        if unknown:
            from ganzoo.errors import ConfigError

            shown = ", ".join(self.layer_names[:8]) + (", ..." if len(self.layer_names) > 8 else "")
            raise ConfigError(f"{self.source.backbone} has no layer {unknown[0]!r}; its layers are {shown}")


class VGGFeatures(FeatureNet):
    """VGG16/VGG19 convolutional part, truncated after the deepest layer needed."""

    def __init__(self, arch: str, depth: int | None = None) -> None:
        super().__init__()
        if arch not in VGG_BLOCKS:
            raise ValueError(f"unknown VGG {arch!r}")
        self.arch = arch
        names = vgg_layer_names(arch)
        depth = len(names) if depth is None else depth
        modules: list[nn.Module] = []
        channels = 3
        for name in names[:depth]:
            if name.startswith("conv"):
                block = int(name[4:].split("_")[0])
                width = VGG_BLOCKS[arch][block - 1][0]
                modules.append(nn.Conv2d(channels, width, kernel_size=3, padding=1))
                channels = width
            elif name.startswith("relu"):
                modules.append(nn.ReLU(inplace=False))
            else:
                modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
        self.features = nn.Sequential(*modules)
        self.layer_names = tuple(names[:depth])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.source = FeatureSource(arch, degraded=True)

    def reset_random(self, generator: torch.Generator) -> None:
        """Random weights (He-normal, fan-out, zero bias: torchvision's initialisation) from `generator`."""
        with torch.no_grad():
            for module in self.features:
                if isinstance(module, nn.Conv2d):
                    fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                    module.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=generator)
                    module.bias.zero_()

    def min_size(self, layers: Sequence[str]) -> int:
        deepest = max(self.layer_names.index(name) for name in layers)
        return 2 ** sum(1 for name in self.layer_names[:deepest] if name.startswith("pool"))

    def forward(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(layers)
        last = max(self.layer_names.index(name) for name in wanted)
        x = (images - self.mean) / self.std
        out: dict[str, torch.Tensor] = {}
        for index, module in enumerate(self.features):
            x = module(x)
            name = self.layer_names[index]
            if name in wanted:
                out[name] = x
            if index == last:
                break
        return out


class TimmFeatures(FeatureNet):
    """Any timm CNN with `features_only=True`; its feature levels are named level0, level1, ..."""

    def __init__(self, name: str) -> None:
        super().__init__()
        try:
            import timm
        except ImportError:  # pragma: no cover - timm is a dependency of ganzoo-core
            from ganzoo.errors import ConfigError

            raise ConfigError("--backbone timm:NAME needs the timm package: pip install timm") from None
        try:
            self.body = timm.create_model(name, pretrained=False, features_only=True)
        except Exception as exc:  # timm raises RuntimeError for unknown names and for heads without features
            from ganzoo.errors import ConfigError

            raise ConfigError(f"timm cannot build {name!r} with features_only=True: {exc}") from None
        cfg = getattr(self.body, "pretrained_cfg", None) or {}
        mean = tuple(cfg.get("mean", IMAGENET_MEAN))
        std = tuple(cfg.get("std", IMAGENET_STD))
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.layer_names = tuple(f"level{i}" for i in range(len(self.body.feature_info)))
        self.source = FeatureSource(f"timm:{name}", degraded=True)

    def reset_random(self, generator: torch.Generator) -> None:
        with torch.no_grad():
            for module in self.body.modules():
                if isinstance(module, nn.Conv2d):
                    fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1] // module.groups
                    module.weight.normal_(0.0, (2.0 / fan_out) ** 0.5, generator=generator)
                    if module.bias is not None:
                        module.bias.zero_()

    def forward(self, images: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        levels = self.body((images - self.mean) / self.std)
        return {name: levels[self.layer_names.index(name)] for name in layers}


def default_layers(net: FeatureNet, content: Sequence[str], style: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The layers to use: as given, or for a timm backbone given VGG names, its own sensible levels."""
    if isinstance(net, TimmFeatures) and not all(name in net.layer_names for name in (*content, *style)):
        levels = net.layer_names
        return (levels[min(2, len(levels) - 1)],), tuple(levels)
    return tuple(content), tuple(style)


@dataclass
class FeatureSpec:
    """What feature network to build and where its weights come from."""

    backbone: str
    weights: str | None = None
    random_features: bool = False
    layers: Sequence[str] = field(default_factory=tuple)
    seed: int = 0
    model: str = ""


def build_feature_net(spec: FeatureSpec) -> FeatureNet:
    """Build the frozen feature network `spec` asks for, with its weights (or refuse in one line)."""
    from ganzoo_style import weights as weights_mod

    backbone = spec.backbone.strip()
    if backbone.startswith("timm:"):
        net: FeatureNet = TimmFeatures(backbone[5:])
        if spec.random_features and not spec.weights:
            net.reset_random(torch.Generator().manual_seed(spec.seed))
        else:
            path = weights_mod.timm_weights(backbone, spec.weights, model=spec.model)
            weights_mod.load_timm_weights(net, path)
            net.source = FeatureSource(backbone, str(path), weights_mod.file_sha256(path), degraded=False)
    elif backbone in VGG_BLOCKS:
        names = vgg_layer_names(backbone)
        bad = [name for name in spec.layers if name not in names]
        if bad:
            from ganzoo.errors import ConfigError

            raise ConfigError(f"{backbone} has no layer {bad[0]!r}; use names like conv4_2, relu2_2 or pool3")
        depth = max((names.index(name) for name in spec.layers), default=len(names) - 1) + 1
        net = VGGFeatures(backbone, depth)
        if spec.random_features and not spec.weights:
            net.reset_random(torch.Generator().manual_seed(spec.seed))
        else:
            path = weights_mod.vgg_weights(backbone, spec.weights, model=spec.model)
            state = weights_mod.read_state_dict(path)
            load_vgg_state(net, state, source=str(path))
            net.source = FeatureSource(backbone, str(path), weights_mod.file_sha256(path), degraded=False)
    else:
        from ganzoo.errors import ConfigError

        raise ConfigError(f"unknown feature network {backbone!r}; use vgg19, vgg16 or timm:NAME")
    net.eval()
    net.requires_grad_(False)
    return net


def load_vgg_state(net: VGGFeatures, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Load the `features.*` tensors of a torchvision VGG state dict into a (truncated) VGGFeatures."""
    from ganzoo.errors import CheckpointError

    own = net.state_dict()
    missing = [key for key in own if key not in state]
    if missing:
        raise CheckpointError(
            f"{source} is not a torchvision {net.arch} state dict (no {missing[0]!r}); "
            f"use the file from https://download.pytorch.org/models/"
        )
    for key, value in own.items():
        if tuple(state[key].shape) != tuple(value.shape):
            raise CheckpointError(
                f"{source}: {key} has shape {tuple(state[key].shape)}, a {net.arch} needs {tuple(value.shape)}"
            )
    net.load_state_dict({key: state[key].float() for key in own}, strict=True)
