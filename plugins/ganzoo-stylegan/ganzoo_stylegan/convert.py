"""Convert StyleGAN2-ADA network pickles (format `stylegan2-ada-pickle`) to ganzoo's stylegan2 model.

The file is read by `safe_pickle.read_network_pickle` (no code from it runs). It is a dictionary
holding `G`, `D` and `G_ema` network records (and the training set's options and the augmentation
pipeline, ignored). The networks' constructor arguments give the config; their parameters and buffers
already have ganzoo's key layout. Options this implementation does not compute (another activation,
filter or architecture) are refused in one line rather than approximated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError
from ganzoo_stylegan.safe_pickle import PersistentRecord, read_network_pickle

# Constructor options of the reference networks and the values ganzoo computes (anything else is refused).
MAPPING_FIXED = {"activation": "lrelu", "lr_multiplier": 0.01, "w_avg_beta": 0.995}
SYNTHESIS_FIXED = {"architecture": "skip", "resample_filter": [1, 3, 3, 1], "use_noise": True, "activation": "lrelu",
                   "kernel_size": 3}
D_FIXED = {"activation": "lrelu", "resample_filter": [1, 3, 3, 1], "mbstd_num_channels": 1}
IGNORED = {"num_fp16_res", "fp16_channels_last", "channels_last", "conv_clamp", "channel_base", "channel_max",
           "num_layers", "embed_features", "layer_features", "freeze_layers", "mbstd_group_size", "architecture",
           "cmap_dim", "square"}


def _check_fixed(where: str, kwargs: dict[str, Any], fixed: dict[str, Any], source: str) -> None:
    for key, value in kwargs.items():
        if key in fixed:
            if _plain(value) != _plain(fixed[key]):
                raise CheckpointError(f"{source}: {where} option {key}={value!r} is not supported "
                                      f"(ganzoo's stylegan2 computes {fixed[key]!r})")
        elif key not in IGNORED:
            raise CheckpointError(f"{source}: unknown {where} option {key!r}; this file needs a newer ganzoo-stylegan")


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _record(data: Any, name: str, source: str, *, required: bool = True) -> PersistentRecord | None:
    value = data.get(name) if isinstance(data, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, PersistentRecord):
        raise CheckpointError(f"{source} holds no network {name!r}; not a StyleGAN2-ADA network pickle")
    return value


def generator_config(g: PersistentRecord, source: str) -> dict[str, Any]:
    """ganzoo stylegan2 config values from the generator's constructor arguments."""
    if g.class_name != "Generator":
        raise CheckpointError(f"{source}: the generator is a {g.class_name!r}, not a StyleGAN2 Generator")
    kw = g.init_kwargs
    mapping = dict(kw.get("mapping_kwargs") or {})
    synthesis = dict(kw.get("synthesis_kwargs") or {})
    _check_fixed("mapping", mapping, MAPPING_FIXED, source)
    _check_fixed("synthesis", synthesis, SYNTHESIS_FIXED, source)
    try:
        w_dim = int(kw["w_dim"])
        for key in ("embed_features", "layer_features"):
            if mapping.get(key) not in (None, w_dim):
                raise CheckpointError(f"{source}: mapping {key}={mapping[key]} differs from w_dim={w_dim}; not supported")
        clamp = synthesis.get("conv_clamp")
        return {
            "image_size": int(kw["img_resolution"]),
            "channels": int(kw["img_channels"]),
            "classes": int(kw.get("c_dim", 0)),
            "z_dim": int(kw["z_dim"]),
            "w_dim": w_dim,
            "mapping_layers": int(mapping.get("num_layers", 8)),
            "channel_base": int(synthesis.get("channel_base", 32768)),
            "channel_max": int(synthesis.get("channel_max", 512)),
            "conv_clamp": None if clamp is None else float(clamp),
        }
    except KeyError as exc:
        raise CheckpointError(f"{source}: the generator's constructor argument {exc.args[0]!r} is missing") from None


def discriminator_config(d: PersistentRecord, g_config: dict[str, Any], source: str) -> dict[str, Any]:
    """Config values the discriminator adds (or must agree with)."""
    if d.class_name != "Discriminator":
        raise CheckpointError(f"{source}: the discriminator is a {d.class_name!r}, not a StyleGAN2 Discriminator")
    kw = d.init_kwargs
    mapping = dict(kw.get("mapping_kwargs") or {})
    blocks = dict(kw.get("block_kwargs") or {})
    epilogue = dict(kw.get("epilogue_kwargs") or {})
    _check_fixed("discriminator mapping", mapping, MAPPING_FIXED, source)
    _check_fixed("discriminator block", blocks, D_FIXED, source)
    _check_fixed("discriminator epilogue", epilogue, D_FIXED, source)
    for key, ours in (("img_resolution", "image_size"), ("img_channels", "channels"), ("c_dim", "classes"),
                      ("channel_base", "channel_base"), ("channel_max", "channel_max")):
        default = {"channel_base": 32768, "channel_max": 512, "c_dim": 0}.get(key)
        if int(kw.get(key, default)) != g_config[ours]:
            raise CheckpointError(f"{source}: the discriminator's {key} ({kw.get(key, default)}) differs from the "
                                  f"generator's ({g_config[ours]}); ganzoo builds both from one config")
    clamp = kw.get("conv_clamp")
    if (None if clamp is None else float(clamp)) != g_config["conv_clamp"]:
        raise CheckpointError(f"{source}: the discriminator's conv_clamp differs from the generator's")
    architecture = str(kw.get("architecture", "resnet"))
    if architecture not in ("resnet", "orig"):
        raise CheckpointError(f"{source}: discriminator architecture {architecture!r} is not supported "
                              "(ganzoo computes resnet and orig)")
    if kw.get("cmap_dim") is not None:
        raise CheckpointError(f"{source}: a discriminator with an explicit cmap_dim is not supported")
    return {"d_architecture": architecture,
            "d_mapping_layers": int(mapping.get("num_layers", 8)),
            "mbstd_group": int(epilogue.get("mbstd_group_size", 4))}


def read_networks(path: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]:
    """(state dicts by ganzoo network name, config values, notes) of a StyleGAN2-ADA pickle."""
    source = str(path)
    data = read_network_pickle(path)
    g_ema = _record(data, "G_ema", source)
    model = generator_config(g_ema, source)
    nets = {"G_ema": g_ema.state_dict()}
    g = _record(data, "G", source, required=False)
    if g is not None:
        if generator_config(g, source) != model:
            raise CheckpointError(f"{source}: G and G_ema were built with different options")
        nets["G"] = g.state_dict()
    d = _record(data, "D", source, required=False)
    if d is not None:
        model.update(discriminator_config(d, model, source))
        nets["D"] = d.state_dict()
    notes = {"networks": sorted(nets), "resolution": model["image_size"]}
    aug = data.get("augment_pipe")
    if isinstance(aug, PersistentRecord):
        p = (aug.state.get("_buffers") or {}).get("p")
        if p is not None and getattr(p, "numel", lambda: 0)() == 1:
            notes["ada_p"] = float(p)
    return nets, model, notes


def convert(path: Path, checkpoint: Any) -> Any:
    """The core's converter entry point: `Converted` with G_ema (and G and D when the file has them)."""
    from ganzoo.pretrained import Converted

    nets, model, notes = read_networks(Path(path))
    return Converted(nets=nets, model=model, notes=notes)
