"""Estimate a model's parameter memory before building it, and refuse what the machine cannot hold.

The plugin's factory is called once on PyTorch's `meta` device, where tensors have shapes and types
but no storage, so any family's networks are measured without allocating them (a few milliseconds
for the first-party models). Before any data is read, one training batch of images at the side the
config asks for (`image_size`, `load_size`) is measured the same way (`check_batch_memory`). Training needs about four times the parameters' bytes: the weights,
their gradients and two optimizer moments (Adam). When that is more than the memory available (the
smaller of the system's available memory and a cgroup limit), the build is refused in one line that
names the option responsible (found by measuring again with each changed option at its default).

`GANZOO_MAX_MEMORY` (bytes, or with a unit: `64G`, `500M`) replaces the measured limit, to lift
it on a machine with swap or to lower it; `0` turns the check off.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from ganzoo.errors import ConfigError, GanzooError

#: Bytes needed to train, per byte of parameters: weights, gradients, two optimizer moments.
TRAINING_FACTOR = 4
ENV = "GANZOO_MAX_MEMORY"
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parameter_bytes(factory: Callable[..., Any], config: Any, *, training: bool) -> int:
    """Bytes of every parameter and buffer of the networks `factory(config)` builds (measured on `meta`)."""
    with _random_state_kept(), torch.device("meta"):
        model = factory(config, training=training)
    seen: set[int] = set()
    total = 0
    for net in getattr(model, "nets", {}).values():
        for tensor in [*net.parameters(), *net.buffers()]:
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()
    return total


def memory_limit() -> int | None:
    """Bytes a model may use: `GANZOO_MAX_MEMORY`, else the memory available now; None: unknown."""
    raw = os.environ.get(ENV, "").strip()
    if raw:
        match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgt]?)i?b?", raw.lower())
        if not match:
            raise ConfigError(f"{ENV}={raw!r} is not a size (e.g. 64G, 500M or a number of bytes; 0 turns the check off)")
        return int(float(match.group(1)) * _UNITS[match.group(2)])
    return available_memory()


def available_memory() -> int | None:
    """Memory available to this process now, in bytes (system and cgroup), or None where unknown."""
    candidates = []
    meminfo = _read("/proc/meminfo")
    if meminfo:
        match = re.search(r"^MemAvailable:\s+([0-9]+) kB", meminfo, re.MULTILINE)
        if match:
            candidates.append(int(match.group(1)) * 1024)
    limit, used = _read("/sys/fs/cgroup/memory.max"), _read("/sys/fs/cgroup/memory.current")
    if limit and limit.strip().isdigit() and used and used.strip().isdigit():
        candidates.append(max(0, int(limit) - int(used)))
    if not candidates:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    return min(candidates) if candidates else None


def check_model_memory(spec: Any, config: Any, factory: Callable[..., Any], *, training: bool) -> None:
    """Refuse, in one line, a model whose parameters (x4 to train) exceed the memory limit."""
    limit = memory_limit()
    if not limit:
        return
    factor = TRAINING_FACTOR if training else 1
    try:
        need = parameter_bytes(factory, config, training=training) * factor
    except GanzooError:
        raise
    except Exception as exc:  # cannot be measured on `meta`: find the option that breaks it, if any
        culprit = _culprit(spec, config, lambda c: _measure(factory, c, training) is not None)
        if culprit is None:
            return
        name, value, default = culprit
        raise ConfigError(
            f"model {spec.name} cannot be built with {name}={_show(value)} ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:120]}); use a smaller {name} (default {_show(default)})"
        ) from None
    if need <= limit:
        return
    what = "to train (weights, gradients and optimizer moments)" if training else "for its parameters"
    culprit = _culprit(spec, config, lambda c: (_measure(factory, c, training) or math.inf) * factor <= limit)
    if culprit is None:
        culprit = _largest_change(spec, config, factory, training)
    hint = f"; set {ENV} to lift the limit"
    if culprit is not None:
        name, value, default = culprit
        detail = f" with {name}={_show(value)}"
        hint = f"; use a smaller {name} (default {_show(default)}), or set {ENV} to lift the limit"
    else:
        detail = ""
    raise ConfigError(
        f"model {spec.name}{detail} needs about {_size(need)} {what}, more than the {_size(limit)} of memory "
        f"{_limit_source()}{hint}"
    )


def check_batch_memory(config: Any, batch_size: int) -> None:
    """Refuse, in one line, image sizes or a batch size whose one batch of float32 images exceeds the limit."""
    limit = memory_limit()
    if not limit:
        return
    sides = {name: getattr(config, name, None) for name in ("image_size", "load_size")}
    sides = {name: side for name, side in sides.items() if isinstance(side, int) and side > 0}
    if not sides:
        return
    field, side = max(sides.items(), key=lambda item: item[1])
    channels = getattr(config, "channels", None) or 3
    image = channels * side * side * 4
    if image * batch_size <= limit:
        return
    if image > limit:
        raise ConfigError(
            f"{field}={side}: one {side}x{side} image needs about {_size(image)}, more than the {_size(limit)} of "
            f"memory {_limit_source()}; use a smaller {field}, or set {ENV} to lift the limit"
        )
    raise ConfigError(
        f"batch_size={batch_size}: a batch of {side}x{side} images needs about {_size(image * batch_size)}, more "
        f"than the {_size(limit)} of memory {_limit_source()}; use a smaller batch size, or set {ENV} to lift the limit"
    )


def _limit_source() -> str:
    return f"{ENV} allows" if os.environ.get(ENV, "").strip() else "available"


def _measure(factory: Callable[..., Any], config: Any, training: bool) -> int | None:
    try:
        return parameter_bytes(factory, config, training=training)
    except Exception:
        return None


def _changed_fields(spec: Any, config: Any) -> list[tuple[str, Any, Any]]:
    """(name, value, default) of the numeric options that differ from their defaults."""
    from ganzoo import configs

    out = []
    for info in configs.describe(type(config)):
        value = getattr(config, info.name)
        numeric = info.base in (int, float) or (info.base is tuple and info.item in (int, float))
        if numeric and info.default is not dataclasses.MISSING and value != info.default and value is not None:
            out.append((info.name, value, info.default))
    return out


def _culprit(spec: Any, config: Any, fits: Callable[[Any], bool]) -> tuple[str, Any, Any] | None:
    """The first changed option whose default makes `fits(config)` true."""
    for name, value, default in _changed_fields(spec, config):
        with contextlib.suppress(Exception):
            if fits(dataclasses.replace(config, **{name: default})):
                return name, value, default
    return None


def _largest_change(spec: Any, config: Any, factory: Callable[..., Any], training: bool) -> tuple[str, Any, Any] | None:
    """The changed option whose default shrinks the model most (when no single one makes it fit)."""
    base = _measure(factory, config, training)
    best, best_drop = None, 0
    for name, value, default in _changed_fields(spec, config):
        with contextlib.suppress(Exception):
            smaller = _measure(factory, dataclasses.replace(config, **{name: default}), training)
            if base is not None and smaller is not None and base - smaller > best_drop:
                best, best_drop = (name, value, default), base - smaller
    return best


@contextlib.contextmanager
def _random_state_kept() -> Iterator[None]:
    """Building on `meta` must not move any random stream the real build then draws from."""
    py, npy = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return None
