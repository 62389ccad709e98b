"""Conversion of the reference implementation's generator files (format `cyclegan-reference`).

The authors publish one generator per direction (`horse2zebra.pth` maps horses to zebras,
`zebra2horse.pth` the other way) as a plain state dict of a ResnetGenerator (9 blocks, instance
norm, no dropout). ganzoo's networks use the same key names, so conversion only:

* reads the file without unpickling arbitrary objects (`ganzoo.pretrained.load_torch_weights`);
* strips a `module.` prefix (files saved from `nn.DataParallel`);
* drops the `running_mean` / `running_var` / `num_batches_tracked` entries that files written by
  PyTorch 0.4-era code carry for instance-norm layers, exactly as the reference does when loading
  (its instance norm keeps no statistics, so these entries are unused leftovers);
* reads the architecture from the tensors (ResNet with 6 or 9 blocks, or U-Net with 7 or 8 levels;
  width, channels, normalisation, dropout layout) and returns it as config values.

The generator becomes `G_A`, so a converted file translates in its own direction with the default
`--direction a2b` (`cyclegan.zebra2horse` translates zebras to horses).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import CheckpointError

STATS = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.")


def strip_prefix(state: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Tensors only, with a leading `module.` (DataParallel) removed from every key."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        out[key[len("module."):] if key.startswith("module.") else key] = value
    return out


def drop_instance_norm_stats(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Remove running statistics of normalisation layers that have no affine weight (instance norm).

    A batch-norm layer has `weight` and `bias` next to its statistics and keeps them; an
    instance-norm layer (affine off) has statistics only, which are dropped.
    """
    kept: dict[str, torch.Tensor] = {}
    dropped: list[str] = []
    for key, value in state.items():
        module, _, leaf = key.rpartition(".")
        if leaf in STATS and f"{module}.weight" not in state:
            dropped.append(key)
        else:
            kept[key] = value
    return kept, dropped


def _norm_kind(state: Mapping[str, torch.Tensor], first_conv: str, first_norm: str) -> str:
    if f"{first_norm}.weight" in state:
        return "batch"
    if f"{first_conv}.bias" in state:
        return "instance"
    return "none"


def describe_resnet(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Config values of a ResnetGenerator state dict (generator, ngf, channels, norm, dropout)."""
    blocks = sorted({int(m.group(1)) for key in state if (m := _BLOCK.match(key))})
    if not blocks or blocks != list(range(10, 10 + len(blocks))):
        raise CheckpointError("the weights are not a reference ResnetGenerator (residual blocks must start at model.10)")
    n_blocks = len(blocks)
    names = {9: "resnet_9blocks", 6: "resnet_6blocks"}
    if n_blocks not in names:
        raise CheckpointError(f"a ResNet generator with {n_blocks} blocks is not supported (6 or 9)")
    first = state["model.1.weight"]
    last_key = f"model.{10 + n_blocks + 7}.weight"
    if last_key not in state:
        raise CheckpointError(f"the weights have no output convolution ({last_key})")
    in_channels, ngf = int(first.shape[1]), int(first.shape[0])
    out_channels = int(state[last_key].shape[0])
    _check_channels(in_channels, out_channels)
    return {
        "generator": names[n_blocks],
        "ngf": ngf,
        "channels": in_channels,
        "norm": _norm_kind(state, "model.1", "model.2"),
        # Without dropout the second convolution of a block sits at position 5, with dropout at 6.
        "dropout": "model.10.conv_block.5.weight" not in state,
    }


def describe_unet(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Config values of a UnetGenerator state dict (unet_128 or unet_256)."""
    depth = max(key.count("model.") for key in state) - 1
    names = {7: "unet_128", 8: "unet_256"}
    if depth not in names:
        raise CheckpointError(f"a U-Net generator with {depth} levels is not supported (7 or 8)")
    first = state["model.model.0.weight"]
    out_channels = int(state["model.model.3.weight"].shape[1])
    in_channels, ngf = int(first.shape[1]), int(first.shape[0])
    _check_channels(in_channels, out_channels)
    inner = "model.model.1.model"
    return {
        "generator": names[depth],
        "ngf": ngf,
        "channels": in_channels,
        "norm": _norm_kind(state, f"{inner}.1", f"{inner}.2"),
        # Dropout closes the middle levels, after every weighted layer: it leaves no trace in the keys.
        "dropout": False,
    }


def _check_channels(in_channels: int, out_channels: int) -> None:
    if in_channels != out_channels:
        raise CheckpointError(f"the generator maps {in_channels} to {out_channels} channels; ganzoo's cyclegan "
                              "needs the same number in both domains")
    if in_channels not in (1, 3):
        raise CheckpointError(f"the generator works on {in_channels} channels; ganzoo's cyclegan supports 1 or 3")


def convert_state_dict(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any], list[str]]:
    """(generator weights in ganzoo's layout, config values they need, dropped keys)."""
    tensors = strip_prefix(state)
    if not tensors:
        raise CheckpointError("the file holds no tensors")
    tensors, dropped = drop_instance_norm_stats(tensors)
    if "model.1.weight" in tensors:
        config = describe_resnet(tensors)
    elif "model.model.0.weight" in tensors:
        config = describe_unet(tensors)
    else:
        example = next(iter(tensors))
        raise CheckpointError(f"the weights are not a reference CycleGAN generator (first key {example!r}; "
                              "expected model.1.weight or model.model.0.weight)")
    return {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}, config, dropped


def convert(path: Path, checkpoint: Any) -> Any:
    """The `cyclegan-reference` converter: one published generator becomes `G_A`."""
    from ganzoo.pretrained import Converted, load_torch_weights

    state = load_torch_weights(path)
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    weights, config, dropped = convert_state_dict(state)
    notes = {
        "converter": "ganzoo_cyclegan.convert",
        "direction": "a2b",
        "generator_from": getattr(checkpoint, "tag", ""),
        "dropped_keys": len(dropped),
    }
    return Converted(nets={"G_A": weights}, model={"image_size": 256, **config}, notes=notes)
