"""Conversion of the PyTorch examples' published fast_neural_style weights (format `fast-neural-style-examples`).

The published archive (`saved_models.zip`) holds one state dict per style (`candy.pth`, `mosaic.pth`,
`rain_princess.pth`, `udnie.pth`; older releases named them `.model`). Their keys already match
`TransformNet`; files saved by older PyTorch versions also carry instance-norm
`running_mean`/`running_var` entries, which are dropped.

A single style file works too, in either of PyTorch's formats. Since PyTorch 1.6 `torch.save` writes
a zip archive as well, so a zip is told apart by its members: a PyTorch file keeps everything in one
top-level folder with a `data.pkl` in it; the published archive holds `.pth`/`.model` files.
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


STYLE_SUFFIXES = (".pth", ".model")


def is_torch_file(archive: zipfile.ZipFile) -> bool:
    """Whether a zip is a file written by `torch.save` (PyTorch >= 1.6): a `TOP/data.pkl` member."""
    return any(re.fullmatch(r"[^/]+/data\.pkl", name) for name in archive.namelist())


def _member(archive: zipfile.ZipFile, tag: str, source: Path) -> zipfile.ZipInfo:
    wanted = {f"{tag}{suffix}" for suffix in STYLE_SUFFIXES}
    matches = [info for info in archive.infolist() if Path(info.filename).name in wanted and not info.is_dir()]
    if len(matches) != 1:
        names = sorted(Path(i.filename).name for i in archive.infolist() if i.filename.endswith(STYLE_SUFFIXES))
        raise CheckpointError(f"{source} holds no single {tag}.pth (it has {', '.join(names) or 'no .pth files'})")
    return matches[0]


def read_published(path: Path, tag: str) -> dict[str, torch.Tensor]:
    """The state dict for style `tag` from the published zip, or from a single file of either torch format."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if is_torch_file(archive):
                return read_state_dict(path)
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
