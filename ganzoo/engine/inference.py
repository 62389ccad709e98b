"""Load a trained model for inference from a checkpoint file or a catalogue `name.tag`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.engine.checkpoint import Checkpoint, load_checkpoint, load_module_state
from ganzoo.engine.model import Model
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.run_config import RunConfig, from_header
from ganzoo.specs import ModelSpec

KERNEL_MARGIN = 2.0
"""Peak memory of a network run per byte its tensors hold: convolution kernels keep buffers of their own
(a 512 x 512 CycleGAN generator on the CPU: 130 MiB of tensors at the peak, 240 MiB of resident memory)."""


@dataclass
class Loaded:
    """A model rebuilt from a checkpoint, with its inference networks (EMA weights preferred)."""

    model: Model
    spec: ModelSpec
    run_config: RunConfig
    checkpoint: Checkpoint
    nets: dict[str, torch.nn.Module] = field(default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        return self.model.num_classes

    @property
    def device(self) -> torch.device:
        return self.model.device

    def iter_generate(self, n: int, *, seed: int = 0, labels: torch.Tensor | None = None,
                      batch_size: int = 256) -> Iterator[torch.Tensor]:
        """`n` images in [-1, 1] (float, on the CPU) in chunks of `batch_size`, as `ganzoo sample` draws them.

        One generator seeded with `seed` gives every chunk's latents in turn, so the images depend on
        `seed`, `labels` and `batch_size` only: `ganzoo eval` scores the images `ganzoo sample` writes.
        """
        generator = torch.Generator().manual_seed(seed)
        for start in range(0, n, batch_size):
            k = min(batch_size, n - start)
            chunk_labels = labels[start:start + k] if labels is not None else None
            with torch.inference_mode():
                images = self.model.generate(k, generator=generator, labels=chunk_labels, nets=self.nets)
            yield images.float().cpu()

    def generate(self, n: int, *, seed: int = 0, labels: torch.Tensor | None = None, batch_size: int = 256) -> torch.Tensor:
        """`n` images in [-1, 1] (N x C x H x W, on the CPU), reproducible for a given seed."""
        out = list(self.iter_generate(n, seed=seed, labels=labels, batch_size=batch_size))
        return torch.cat(out) if out else torch.empty(0)

    @property
    def fully_convolutional(self) -> bool:
        """True when every inference network declares a `size_multiple`: it runs on any image size."""
        return bool(self.nets) and all(getattr(net, "size_multiple", None) for net in self.nets.values())

    def translate_mode(self, mode: str | None) -> str | None:
        """The mode `translate` runs in: `mode` checked against the model's `translate_modes`, else its default."""
        modes = tuple(getattr(self.model, "translate_modes", ()))
        if mode is None:
            return modes[0] if modes else None
        if mode not in modes:
            offered = f"choose {' or '.join(modes)}" if modes else "it runs one way only: leave --mode out"
            raise ConfigError(f"{self.spec.name!r} has no translate mode {mode!r}; {offered}")
        return mode

    def translation_bytes_per_pixel(self, *, channels: int, direction: str = "a2b", mode: str | None = None) -> float:
        """About how many bytes `translate` needs per input pixel (tensors at their peak, times a margin for
        the kernels' own buffers), measured once on a small input of the networks' size multiple."""
        import math

        from ganzoo.engine.peak_memory import peak_tensor_bytes

        multiple = 1
        for net in self.nets.values():
            multiple = math.lcm(multiple, int(getattr(net, "size_multiple", None) or 1))
        side = multiple * max(1, math.ceil(64 / multiple))
        probe = torch.zeros(1, channels, side, side)
        _, peak = peak_tensor_bytes(lambda: self.translate(probe, direction=direction, mode=mode))
        return KERNEL_MARGIN * peak / (side * side)

    @torch.inference_mode()
    def translate(self, images: torch.Tensor, *, direction: str = "a2b", mode: str | None = None) -> torch.Tensor:
        """Translated images (on the CPU); `mode` is one of the model's `translate_modes` (None: its default)."""
        if mode is None:
            return self.model.translate(images.to(self.device), direction=direction, nets=self.nets).cpu()
        mode = self.translate_mode(mode)
        return self.model.translate(images.to(self.device), direction=direction, nets=self.nets, mode=mode).cpu()


def resolve_source(source: str) -> Path:
    """A checkpoint path for SOURCE: a file, a run folder or its `checkpoints/` folder, or a catalogue `name.tag`."""
    from ganzoo.engine.peek import checkpoint_in_folder, looks_like_path

    if looks_like_path(source):
        path = Path(source).expanduser()
        return checkpoint_in_folder(path) if path.is_dir() else path
    from ganzoo.pretrained import fetch_pretrained

    return fetch_pretrained(source)


def load(source: str, *, device: str | torch.device = "cpu", channels_last: bool = False) -> Loaded:
    """Rebuild the model a checkpoint (or `name.tag`) describes and load its inference weights.

    Only the networks inference uses are read from the file (EMA copies when stored).
    """
    from ganzoo.engine.checkpoint import load_networks
    from ganzoo.engine.peek import read_header_fast, spec_for_header
    from ganzoo.engine.run import build_model

    path = resolve_source(source)
    header = read_header_fast(path)
    spec = spec_for_header(header, path)
    try:
        run = from_header(header["config"], spec)
    except ConfigError as exc:
        raise CheckpointError(f"{path} holds a config this version of {spec.name} cannot use ({exc.message})") from None
    model = build_model(spec, run.model, training=False)
    names = list(model.inference_nets) or list(model.nets)
    ck = load_networks(path, [n for n in names if n in model.nets])
    nets: dict[str, torch.nn.Module] = {}
    for name in names:
        if name not in model.nets or (name not in ck.nets and name not in ck.ema):
            continue  # e.g. a pretrained file with only one direction's generator
        load_module_state(model.nets[name], ck.inference_weights(name), what=name, source=str(path))
        nets[name] = model.nets[name]
    if not nets:
        raise CheckpointError(f"{path} holds none of the networks {spec.name!r} needs for inference ({', '.join(names)})")
    model.to(device, channels_last=channels_last)
    model.eval()
    return Loaded(model, spec, run, ck, nets)


def export_weights(source: str, out: str | Path) -> Path:
    """Write a weights-only checkpoint (inference networks, EMA weights preferred) that `sample` can use."""
    from ganzoo.engine.checkpoint import save_checkpoint

    path = resolve_source(source)
    ck = load_checkpoint(path)
    nets_meta = ck.meta["nets"]
    loaded = load(str(path))
    names = [n for n in (loaded.model.inference_nets or tuple(nets_meta)) if n in loaded.nets]
    weights: Mapping[str, Any] = {name: loaded.nets[name].state_dict() for name in names}
    return save_checkpoint(
        out,
        kind="weights",
        name=ck.name,
        plugin=ck.meta.get("plugin", ""),
        plugin_version=ck.meta.get("plugin_version", ""),
        config=ck.config,
        step=ck.step,
        epoch=int(ck.meta.get("epoch", 0)),
        data=ck.meta.get("data", ""),
        data_info=ck.meta.get("data_info", {}),
        nets=weights,
        notes={**ck.meta.get("notes", {}), "exported_from": str(path),
               "weights": "ema" if any(n in ck.ema for n in names) else "raw"},
    )
