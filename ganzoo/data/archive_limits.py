"""How much an archive may expand to when it is extracted (torch-free).

Four caps, each overridable by an environment variable (or by passing `ArchiveLimits` to
`extract_archive`) for users who legitimately need more:

- total uncompressed bytes: at most `max_ratio` times the archive's size on disk, and never more than
  `max_bytes` (`GANZOO_ARCHIVE_MAX_RATIO`, default 100; `GANZOO_ARCHIVE_MAX_BYTES`, default 16 GiB,
  suffixes K, M, G, T allowed);
- members (files, folders and links): `GANZOO_ARCHIVE_MAX_MEMBERS`, default 50,000;
- folder levels of a member's path: `GANZOO_ARCHIVE_MAX_DEPTH`, default 32.

Images barely compress, so a real data set expands by a few percent (horse2zebra: 1.02 times); a
compression bomb expands by up to a thousand times per deflate pass.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

from ganzoo.errors import ConfigError

RATIO_ENV = "GANZOO_ARCHIVE_MAX_RATIO"
BYTES_ENV = "GANZOO_ARCHIVE_MAX_BYTES"
MEMBERS_ENV = "GANZOO_ARCHIVE_MAX_MEMBERS"
DEPTH_ENV = "GANZOO_ARCHIVE_MAX_DEPTH"

_SUFFIXES = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text: str, *, name: str = BYTES_ENV) -> int:
    """'16G', '500M', '12345' -> bytes (binary multiples; a trailing 'iB' or 'B' is allowed)."""
    raw = text.strip().upper().removesuffix("IB").removesuffix("B")
    number, suffix = (raw[:-1], raw[-1]) if raw and raw[-1] in _SUFFIXES else (raw, "")
    try:
        value = float(number) * _SUFFIXES[suffix]
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={text!r} is not a size; write bytes or a number with K, M, G or T, e.g. 40G")
    return int(value)


def _positive(name: str, text: str, kind: type) -> int | float:
    try:
        value = kind(text.strip())
    except ValueError:
        value = math.nan
    if not (isinstance(value, int) or math.isfinite(value)) or value <= 0:
        raise ConfigError(f"{name}={text!r} must be a positive {'whole ' if kind is int else ''}number")
    return value


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on one extraction; see the module docstring for what each one means."""

    max_ratio: float = 100.0
    max_bytes: int = 16 << 30
    max_members: int = 50_000
    max_depth: int = 32

    @classmethod
    def from_env(cls) -> ArchiveLimits:
        """The defaults, with every cap that an environment variable sets replaced by its value."""
        limits = cls()
        env = os.environ
        if env.get(RATIO_ENV, "").strip():
            limits = replace(limits, max_ratio=float(_positive(RATIO_ENV, env[RATIO_ENV], float)))
        if env.get(BYTES_ENV, "").strip():
            limits = replace(limits, max_bytes=parse_bytes(env[BYTES_ENV]))
        if env.get(MEMBERS_ENV, "").strip():
            limits = replace(limits, max_members=int(_positive(MEMBERS_ENV, env[MEMBERS_ENV], int)))
        if env.get(DEPTH_ENV, "").strip():
            limits = replace(limits, max_depth=int(_positive(DEPTH_ENV, env[DEPTH_ENV], int)))
        return limits

    def byte_budget(self, archive_size: int) -> tuple[int, str]:
        """The most bytes an archive of `archive_size` bytes may expand to, and the variable that lifts it."""
        relative = int(self.max_ratio * max(archive_size, 1))
        if relative < self.max_bytes:
            return relative, RATIO_ENV
        return self.max_bytes, BYTES_ENV
