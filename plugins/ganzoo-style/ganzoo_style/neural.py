"""neural_style: Gatys et al. (2016) style transfer by optimising the picture itself.

The optimised picture is a network (`nets["image"]`, an `ImageCanvas`), so the one Trainer
checkpoints and resumes it together with its optimiser (L-BFGS history included); one training
step is one optimiser iteration. The feature network is a fixed loss network and is not checkpointed.

Multi-scale (`scales > 1`) runs coarse to fine: each coarser scale gets `scale_steps` steps, the
finest the rest; moving up a scale enlarges the picture and starts a fresh optimiser. The current
scale (and the step schedule) is family state, so a resumed run continues exactly, across scales.
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
from ganzoo_style.losses import blend_grams, content_loss, gram_matrix, style_loss, tv_loss


class ImageCanvas(nn.Module):
    """The optimised picture: a square canvas whose top-left `extent` (h, w) corner holds the image.

    The picture is stored as logits (`pixels = sigmoid(logits)`), so it always lies in [0, 1]: the
    optimiser sees exactly the picture that is written, never values that clamping would change.
    A square of the scale's side length keeps the parameter's shape independent of the content's
    aspect ratio, so a checkpoint loads into a freshly built model; `extent` says where the picture
    is. The content picture (same extent) is kept beside it for colour preservation and previews.
    """

    #: Pixels are kept this far from 0 and 1 when converted to logits (finite, not saturated).
    EPS = 1e-3

    def __init__(self, side: int, extent: tuple[int, int] | None = None) -> None:
        super().__init__()
        h, w = extent or (side, side)
        self.logits = nn.Parameter(torch.zeros(1, 3, side, side))
        self.register_buffer("extent", torch.tensor([h, w], dtype=torch.int64))
        self.register_buffer("content", torch.zeros(1, 3, side, side))

    @property
    def side(self) -> int:
        return int(self.logits.shape[-1])

    def size(self) -> tuple[int, int]:
        return int(self.extent[0]), int(self.extent[1])

    def image(self) -> torch.Tensor:
        """The picture (1 x 3 x h x w, RGB in [0, 1]); differentiable w.r.t. `logits`."""
        h, w = self.size()
        return torch.sigmoid(self.logits[:, :, :h, :w])

    def content_image(self) -> torch.Tensor:
        h, w = self.size()
        return self.content[:, :, :h, :w]

    @torch.no_grad()
    def fill(self, picture: torch.Tensor, content: torch.Tensor) -> None:
        """Place `picture` and `content` (1 x 3 x h x w in [0, 1], h, w <= side) in the canvas."""
        h, w = picture.shape[-2:]
        self.extent.copy_(torch.tensor([h, w]))
        self.logits.zero_()
        self.logits[:, :, :h, :w] = torch.logit(picture.clamp(self.EPS, 1.0 - self.EPS))
        self.content.zero_()
        self.content[:, :, :h, :w] = content

    def forward(self) -> torch.Tensor:
        return self.image()


class NeuralStyle(Model):
    """Optimise one picture so its features match a content image and its Gram matrices a style."""

    inference_nets = ("image",)

    def __init__(self, config: Any, *, training: bool) -> None:
        super().__init__(config)
        self.training_mode = training
        self.sides = scale_sides(config.image_size, config.scales)
        self.scale = len(self.sides) - 1 if not training else 0
        self.nets["image"] = ImageCanvas(self.sides[self.scale])
        self.scale_steps: int | None = config.scale_steps
        self.content_picture: torch.Tensor | None = None
        self.style_pictures: list[torch.Tensor] = []
        self.blend = tuple(config.style_blend)
        self._targets: dict[int, tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]] = {}
        self.features = None
        self.content_layers = tuple(config.content_layers)
        self.style_layers = tuple(config.style_layers)
        if not self.content_layers or not self.style_layers:
            raise ConfigError("neural_style needs at least one content layer and one style layer")
        if training:
            self.features = build_feature_net(FeatureSpec(
                config.backbone, config.feature_weights, config.random_features,
                layers=(*self.content_layers, *self.style_layers), model="neural_style",
            ))
            self.content_layers, self.style_layers = default_layers(
                self.features, self.content_layers, self.style_layers)
            self.features.check_layers((*self.content_layers, *self.style_layers))
        self._new_optimizer()

    # -- set-up ---------------------------------------------------------------------------------
    def _new_optimizer(self) -> None:
        params = [self.nets["image"].logits]
        if self.config.optimizer == "lbfgs":
            lr = 1.0 if self.config.lr is None else self.config.lr
            # One Trainer step is one L-BFGS iteration (one loss evaluation); the history persists.
            self.optimizers["image"] = torch.optim.LBFGS(params, lr=lr, max_iter=1,
                                                         history_size=self.config.lbfgs_history)
        else:
            lr = 0.05 if self.config.lr is None else self.config.lr
            self.optimizers["image"] = torch.optim.Adam(params, lr=lr)

    def to(self, device: torch.device | str, *, channels_last: bool = False) -> NeuralStyle:
        super().to(device, channels_last=False)
        if self.features is not None:
            self.features.to(self.device)
        self._targets = {}
        return self

    def attach_data(self, data: Any) -> None:
        """Read the content and style pictures (config paths first, else the data set's) and start the canvas."""
        from_data_content, from_data_style = img.data_images(data)
        cfg = self.config
        content = img.read_image(cfg.content) if cfg.content else from_data_content
        styles = [img.read_image(p) for p in cfg.style] if cfg.style else (
            [from_data_style] if from_data_style is not None else [])
        if content is None:
            raise ConfigError(f"data {getattr(data, 'ref', '?')!r} offers no content picture; set content=PATH")
        if not styles:
            raise ConfigError(f"data {getattr(data, 'ref', '?')!r} offers no style picture; set style=PATH")
        if self.blend and len(self.blend) != len(styles):
            raise ConfigError(f"style_blend has {len(self.blend)} weights for {len(styles)} style images")
        if self.blend and sum(self.blend) <= 0:
            raise ConfigError("style_blend weights must sum to a positive number")
        self.content_picture = content
        self.style_pictures = styles
        self._targets = {}
        if self.features is not None:
            need = self.features.min_size((*self.content_layers, *self.style_layers))
            h, w = self._extent(0)
            if min(h, w) < need:
                where = "the coarsest scale" if len(self.sides) > 1 else "image_size"
                raise ConfigError(
                    f"neural_style: the picture at {where} is {w}x{h}, too small for its deepest feature layer "
                    f"(at least {need} pixels per side); use a larger image_size or fewer scales"
                )
        self._set_scale(self.scale, self._initial_picture(self.scale))

    def _extent(self, scale: int) -> tuple[int, int]:
        assert self.content_picture is not None
        h, w = self.content_picture.shape[-2:]
        return img.fit_size(h, w, self.sides[scale])

    def _initial_picture(self, scale: int) -> torch.Tensor:
        size = self._extent(scale)
        if self.config.init == "noise":
            return torch.rand(1, 3, *size)
        if self.config.init == "style":
            return img.resize(self.style_pictures[0], size)
        return img.resize(self.content_picture, size)

    def _set_scale(self, scale: int, picture: torch.Tensor | None) -> None:
        """Make `scale` current: a canvas of its side holding `picture` (zeros if None), a fresh optimiser."""
        size = self._extent(scale) if self.content_picture is not None else (self.sides[scale],) * 2
        canvas = ImageCanvas(self.sides[scale], size).to(self.device)
        content = img.resize(self.content_picture, size) if self.content_picture is not None else torch.zeros(1, 3, *size)
        canvas.fill((picture if picture is not None else torch.zeros(1, 3, *size)).to(self.device), content.to(self.device))
        self.nets["image"] = canvas
        self.scale = scale
        self._new_optimizer()

    def on_train_start(self, ctx: StepContext) -> None:
        if self.scale_steps is None and len(self.sides) > 1:
            # Decided once, at the start of the run, and kept in the checkpoint, so a resumed run
            # (even with a longer --steps) continues the schedule it started with.
            self.scale_steps = max(1, ctx.total_steps // len(self.sides))

    def scale_at(self, step: int) -> int:
        if len(self.sides) == 1:
            return 0
        return min(len(self.sides) - 1, step // max(1, self.scale_steps or 1))

    # -- the optimisation -------------------------------------------------------------------------
    def _targets_for(self, scale: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        if scale not in self._targets:
            assert self.features is not None and self.content_picture is not None
            size = self._extent(scale)
            longest = max(1, round(self.sides[scale] * self.config.style_scale))
            with torch.no_grad():
                content = img.resize(self.content_picture, size).to(self.device)
                content_feats = self.features(content, self.content_layers)
                grams = []
                for style in self.style_pictures:
                    feats = self.features(img.resize_longest(style, longest).to(self.device), self.style_layers)
                    grams.append({name: gram_matrix(feats[name]) for name in self.style_layers})
                weights = self.blend or (1.0,) * len(grams)
                self._targets[scale] = ({k: v.detach() for k, v in content_feats.items()}, blend_grams(grams, weights))
        return self._targets[scale]

    def losses(self, picture: torch.Tensor, scale: int | None = None) -> dict[str, torch.Tensor]:
        """Content, style, total variation and the weighted total for `picture` at `scale`."""
        assert self.features is not None
        content_targets, grams = self._targets_for(self.scale if scale is None else scale)
        feats = self.features(picture, (*self.content_layers, *self.style_layers))
        c = sum(content_loss(feats[name], content_targets[name]) for name in self.content_layers)
        s = style_loss(feats, grams)
        t = tv_loss(picture)
        cfg = self.config
        total = self.content_weight * c + cfg.style_weight * s + cfg.tv_weight * t
        return {"loss": total, "content": c, "style": s, "tv": t}

    @property
    def content_weight(self) -> float:
        """The configured content weight, or the default for the kind of features in use.

        The weights' balance depends on the feature network's activation scale: 1 (with style 1e6)
        is the usual balance for pretrained VGG19 with these loss definitions, while with random
        features the style term dominates so much that the content disappears; 100 keeps it.
        """
        if self.config.content_weight is not None:
            return float(self.config.content_weight)
        degraded = self.features is not None and self.features.source.degraded
        return 100.0 if degraded else 1.0

    def train_step(self, ctx: StepContext) -> Mapping[str, torch.Tensor]:
        wanted = self.scale_at(ctx.step)
        if wanted != self.scale:
            canvas: ImageCanvas = self.nets["image"]  # type: ignore[assignment]
            with torch.no_grad():
                bigger = F.interpolate(canvas.image().detach(), size=self._extent(wanted), mode="bicubic",
                                       align_corners=False).clamp(0.0, 1.0)
            self._set_scale(wanted, bigger)
        canvas = self.nets["image"]  # type: ignore[assignment]
        optimizer = self.optimizers["image"]
        logs: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            optimizer.zero_grad(set_to_none=True)
            with ctx.full_precision():
                parts = self.losses(canvas.image())
            parts["loss"].backward()
            logs.update({k: v.detach() for k, v in parts.items()})
            return parts["loss"]

        if isinstance(optimizer, torch.optim.LBFGS):
            optimizer.step(closure)  # L-BFGS evaluates the loss itself (ctx.step_optimizer has no closure)
        else:
            closure()
            ctx.step_optimizer("image")
        return logs

    # -- state ------------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        return {"scale": self.scale, "scale_steps": self.scale_steps}

    def load_extra_state(self, state: Mapping[str, Any]) -> None:
        if state.get("scale_steps") is not None:
            self.scale_steps = int(state["scale_steps"])
        scale = int(state.get("scale", 0))
        if scale != self.scale or self.nets["image"].side != self.sides[scale]:
            self._set_scale(scale, None)  # weights and optimiser state are loaded next

    def adjust_for_resume(self) -> None:
        # Loaded tensors may sit at arbitrary offsets of one buffer; vectorised reductions (the dot
        # products of L-BFGS) can round differently on differently aligned memory, so give the
        # optimiser state fresh allocations, as in an uninterrupted run.
        for optimizer in self.optimizers.values():
            for state in optimizer.state.values():
                for key, value in list(state.items()):
                    state[key] = _fresh(value)

    def notes(self) -> dict[str, Any]:
        """Provenance written into checkpoints (and, by `ganzoo stylize`, into the picture)."""
        notes: dict[str, Any] = {"method": "neural_style"}
        if self.features is not None:
            notes.update(self.features.source.notes())
        if self.content_picture is not None:
            notes["content_size"] = _wxh(self.content_picture)
            notes["style_sizes"] = ", ".join(_wxh(p) for p in self.style_pictures)
        return notes

    # -- pictures ---------------------------------------------------------------------------------
    def preview_inputs(self, n: int, generator: torch.Generator, data: Any) -> dict[str, int]:
        return {"columns": 3}

    def _result(self, canvas: ImageCanvas) -> torch.Tensor:
        picture = canvas.image().detach()
        if self.config.preserve_color:
            picture = img.keep_colors(picture, canvas.content_image())
        return picture

    def preview(self, inputs: Any, nets: Mapping[str, nn.Module]) -> tuple[torch.Tensor, int]:
        canvas: ImageCanvas = nets["image"]  # type: ignore[assignment]
        size = canvas.size()
        row = [canvas.content_image().detach()]
        if self.style_pictures:
            row.append(img.resize(self.style_pictures[0], size).to(canvas.logits.device))
        row.append(self._result(canvas))
        return img.to_signed(torch.cat(row)), len(row)

    def preview_tag(self) -> str | None:
        return f"{self.sides[self.scale]}px" if len(self.sides) > 1 else None

    def stylize(self, content: torch.Tensor | None = None, *,
                nets: Mapping[str, nn.Module] | None = None) -> torch.Tensor:
        """The optimised picture (1 x 3 x h x w in [-1, 1]); `content` is unused: it is part of the run."""
        canvas: ImageCanvas = self.net("image", nets)  # type: ignore[assignment]
        return img.to_signed(self._result(canvas))


def _fresh(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone(memory_format=torch.contiguous_format)
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    return value


def _wxh(picture: torch.Tensor) -> str:
    return f"{int(picture.shape[-1])}x{int(picture.shape[-2])}"


def scale_sides(image_size: int, scales: int) -> list[int]:
    """Longest-edge sizes from coarse to fine, halving per scale (never below 16 pixels)."""
    return [max(16, round(image_size / 2 ** (scales - 1 - k))) for k in range(scales)]


def build(config: Any, *, training: bool = True) -> NeuralStyle:
    return NeuralStyle(config, training=training)
