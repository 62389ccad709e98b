"""Content fingerprints of data sets: short hashes that change whenever the examples would change."""

from __future__ import annotations

import hashlib
import json
from typing import Any

FINGERPRINT_CHARS = 16


def fingerprint(*parts: Any) -> str:
    """A 16-hex-digit hash of JSON-able parts, bytes, and numpy arrays / tensors (by their bytes)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(b"\x1f")
        if isinstance(part, (bytes, bytearray, memoryview)):
            digest.update(bytes(part))
            continue
        array = _as_numpy(part)
        if array is not None:
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
            continue
        digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:FINGERPRINT_CHARS]


def _as_numpy(value: Any):
    module = type(value).__module__
    if module.startswith("numpy"):
        import numpy as np

        return np.ascontiguousarray(value)
    if module.startswith("torch"):
        return value.detach().cpu().contiguous().numpy()
    return None
