"""Conversion of the reference implementation's pix2pix generator files (format `pix2pix-reference`).

The authors publish one generator per task (`edges2shoes.pth`, `sat2map.pth`, ...) as a plain state dict
of a UnetGenerator (8 levels, width 64, batch norm, trained with dropout, 3 channels in and out). ganzoo's
networks (`ganzoo.nn`) use the same key names, so conversion only
(`ganzoo.nn.translation_weights.read_generator`):

* reads the file without unpickling arbitrary objects (`ganzoo.pretrained.load_torch_weights`);
* strips a `module.` prefix (files saved from `nn.DataParallel`);
* adds `num_batches_tracked` = 0 to batch-norm layers of files older than PyTorch 0.4.1 (as PyTorch does
  when the reference loads them) and drops running statistics of instance-norm layers;
* reads the architecture from the tensors (U-Net depth or ResNet blocks, width, channels, normalisation)
  and returns it as config values; a U-Net's dropout has no parameters, so it is taken to be the
  reference pix2pix's default (on), which is how the published generators were trained.

The generator becomes `G`. It translates the way its name says with the default `--direction a2b`
(`pix2pix.map2sat` turns maps into aerial photos); the catalogue's `direction` records how the
reference orients the data set for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganzoo.errors import CheckpointError
from ganzoo.nn.translation_weights import read_generator


def convert_state_dict(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, int]]:
    """(generator weights in ganzoo's layout, config values they need, counts of dropped and added keys)."""
    weights, described, dropped, added = read_generator(state)
    if described["in_channels"] != described["out_channels"]:
        raise CheckpointError(f"the generator maps {described['in_channels']} to {described['out_channels']} "
                              "channels; ganzoo's pix2pix translates between images with the same channels")
    if described["in_channels"] not in (1, 3):
        raise CheckpointError(f"the generator works on {described['in_channels']} channels; ganzoo's pix2pix "
                              "supports 1 or 3")
    config = {
        "generator": described["generator"],
        "ngf": described["ngf"],
        "channels": described["in_channels"],
        "norm": described["norm"],
        "dropout": bool(described.get("dropout", True)),
    }
    return weights, config, {"dropped_keys": len(dropped), "added_keys": len(added)}


def convert(path: Path, checkpoint: Any) -> Any:
    """The `pix2pix-reference` converter: one published generator becomes `G`."""
    from ganzoo.pretrained import Converted, load_torch_weights

    state = load_torch_weights(path)
    if "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    weights, config, counts = convert_state_dict(state)
    notes = {"converter": "ganzoo_pix2pix.convert", "generator_from": getattr(checkpoint, "tag", ""), **counts}
    return Converted(nets={"G": weights}, model={"image_size": 256, **config}, notes=notes)
