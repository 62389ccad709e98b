"""`timm:NAME`: any timm model's pooled features (e.g. DINOv2 for FD_DINOv2), weights from a local file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganzoo.errors import GanzooError
from ganzoo.metrics.extractors import TIMM_PREFIX as PREFIX
from ganzoo.metrics.extractors.base import FeatureExtractor, to_rgb


class TimmExtractor(FeatureExtractor):
    """Pooled (pre-classifier) features of a timm model, with the model's own input size and normalisation."""

    def __init__(self, *args: Any, interpolation: str, mean: tuple[float, ...], std: tuple[float, ...],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.interpolation = interpolation if interpolation in ("bilinear", "bicubic", "nearest") else "bicubic"
        self.mean = torch.tensor(mean, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=self.device).view(1, -1, 1, 1)
        self.resizer = (
            f"{self.interpolation} to {self.input_size}x{self.input_size} (torch interpolate, antialias=True, "
            f"align_corners=False); gray repeated to RGB; normalised with mean {list(mean)} std {list(std)}"
        )

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        x = (to_rgb(images) + 1) / 2
        if x.shape[-2:] != (self.input_size, self.input_size):
            kwargs = {} if self.interpolation == "nearest" else {"align_corners": False, "antialias": True}
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode=self.interpolation, **kwargs)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.net(x), None


def build_named(name: str, weights: str | None, device: Any = "cpu") -> TimmExtractor:
    """The extractor `timm:MODEL` with weights from a local file (timm's own downloads are not used)."""
    import timm

    from ganzoo.metrics.weights import file_sha256

    model_name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    if not model_name:
        raise GanzooError("--extractor timm:NAME needs a model name, e.g. timm:vit_large_patch14_dinov2.lvd142m")
    if not timm.is_model(model_name):
        raise GanzooError(f"timm has no model {model_name!r}; see timm.list_models()")
    if not weights:
        raise GanzooError(
            f"--extractor timm:{model_name} needs its pretrained weights from a local file: pass --weights PATH "
            "(a .safetensors, .pth or .bin state dict; timm does not download here)"
        )
    path = Path(weights).expanduser()
    if not path.is_file():
        raise GanzooError(f"--weights {weights}: no such file")
    try:
        net = timm.create_model(model_name, pretrained=True, num_classes=0,
                                pretrained_cfg_overlay={"file": str(path)})
    except (RuntimeError, KeyError, ValueError) as exc:
        raise GanzooError(f"{path} does not load into timm model {model_name}: {str(exc).splitlines()[0]}") from None
    cfg = timm.data.resolve_data_config({}, model=net)
    input_size = int(cfg["input_size"][-1])
    return TimmExtractor(
        f"{PREFIX}{model_name}", net, feature_dim=int(net.num_features), input_size=input_size,
        weights_path=str(path), weights_sha256=file_sha256(path), num_classes=None, device=device,
        batch_size=32, interpolation=str(cfg.get("interpolation", "bicubic")),
        mean=tuple(cfg.get("mean", (0.485, 0.456, 0.406))), std=tuple(cfg.get("std", (0.229, 0.224, 0.225))),
    )
