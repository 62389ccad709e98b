"""Convert PGAN weights of facebookresearch/pytorch_GAN_zoo (format `pgan-pytorch-gan-zoo`) to ganzoo's layout.

What such a file holds (facts read from that project's `models/networks/progressive_conv_net.py`,
`custom_layers.py`, `base_GAN.py` and `hubconf.py`): a dictionary with `config` (a pickled
`models.utils.config.BaseConfig` object of plain values), `netG`, `netD` and usually `avgG` (the
averaged generator, which their hub loader uses for sampling). A generator state dict has

    formatLayer.module.{weight,bias}        dense latent -> 16 * d0 (one bias per output unit)
    groupScale0.0.module.{weight,bias}      3x3 conv d0 -> d0 at 4x4
    scaleLayers.{i}.{0,1}.module.*          two 3x3 convs per higher resolution
    toRGBLayers.{i}.module.*                1x1 conv per resolution

Their equalised layers compute `(W x + b) * sqrt(2 / fan_in)` (the bias is scaled too, and the
gain is sqrt(2) for every layer); ganzoo's compute `x (W * gain / sqrt(fan_in)) + b` with the
official code's gains (sqrt(2)/4 for the latent layer, 1 for toRGB). So weights are rescaled by
the ratio of the two constants and biases multiplied by theirs. Their blending factor counts the
weight of the *lower* resolution (1 -> 0 during a fade-in); ganzoo's alpha is its complement.
Only the generator is converted: their discriminator's minibatch statistic differs from the paper's.

Their config's `lossCriterion` decides the generator's last activation (`generationActivation` of
their loss classes): tanh for "DCGAN" and "MSE", none for "WGANGP" and "Logistic"; `leakyReluLeak` is
the slope of every leaky ReLU. Both are carried into the converted model's config.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError

ZOO_CONFIG_CLASS = "models.utils.config.BaseConfig"
ZOO_LOSS_OUTPUT = {"WGANGP": "linear", "Logistic": "linear", "DCGAN": "tanh", "MSE": "tanh"}
"""pytorch_GAN_zoo's loss modes and the generator output activation each one trains with."""


