"""Capture and restore every random number generator a run uses (python, numpy, torch, cuda)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from ganzoo.seeding import derive_seed


def seed_everything(seed: int, rank: int = 0) -> None:
    """Seed python, numpy and torch (all devices) for process `rank` of a run seeded with `seed`."""
    s = derive_seed(seed, rank) if rank else seed
    random.seed(s)
    np.random.seed(s % (2**32))
    torch.manual_seed(s)


def capture() -> dict[str, Any]:
    """The state of every generator, as tensors and JSON-able values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": _python_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore(state: dict[str, Any]) -> None:
    """Restore what `capture` returned."""
    py = state["python"]
    random.setstate((int(py["version"]), tuple(int(x) for x in py["internal"]), py["gauss"]))
    npst = state["numpy"]
    keys = npst["keys"].numpy().astype(np.uint32)
    np.random.set_state((npst["kind"], keys, int(npst["pos"]), int(npst["has_gauss"]), float(npst["cached_gaussian"])))
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        cuda_states = list(state["cuda"])
        if len(cuda_states) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all([s.to(torch.uint8) for s in cuda_states])


def _python_state() -> dict[str, Any]:
    version, internal, gauss = random.getstate()
    return {"version": version, "internal": list(internal), "gauss": gauss}
