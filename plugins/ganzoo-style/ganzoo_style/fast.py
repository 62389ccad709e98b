"""fast_style: Johnson et al. (2016) feed-forward style transfer with perceptual losses.

The image transformation network (reflection-padded convolutions, instance normalisation, five
residual blocks, nearest-neighbour upsampling followed by a convolution) is trained on content
crops against one style image with VGG16 losses; stylising is then one forward pass.

The network's module names follow the layout of the PyTorch examples' `fast_neural_style` files
(`conv1.conv2d.weight`, `in1.weight`, `res1.conv1.conv2d.weight`, `deconv1.conv2d.weight`, ...), and,
like them, it works on RGB values in [0, 255], so those published weights load after dropping the
instance-norm running statistics older PyTorch versions saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.engine import Model, StepContext
from ganzoo.errors import ConfigError
from ganzoo_style import images as img
from ganzoo_style.features import FeatureSpec, build_feature_net, default_layers
from ganzoo_style.losses import content_loss, gram_matrix, style_loss, tv_loss

PIXEL_SCALE = 255.0


class PaddedConv(nn.Module):
    """Optional nearest-neighbour upsampling, reflection padding, then a convolution."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, upsample: int = 1) -> None:
        super().__init__()
        self.upsample = upsample
        self.pad = nn.ReflectionPad2d(kernel // 2)
        self.conv2d = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="nearest")
        return self.conv2d(self.pad(x))


