"""Write network pickles in the StyleGAN2-ADA release format (for tests; no reference code involved).

The format, as its training loop writes it: `pickle.dump` of a dict with `training_set_kwargs`, `G`,
`D`, `G_ema` and `augment_pipe`, where each network (and each of its sub-modules) is reduced to a call of
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, meta = {type: "class", version, module_src,
class_name, state}; state is the module's `__dict__` (parameters and buffers as plain pickled tensors,
constructor arguments in `_init_args`/`_init_kwargs`, options as `dnnlib.util.EasyDict`, some gains as NumPy
scalars). Those modules exist here only while the file is written: a reader must not need them.
"""

from __future__ import annotations

import collections
import contextlib
import pickle
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

REFERENCE_CLASS = {"FullyConnected": "FullyConnectedLayer"}

MARKER_SOURCE = "open({marker!r}, 'w').write('the module source ran')\n"


class _Persistent:
    def __init__(self, class_name: str, state: dict[str, Any], source: str) -> None:
        self.meta = {"type": "class", "version": 6, "module_src": source, "class_name": class_name, "state": state}

    def __reduce__(self) -> Any:
        return (sys.modules["torch_utils.persistence"]._reconstruct_persistent_obj, (self.meta,))


def _record(module: nn.Module, kwargs: dict[str, Any], source: str, easydict: type) -> _Persistent:
    params = collections.OrderedDict((k, nn.Parameter(v.detach().clone(), requires_grad=False))
                                     for k, v in module._parameters.items() if v is not None)
    buffers = collections.OrderedDict((k, v.detach().clone()) for k, v in module._buffers.items() if v is not None)
    children = collections.OrderedDict((k, _record(c, {}, source, easydict)) for k, c in module._modules.items())
    state = {"training": False, "_parameters": params, "_buffers": buffers, "_non_persistent_buffers_set": set(),
             "_backward_hooks": collections.OrderedDict(), "_forward_hooks": collections.OrderedDict(),
             "_modules": children, "_init_args": (), "_init_kwargs": easydict(kwargs),
             "weight_gain": np.float64(0.125), "_orig_class_name": type(module).__name__}
    name = type(module).__name__
    return _Persistent(REFERENCE_CLASS.get(name, name), state, source)


@contextlib.contextmanager
def _fake_reference_modules() -> Iterator[type]:
    """torch_utils.persistence and dnnlib.util as they must exist for pickling, removed afterwards."""
    names = ("torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util")
    saved = {n: sys.modules.get(n) for n in names}
    mods = {n: types.ModuleType(n) for n in names}

    def _reconstruct_persistent_obj(meta: Any) -> Any:  # pragma: no cover - never called by a safe reader
        raise AssertionError("the reader called the persistence hook")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    mods["torch_utils.persistence"]._reconstruct_persistent_obj = _reconstruct_persistent_obj
    easydict = type("EasyDict", (dict,), {"__module__": "dnnlib.util", "__qualname__": "EasyDict"})
    mods["dnnlib.util"].EasyDict = easydict
    sys.modules.update(mods)
    try:
        yield easydict
    finally:
        for n, m in saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def generator_kwargs(G: nn.Module, easydict: type) -> dict[str, Any]:
    syn = G.synthesis
    first = syn.b4.conv1
    return {"z_dim": G.z_dim, "c_dim": G.c_dim, "w_dim": G.w_dim, "img_resolution": G.img_resolution,
            "img_channels": G.img_channels,
            "mapping_kwargs": easydict(num_layers=G.mapping.num_layers),
            "synthesis_kwargs": easydict(channel_base=syn.channel_base, channel_max=syn.channel_max,
                                         conv_clamp=first.conv_clamp, num_fp16_res=4)}


def write_reference_pickle(path: Path, G: nn.Module, D: nn.Module, G_ema: nn.Module, *, d_kwargs: dict[str, Any],
                           marker: Path | None = None, extra: dict[str, Any] | None = None) -> Path:
    """Pickle G, D and G_ema as the reference's training loop does; `marker`: a file its module source would write."""
    source = MARKER_SOURCE.format(marker=str(marker)) if marker else "# network source\n"
    with _fake_reference_modules() as easydict:
        g_kwargs = generator_kwargs(G, easydict)
        dk = {**d_kwargs, "mapping_kwargs": easydict(d_kwargs.get("mapping_kwargs", {})),
              "block_kwargs": easydict(), "epilogue_kwargs": easydict(d_kwargs.get("epilogue_kwargs", {}))}
        snapshot = {"training_set_kwargs": {"path": "digits", "resolution": G.img_resolution},
                    "G": _record(G, g_kwargs, source, easydict), "D": _record(D, dk, source, easydict),
                    "G_ema": _record(G_ema, g_kwargs, source, easydict), "augment_pipe": None, **(extra or {})}
        with open(path, "wb") as f:
            pickle.dump(snapshot, f, protocol=4)
    return path


def random_networks(*, c_dim: int = 0, resolution: int = 16, seed: int = 0) -> tuple[nn.Module, nn.Module, nn.Module]:
    """Small G, D, G_ema with every parameter and buffer perturbed (so no default value hides a mistake)."""
    from ganzoo_stylegan.networks import Discriminator, Generator

    torch.manual_seed(seed)
    common = {"channel_base": 128, "channel_max": 32, "conv_clamp": 256}
    nets = (Generator(16, c_dim, 16, resolution, 3, mapping_layers=2, **common),
            Discriminator(c_dim, resolution, 3, mapping_layers=2, **common),
            Generator(16, c_dim, 16, resolution, 3, mapping_layers=2, **common))
    with torch.no_grad():
        for net in nets:
            for name, t in [*net.named_parameters(), *net.named_buffers()]:
                if not name.endswith("resample_filter"):  # the FIR filters are fixed
                    t.add_(0.3 * torch.randn_like(t))
    return nets
