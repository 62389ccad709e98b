"""The feature extractor interface: images in [-1, 1] -> features (and classifier logits)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


class FeatureExtractor:
    """A frozen network that turns N x C x H x W images in [-1, 1] (C = 1 or 3) into N x D features.

    Subclasses implement `prepare` (channels, resize, normalisation: the *resizer*, part of the
    protocol) and `forward` (features and, when the network has a classifier, logits).
    """

    #: A short, exact description of how images are brought to the network's input size.
    resizer: str = ""

    def __init__(
        self,
        name: str,
        net: nn.Module,
        *,
        feature_dim: int,
        input_size: int,
        weights_path: str | None,
        weights_sha256: str | None,
        num_classes: int | None = None,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
    ) -> None:
        self.name = name
        self.device = torch.device(device)
        self.net = net.eval().requires_grad_(False).to(self.device)
        self.feature_dim = feature_dim
        self.input_size = input_size
        self.weights_path = weights_path
        self.weights_sha256 = weights_sha256
        self.num_classes = num_classes
        self.batch_size = batch_size

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Bring a batch in [-1, 1] to what the network expects."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(features N x D, logits N x K or None) of a prepared batch."""
        raise NotImplementedError

    @torch.inference_mode()
    def extract(self, images: torch.Tensor) -> tuple[np.ndarray, np.ndarray | None]:
        """Features (float32 N x D) and logits (or None) of images in [-1, 1], in sub-batches."""
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected N x (1|3) x H x W images, got shape {tuple(images.shape)}")
        feats, logits = [], []
        for start in range(0, images.shape[0], self.batch_size):
            batch = images[start:start + self.batch_size].to(self.device, torch.float32)
            f, lg = self.forward(self.prepare(batch))
            feats.append(f.float().cpu().numpy())
            if lg is not None:
                logits.append(lg.float().cpu().numpy())
        f_all = np.concatenate(feats) if feats else np.zeros((0, self.feature_dim), np.float32)
        return f_all, (np.concatenate(logits) if logits else None)

    def protocol(self) -> dict[str, Any]:
        """The extractor's part of a result's protocol stamp."""
        return {
            "extractor": self.name,
            "extractor_weights_sha256": self.weights_sha256,
            "feature_dim": self.feature_dim,
            "extractor_input_size": self.input_size,
            "resizer": self.resizer,
        }


def to_rgb(images: torch.Tensor) -> torch.Tensor:
    """Gray batches repeated to three channels; RGB batches unchanged."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def to_gray(images: torch.Tensor) -> torch.Tensor:
    """The channel mean (gray) of a batch, N x 1 x H x W."""
    return images.mean(dim=1, keepdim=True) if images.shape[1] != 1 else images
