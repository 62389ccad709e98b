"""Conversion of the reference implementation's generator files (format `cyclegan-reference`).

The authors publish one generator per direction (`horse2zebra.pth` maps horses to zebras,
`zebra2horse.pth` the other way) as a plain state dict of a ResnetGenerator (9 blocks, instance
norm, no dropout). ganzoo's networks (`ganzoo.nn`) use the same key names, so conversion only
(`ganzoo.nn.translation_weights.read_generator`):

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

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import CheckpointError
from ganzoo.nn.translation_weights import drop_instance_norm_stats, read_generator

#: The generators ganzoo's cyclegan offers (its config's choices).
CYCLEGAN_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256")

__all__ = ["convert", "convert_state_dict", "drop_instance_norm_stats"]


def _check_channels(in_channels: int, out_channels: int) -> None:
    if in_channels != out_channels:
        raise CheckpointError(f"the generator maps {in_channels} to {out_channels} channels; ganzoo's cyclegan "
                              "needs the same number in both domains")
    if in_channels not in (1, 3):
        raise CheckpointError(f"the generator works on {in_channels} channels; ganzoo's cyclegan supports 1 or 3")


def convert_state_dict(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any], list[str]]:
    """(generator weights in ganzoo's layout, config values they need, dropped keys)."""
    weights, described, dropped, _ = read_generator(state)
    if described["generator"] not in CYCLEGAN_GENERATORS:
        raise CheckpointError(f"a {described['generator']} generator is not one of cyclegan's "
                              f"({', '.join(CYCLEGAN_GENERATORS)})")
    _check_channels(described["in_channels"], described["out_channels"])
    config = {
        "generator": described["generator"],
        "ngf": described["ngf"],
        "channels": described["in_channels"],
        "norm": described["norm"],
        # A ResNet file shows whether its blocks have dropout; a U-Net's dropout leaves no trace, and
        # the reference CycleGAN trains without it.
        "dropout": bool(described.get("dropout", False)),
    }
    return weights, config, dropped


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
