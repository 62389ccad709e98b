"""Where the feature networks' pretrained weights come from.

VGG16/VGG19: an explicit `--weights PATH`, else ganzoo's weights cache, else torch hub's checkpoint
cache (`$TORCH_HOME/hub/checkpoints`, where torchvision keeps the same files), else a download of the
file registry.yaml lists (through ganzoo's one download function). A timm backbone needs a local
file. When none is available the user gets one line saying how to get the weights (and that
`--random-features` runs without them, degraded).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganzoo.download import file_sha256
from ganzoo.errors import CheckpointError, DownloadError, GanzooError

#: registry.yaml `weights:` tag of each torchvision VGG file.
VGG_TAGS = {"vgg16": "vgg16", "vgg19": "vgg19"}

class MissingWeightsError(GanzooError):
    """Pretrained feature weights are needed and none are available."""

    exit_code = 2


def torch_hub_checkpoints() -> Path:
    """torch hub's checkpoint cache (`$TORCH_HOME/hub/checkpoints`)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def catalogue_entry(arch: str):
    """registry.yaml's record (url, sha256, size) of torchvision's `arch` weights."""
    from ganzoo import catalogue

    tag = VGG_TAGS[arch]
    entry = catalogue.load().auxiliary.get(tag)
    if entry is None:
        raise GanzooError(f"registry.yaml lists no weights {tag!r}; reinstall ganzoo-core")
    return entry


def file_name(url: str) -> str:
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]


def cache_path(arch: str) -> Path:
    """Where ganzoo keeps (and downloads) torchvision's `arch` weights."""
    from ganzoo.paths import weights_dir

    return Path(weights_dir()) / file_name(catalogue_entry(arch).url)


def how_to_get(arch: str, model: str = "") -> str:
    entry = catalogue_entry(arch)
    who = f"{model} needs" if model else "this needs"
    return (
        f"{who} pretrained {arch.upper()} weights: download {entry.url} and put it at {cache_path(arch)} "
        f"(or in {torch_hub_checkpoints()}/), or pass --weights PATH (ganzoo train: --feature-weights PATH); "
        "--random-features runs without them (degraded)"
    )


def _check_known(path: Path, entry) -> Path:
    if entry.sha256 and file_sha256(path) != entry.sha256:
        raise CheckpointError(
            f"{path} is not torchvision's file (sha256 {file_sha256(path)[:12]}..., expected {entry.sha256[:12]}...); "
            "delete it, or pass it with --weights to use it anyway"
        )
    return path


def vgg_weights(arch: str, explicit: str | None, *, model: str = "") -> Path:
    """The torchvision weights file of `arch`: explicit, cached, torch hub's, or downloaded."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise MissingWeightsError(f"--weights {explicit}: no such file")
        return path
    entry = catalogue_entry(arch)
    name = file_name(entry.url)
    for candidate in (cache_path(arch), torch_hub_checkpoints() / name):
        if candidate.is_file():
            return _check_known(candidate, entry)
    from ganzoo.paths import offline

    if offline():
        raise MissingWeightsError(how_to_get(arch, model) + " (GANZOO_OFFLINE is set)")
    from ganzoo.download import download

    try:
        got = download(list(entry.urls), cache_path(arch), sha256=entry.sha256, size=entry.size,
                       description=name)
    except DownloadError as exc:
        raise MissingWeightsError(f"{how_to_get(arch, model)} (the download failed: {_reason(exc.message)})") from None
    return Path(got)


def _reason(message: str) -> str:
    """The gist of a download error (e.g. "[Errno -2] Name or service not known")."""
    text = " ".join(message.split())
    found = re.search(r"\[Errno [^\]]*\][^);]*|timed out|HTTP Error \d+[^);]*|sha256[^);]*", text)
    return found.group(0).strip() if found else "rerun with --debug for details"


def timm_weights(backbone: str, explicit: str | None, *, model: str = "") -> Path:
    """A local weights file for a timm backbone (timm downloads are not used: the file must be given)."""
    if not explicit:
        who = f"{model} with" if model else "the feature network"
        raise MissingWeightsError(
            f"{who} {backbone} needs a local weights file: pass --weights PATH (ganzoo train: --feature-weights PATH), "
            "the model's .safetensors or .pth, e.g. from its Hugging Face page; --random-features runs without them "
            "(degraded)"
        )
    path = Path(explicit).expanduser()
    if not path.is_file():
        raise MissingWeightsError(f"--weights {explicit}: no such file")
    return path


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a .safetensors or .pth/.bin file (pickles are read with weights_only=True)."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read weights {path}: {' '.join(str(exc).split())[:200]}") from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return dict(state)


def read_state_dict_bytes(data: bytes, what: str) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"cannot read {what}: {' '.join(str(exc).split())[:200]}") from None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{what} does not hold a state dict of tensors")
    return dict(state)


def load_timm_weights(net: Any, path: Path) -> None:
    """Load a timm model file into a `features_only` network; every feature parameter must be present."""
    state = read_state_dict(path)
    body = net.body  # type: ignore[attr-defined]
    own = body.state_dict()
    usable = {k: v for k, v in state.items() if k in own and tuple(v.shape) == tuple(own[k].shape)}
    missing = [k for k in own if k not in usable]
    if missing:
        raise CheckpointError(
            f"{path} does not fit {net.source.backbone}: {len(missing)} of its feature tensors are "
            f"missing or differ in shape (e.g. {missing[0]})"
        )
    body.load_state_dict(usable, strict=True)