class Residual(nn.Module):
    """conv-norm-relu-conv-norm plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = PaddedConv(channels, channels, 3)
        self.in1 = nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = PaddedConv(channels, channels, 3)
        self.in2 = nn.InstanceNorm2d(channels, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.in1(self.conv1(x)))
        return x + self.in2(self.conv2(y))


class TransformNet(nn.Module):
    """Johnson's image transformation network: 9x9 in, two stride-2 downs, 5 residual blocks, two ups, 9x9 out."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = PaddedConv(3, 32, 9)
        self.in1 = nn.InstanceNorm2d(32, affine=True)
        self.conv2 = PaddedConv(32, 64, 3, stride=2)
        self.in2 = nn.InstanceNorm2d(64, affine=True)
        self.conv3 = PaddedConv(64, 128, 3, stride=2)
        self.in3 = nn.InstanceNorm2d(128, affine=True)
        self.res1 = Residual(128)
        self.res2 = Residual(128)
        self.res3 = Residual(128)
        self.res4 = Residual(128)
        self.res5 = Residual(128)
        self.deconv1 = PaddedConv(128, 64, 3, upsample=2)
        self.in4 = nn.InstanceNorm2d(64, affine=True)
        self.deconv2 = PaddedConv(64, 32, 3, upsample=2)
        self.in5 = nn.InstanceNorm2d(32, affine=True)
        self.deconv3 = PaddedConv(32, 3, 9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 255] -> RGB in (about) [0, 255], same height and width."""
        h, w = x.shape[-2:]
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        y = self.res5(self.res4(self.res3(self.res2(self.res1(y)))))
        y = F.relu(self.in4(self.deconv1(y)))
        y = F.relu(self.in5(self.deconv2(y)))
        y = self.deconv3(y)
        return y[..., :h, :w]  # sizes not divisible by 4 come back slightly larger


class FastStyle(Model):
    """Train a TransformNet on content images against one style; stylise with one forward pass."""

    inference_nets = ("transform",)

    def __init__(self, config: Any, *, training: bool) -> None:
        super().__init__(config)
        self.nets["transform"] = TransformNet()
        self.optimizers["transform"] = torch.optim.Adam(self.nets["transform"].parameters(), lr=config.lr)
        self.features = None
        self.style_picture: torch.Tensor | None = None
        self._grams: dict[str, torch.Tensor] | None = None
        self.content_layers = tuple(config.content_layers)
        self.style_layers = tuple(config.style_layers)
        if not self.content_layers or not self.style_layers:
            raise ConfigError("fast_style needs at least one content layer and one style layer")
        if training:
            self.features = build_feature_net(FeatureSpec(
                config.backbone, config.feature_weights, config.random_features,
                layers=(*self.content_layers, *self.style_layers), model="fast_style",
            ))
            self.content_layers, self.style_layers = default_layers(
                self.features, self.content_layers, self.style_layers)
            self.features.check_layers((*self.content_layers, *self.style_layers))

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> FastStyle:
        super().to(device, channels_last=channels_last)
        if self.features is not None:
            self.features.to(self.device)
        self._grams = None
        return self

    def attach_data(self, data: Any) -> None:
        """Read the style picture: the config's file, else the data set's style image."""
        _, from_data = img.data_images(data)
        style = img.read_image(self.config.style) if self.config.style else from_data
        if style is None:
            raise ConfigError(f"data {getattr(data, 'ref', '?')!r} offers no style picture; set style=PATH")
        if self.config.style_size:
            style = img.resize_longest(style, self.config.style_size)
        self.style_picture = style
        self._grams = None

    def _style_grams(self) -> dict[str, torch.Tensor]:
        if self._grams is None:
            assert self.features is not None and self.style_picture is not None
            with torch.no_grad():
                feats = self.features(self.style_picture.to(self.device), self.style_layers)
                self._grams = {name: gram_matrix(feats[name]).detach() for name in self.style_layers}
        return self._grams

    @staticmethod
    def content_of(batch: Mapping[str, Any]) -> torch.Tensor:
        for key in ("image", "content", "a"):
            if key in batch:
                x = batch[key]
                return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
        raise ConfigError(f"fast_style trains on content images; the batches hold {', '.join(batch)}")

    def losses(self, content01: torch.Tensor) -> dict[str, torch.Tensor]:
        """Perceptual losses of stylising a batch of [0, 1] content images."""
        assert self.features is not None
        out01 = self.nets["transform"](content01 * PIXEL_SCALE) / PIXEL_SCALE
        layers = (*self.content_layers, *self.style_layers)
        feats_out = self.features(out01, layers)
        with torch.no_grad():
            feats_in = self.features(content01, self.content_layers)
        c = sum(content_loss(feats_out[name], feats_in[name]) for name in self.content_layers)
        s = style_loss(feats_out, self._style_grams())
        t = tv_loss(out01)
        cfg = self.config
        total = cfg.content_weight * c + cfg.style_weight * s + cfg.tv_weight * t
        return {"loss": total, "content": c, "style": s, "tv": t}

    def train_step(self, ctx: StepContext) -> Mapping[str, torch.Tensor]:
        x = (self.content_of(ctx.next_batch()) + 1.0) / 2.0
        with ctx.autocast():
            parts = self.losses(x)
        ctx.update("transform", parts["loss"])
        return {k: v.detach() for k, v in parts.items()}

    def notes(self) -> dict[str, Any]:
        notes: dict[str, Any] = {"method": "fast_style"}
        if self.features is not None:
            notes.update(self.features.source.notes())
        return notes

    # -- pictures ---------------------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data: Any) -> torch.Tensor | None:
        dataset = getattr(data, "test", None) or getattr(data, "train", None)
        if dataset is None or len(dataset) == 0:
            return None
        k = min(4, n, len(dataset))
        picks = torch.randperm(len(dataset), generator=generator)[:k].tolist()
        seeds = torch.randint(0, 2**31 - 1, (k,), generator=generator).tolist()  # distinct crops of one photo
        items = [self.content_of({key: v.unsqueeze(0) for key, v in dataset[(i, seed)].items()
                                  if isinstance(v, torch.Tensor) and v.dim() == 3}) for i, seed in zip(picks, seeds)]
        return torch.cat(items)

    def preview(self, inputs: Any, nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        x = inputs.to(self.device)
        y = self.stylize(x, nets=nets)
        return torch.cat([x, y]), x.shape[0]

    def stylize(self, content: torch.Tensor, *, nets: Mapping[str, nn.Module] | None = None) -> torch.Tensor:
        """Stylise content images (N x 3 x H x W in [-1, 1]) in one forward pass; returns [-1, 1]."""
        net = self.net("transform", nets)
        out = net((content.clamp(-1.0, 1.0) + 1.0) * (PIXEL_SCALE / 2.0))
        return (out / (PIXEL_SCALE / 2.0) - 1.0).clamp(-1.0, 1.0)


def build(config: Any, *, training: bool = True) -> FastStyle:
    return FastStyle(config, training=training)
