"""`digits`: a small CNN classifier of scikit-learn's digits, the offline extractor for the built-in data.

Its weights (`ganzoo/assets/digits_extractor.safetensors`, about 0.4 MB) are built by
`scripts/train_digits_extractor.py` from the *training* half of `ganzoo.data.digits_split`; its accuracy
on the held-out half is recorded in the file's metadata (and checked by the test suite).

Resizer: RGB is averaged to gray, then the image is resized to 16 x 16 with anti-aliased bilinear
interpolation. Features are the 64 pre-activation units of the penultimate layer; logits are the 10
digit classes, so the extractor also serves `is` and `class_acc`. The features are standardised with a
fixed per-unit mean and standard deviation measured on the training half when the file was built.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.metrics.catalog import DIGITS_WEIGHTS_FILE
from ganzoo.metrics.extractors.base import FeatureExtractor, to_gray

INPUT_SIZE = 16
FEATURE_DIM = 64
NUM_CLASSES = 10
ARCH_VERSION = "1"


class DigitsNet(nn.Module):
    """16 x 16 gray in [-1, 1] -> (64-d features, 10 logits)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 4 * 4, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        # Fixed standardisation of the features (mean 0, std 1 per unit on the training half), so that
        # FID and KID values have a scale that does not depend on how the training happened to go.
        self.register_buffer("feat_mean", torch.zeros(FEATURE_DIM))
        self.register_buffer("feat_std", torch.ones(FEATURE_DIM))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.max_pool2d(F.relu(self.conv3(x)), 2)
        hidden = self.fc1(torch.flatten(x, 1))
        return (hidden - self.feat_mean) / self.feat_std, self.fc2(F.relu(hidden))


def prepare(images: torch.Tensor) -> torch.Tensor:
    """The digits resizer: gray, then anti-aliased bilinear to 16 x 16."""
    x = to_gray(images)
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True)
    return x


class DigitsExtractor(FeatureExtractor):
    resizer = "gray (channel mean), then bilinear to 16x16 (torch interpolate, antialias=True, align_corners=False)"

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        return prepare(images)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.net(x)


def shipped_weights() -> Path:
    """The weights file shipped in the core package."""
    return Path(str(resources.files("ganzoo").joinpath("assets", DIGITS_WEIGHTS_FILE)))


def build(weights: str | None, device: Any = "cpu") -> DigitsExtractor:
    """The `digits` extractor from the shipped weights (or `weights`, a safetensors file of DigitsNet)."""
    from safetensors.torch import load_file

    from ganzoo.errors import GanzooError
    from ganzoo.metrics.weights import file_sha256

    path = Path(weights).expanduser() if weights else shipped_weights()
    if not path.is_file():
        hint = "pass an existing file" if weights else "run scripts/train_digits_extractor.py or reinstall ganzoo-core"
        raise GanzooError(f"digits extractor weights {path} not found; {hint}")
    net = DigitsNet()
    try:
        net.load_state_dict(load_file(str(path)))
    except (RuntimeError, OSError) as exc:
        raise GanzooError(f"{path} is not a digits extractor weights file: {str(exc).splitlines()[0]}") from None
    return DigitsExtractor(
        "digits", net, feature_dim=FEATURE_DIM, input_size=INPUT_SIZE, weights_path=str(path),
        weights_sha256=file_sha256(path), num_classes=NUM_CLASSES, device=device, batch_size=512,
    )
