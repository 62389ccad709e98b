"""Reading generator files saved by the image-to-image translation reference (CycleGAN and pix2pix).

junyanz/pytorch-CycleGAN-and-pix2pix saves a generator as a plain state dict (`torch.save(net.state_dict())`)
in the layouts of `ganzoo.nn.resnet_generator` and `ganzoo.nn.unet`, so no key is renamed. What differs
from a state dict of ganzoo's networks, and is handled here:

* a `module.` prefix on every key (networks saved from `nn.DataParallel`);
* `running_mean` / `running_var` / `num_batches_tracked` entries of instance-norm layers in files
  written by PyTorch 0.4-era code (the reference drops them when loading: its instance norm keeps no
  statistics);
* batch-norm layers without `num_batches_tracked` (files older than PyTorch 0.4.1; PyTorch fills in 0
  when the reference loads them);
* the architecture is not stored: it is read from the tensors (generator family and depth, width,
  channels, normalisation, and for ResNets whether dropout sits in the blocks).

These helpers only look at tensors; reading the file itself is `ganzoo.pretrained.load_torch_weights`
(`torch.load(weights_only=True)`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import torch

from ganzoo.errors import CheckpointError
from ganzoo.nn.translation import GENERATORS

STATS = ("running_mean", "running_var", "num_batches_tracked")
_BLOCK = re.compile(r"^model\.(\d+)\.conv_block\.")
_UNET_NAMES = {depth: name for name, (family, depth) in GENERATORS.items() if family == "unet"}
_RESNET_NAMES = {depth: name for name, (family, depth) in GENERATORS.items() if family == "resnet"}


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


def fill_batch_counts(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Add `num_batches_tracked` = 0 to batch-norm layers that have running statistics but no count."""
    out = dict(state)
    added = []
    for key in state:
        module, _, leaf = key.rpartition(".")
        count = f"{module}.num_batches_tracked"
        if leaf == "running_mean" and f"{module}.weight" in state and count not in state:
            out[count] = torch.zeros((), dtype=torch.long)
            added.append(count)
    return out, added


def _norm_kind(state: Mapping[str, torch.Tensor], first_conv: str, first_norm: str) -> str:
    if f"{first_norm}.weight" in state:
        return "batch"
    if f"{first_conv}.bias" in state:
        return "instance"
    return "none"


def describe_resnet(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Config values of a ResnetGenerator state dict: generator, ngf, channels, norm, dropout."""
    blocks = sorted({int(m.group(1)) for key in state if (m := _BLOCK.match(key))})
    if not blocks or blocks != list(range(10, 10 + len(blocks))):
        raise CheckpointError("the weights are not a reference ResnetGenerator (residual blocks must start at model.10)")
    n_blocks = len(blocks)
    if n_blocks not in _RESNET_NAMES:
        raise CheckpointError(f"a ResNet generator with {n_blocks} blocks is not supported "
                              f"({' or '.join(str(n) for n in sorted(_RESNET_NAMES))})")
    first = state["model.1.weight"]
    last_key = f"model.{10 + n_blocks + 7}.weight"
    if last_key not in state:
        raise CheckpointError(f"the weights have no output convolution ({last_key})")
    in_channels, ngf = int(first.shape[1]), int(first.shape[0])
    out_channels = int(state[last_key].shape[0])
    return {
        "generator": _RESNET_NAMES[n_blocks],
        "ngf": ngf,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "norm": _norm_kind(state, "model.1", "model.2"),
        # Without dropout the second convolution of a block sits at position 5, with dropout at 6.
        "dropout": "model.10.conv_block.5.weight" not in state,
    }


def describe_unet(state: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """Config values of a UnetGenerator state dict: generator, ngf, channels, norm.

    Dropout (in the levels next to the innermost) has no parameters and leaves no trace in the keys:
    the caller knows whether its family trained with it.
    """
    depth = max(key.count("model.") for key in state) - 1
    if depth not in _UNET_NAMES:
        raise CheckpointError(f"a U-Net generator with {depth} levels is not supported "
                              f"({', '.join(str(d) for d in sorted(_UNET_NAMES))})")
    if "model.model.0.weight" not in state or "model.model.3.weight" not in state:
        raise CheckpointError("the weights are not a reference UnetGenerator (no model.model.0 / model.model.3)")
    first = state["model.model.0.weight"]
    out_channels = int(state["model.model.3.weight"].shape[1])
    in_channels, ngf = int(first.shape[1]), int(first.shape[0])
    inner = "model.model.1.model"
    return {
        "generator": _UNET_NAMES[depth],
        "ngf": ngf,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "norm": _norm_kind(state, f"{inner}.1", f"{inner}.2"),
    }


def read_generator(
    state: Mapping[str, Any],
) -> tuple[dict[str, torch.Tensor], dict[str, Any], list[str], list[str]]:
    """(weights in ganzoo's layout as float32, what `describe_*` read, keys dropped, keys added).

    Raises a one-line CheckpointError when the tensors are not a reference ResNet or U-Net generator.
    """
    tensors = strip_prefix(state)
    if not tensors:
        raise CheckpointError("the file holds no tensors")
    tensors, dropped = drop_instance_norm_stats(tensors)
    tensors, added = fill_batch_counts(tensors)
    if "model.1.weight" in tensors:
        described = describe_resnet(tensors)
    elif "model.model.0.weight" in tensors:
        described = describe_unet(tensors)
    else:
        example = next(iter(tensors))
        raise CheckpointError(f"the weights are not a reference generator (first key {example!r}; "
                              "expected model.1.weight or model.model.0.weight)")
    weights = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    return weights, described, dropped, added
