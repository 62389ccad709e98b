"""Conversion of the PyTorch examples' published fast_neural_style weights (format `fast-neural-style-examples`).

The published archive (`saved_models.zip`) holds one state dict per style (`candy.pth`, `mosaic.pth`,
`rain_princess.pth`, `udnie.pth`). Their keys already match `TransformNet`; files saved by older
PyTorch versions also carry instance-norm `running_mean`/`running_var` entries, which are dropped.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import CheckpointError
from ganzoo_style.weights import read_state_dict, read_state_dict_bytes

#: Instance-norm statistics older files carry (`in1.running_mean`, `res3.in2.running_var`, ...).
STALE_KEY = re.compile(r"(^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$")


def clean_state_dict(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The state dict without stale instance-norm statistics, and the keys that were dropped."""
    kept: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    for key, value in state.items():
        if STALE_KEY.search(key):
            dropped.append(key)
        else:
            kept[key] = value.float()
    return kept, dropped


def _member(archive: zipfile.ZipFile, tag: str, source: Path) -> zipfile.ZipInfo:
    wanted = f"{tag}.pth"
    matches = [info for info in archive.infolist() if Path(info.filename).name == wanted and not info.is_dir()]
    if len(matches) != 1:
        names = sorted(Path(i.filename).name for i in archive.infolist() if i.filename.endswith(".pth"))
        raise CheckpointError(f"{source} holds no single {wanted} (it has {', '.join(names) or 'no .pth files'})")
    return matches[0]


def read_published(path: Path, tag: str) -> dict[str, torch.Tensor]:
    """The state dict for style `tag` from the published zip (or from a single .pth file)."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            info = _member(archive, tag, path)
            if info.file_size > 64 * 2**20:
                raise CheckpointError(f"{path}: {info.filename} is implausibly large ({info.file_size} bytes)")
            data = archive.read(info)
        return read_state_dict_bytes(data, f"{path}:{info.filename}")
    return read_state_dict(path)


def convert(path: Path, checkpoint: Any) -> Any:
    """`ganzoo download fast_style.TAG`: the published file in TransformNet's layout."""
    from ganzoo.pretrained import Converted

    state = read_published(Path(path), checkpoint.tag)
    kept, dropped = clean_state_dict(state)
    return Converted(
        nets={"transform": kept},
        notes={
            "method": "fast_style",
            "dropped_keys": len(dropped),
            "features": "none needed for stylising (trained by the publishers with VGG16 on COCO 2014)",
        },
    )