class _ZooConfig:
    """Stands in for pytorch_GAN_zoo's BaseConfig (a bag of plain attributes) while unpickling."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def load_zoo_file(path: Path) -> dict[str, Any]:
    """Read a pytorch_GAN_zoo checkpoint with `weights_only=True`, allowing only their plain config class."""
    import pickle

    import torch

    try:
        with torch.serialization.safe_globals([(_ZooConfig, ZOO_CONFIG_CLASS)]):
            data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise CheckpointError(
            f"{path} cannot be read as PGAN weights (weights_only=True refused it: {reason}); "
            "ganzoo never unpickles arbitrary objects"
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} holds a {type(data).__name__}, not a pytorch_GAN_zoo checkpoint dictionary")
    return data


def _config_values(data: dict[str, Any]) -> dict[str, Any]:
    config = data.get("config")
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    return dict(getattr(config, "__dict__", {}))


def _tensor(sd: dict[str, Any], key: str, source: str) -> Any:
    try:
        return sd[key]
    except KeyError:
        raise CheckpointError(f"{source}: key {key!r} is missing; not a pytorch_GAN_zoo PGAN generator") from None


def zoo_generator_layout(sd: dict[str, Any], source: str = "weights") -> dict[str, Any]:
    """Latent size, channels and widths per resolution read from a generator state dict's shapes."""
    fmt = _tensor(sd, "formatLayer.module.weight", source)
    if fmt.dim() != 2 or fmt.shape[0] % 16:
        raise CheckpointError(f"{source}: formatLayer has shape {tuple(fmt.shape)}, not (16 * d0, latent)")
    scales = sorted({int(m.group(1)) for k in sd if (m := re.match(r"scaleLayers\.(\d+)\.", k))})
    if scales != list(range(len(scales))):
        raise CheckpointError(f"{source}: scale layers {scales} are not numbered 0..n-1")
    widths = [fmt.shape[0] // 16]
    for i in scales:
        widths.append(int(_tensor(sd, f"scaleLayers.{i}.0.module.weight", source).shape[0]))
    rgb = _tensor(sd, f"toRGBLayers.{len(scales)}.module.weight", source)
    return {"latent_dim": int(fmt.shape[1]), "widths": widths, "channels": int(rgb.shape[0]),
            "image_size": 4 * 2 ** len(scales)}


def convert_generator(sd: dict[str, Any], *, equalized: bool = True, zoo_alpha: float = 0.0,
                      source: str = "weights") -> tuple[dict[str, Any], dict[str, Any]]:
    """(ganzoo generator state dict, model config values) from a pytorch_GAN_zoo generator state dict."""
    import torch

    from ganzoo_progan.layers import SQRT2

    layout = zoo_generator_layout(sd, source)
    widths = layout["widths"]

    def pair(zoo: str, ours: str, gain: float) -> dict[str, Any]:
        weight = _tensor(sd, f"{zoo}.module.weight", source).float()
        bias = _tensor(sd, f"{zoo}.module.bias", source).float()
        fan_in = math.prod(weight.shape[1:])
        theirs = math.sqrt(2.0 / fan_in) if equalized else 1.0
        mine = gain / math.sqrt(fan_in)
        return {f"{ours}.weight": weight * (theirs / mine), f"{ours}.bias": bias * theirs}

    out: dict[str, Any] = {}
    out.update(pair("formatLayer", "input", SQRT2 / 4))
    out.update(pair("groupScale0.0", "conv4", SQRT2))
    for i in range(len(widths) - 1):
        out.update(pair(f"scaleLayers.{i}.0", f"blocks.{i}.conv1", SQRT2))
        out.update(pair(f"scaleLayers.{i}.1", f"blocks.{i}.conv2", SQRT2))
    for i in range(len(widths)):
        out.update(pair(f"toRGBLayers.{i}", f"to_rgb.{i}", 1.0))
    alpha = 1.0 - float(zoo_alpha) if len(widths) > 1 else 1.0
    out["stage"] = torch.tensor(len(widths) - 1, dtype=torch.int64)
    out["alpha"] = torch.tensor(alpha, dtype=torch.float32)
    model = {"image_size": layout["image_size"], "latent_dim": layout["latent_dim"],
             "channels": layout["channels"], "widths": tuple(widths)}
    return out, model


def convert(path: Path, checkpoint: Any) -> Any:
    """The core's converter entry point: `Converted` with the generator `G` (their averaged one if present)."""
    from ganzoo.pretrained import Converted

    data = load_zoo_file(Path(path))
    values = _config_values(data)
    name = "avgG" if isinstance(data.get("avgG"), dict) else "netG"
    sd = data.get(name)
    if not isinstance(sd, dict):
        raise CheckpointError(f"{path} holds no 'netG' or 'avgG' state dict; not a pytorch_GAN_zoo PGAN checkpoint")
    if values.get("perChannelNormalization") is False:
        raise CheckpointError(f"{path}: a PGAN trained without pixel normalisation cannot be converted")
    if int(values.get("categoryVectorDim") or 0) > 0:
        raise CheckpointError(f"{path}: a class-conditional (AC-GAN) PGAN cannot be converted to the unconditional model")
    zoo_alpha = float(values.get("alpha") or 0.0)
    if not 0.0 <= zoo_alpha <= 1.0:
        raise CheckpointError(f"{path}: blending factor {zoo_alpha} is outside [0, 1]")
    loss = values.get("lossCriterion", "WGANGP")
    if loss not in ZOO_LOSS_OUTPUT:
        raise CheckpointError(f"{path}: unknown loss mode {loss!r} (pytorch_GAN_zoo knows "
                              f"{', '.join(ZOO_LOSS_OUTPUT)}); its generator's last activation is unknown")
    slope = values.get("leakyReluLeak", 0.2)
    if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not 0.0 <= float(slope) <= 1.0:
        raise CheckpointError(f"{path}: leaky ReLU slope {slope!r} is not a number in [0, 1]")
    state, model = convert_generator(sd, equalized=values.get("equalizedlR", True) is not False,
                                     zoo_alpha=zoo_alpha, source=str(path))
    model.update(output_activation=ZOO_LOSS_OUTPUT[loss], lrelu_slope=float(slope))
    notes = {"generator": "averaged (avgG)" if name == "avgG" else "raw (netG)",
             "resolution": model["image_size"], "zoo_alpha": zoo_alpha, "loss_mode": loss,
             "lrelu_slope": float(slope)}
    return Converted(nets={"G": state}, model=model, notes=notes)
