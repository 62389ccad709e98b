"""Where ganzoo keeps downloaded data and weights (torch-free).

Everything lives under `ganzoo_home()`: the `GANZOO_HOME` environment variable when set, else the
platform's cache folder + `ganzoo` (`$XDG_CACHE_HOME` or `~/.cache` on Linux, `~/Library/Caches` on
macOS, `%LOCALAPPDATA%` on Windows). `GANZOO_OFFLINE=1` forbids every network access.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def _platform_cache_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return Path(xdg).expanduser() if xdg else Path.home() / ".cache"


def ganzoo_home() -> Path:
    """The root of ganzoo's cache: `$GANZOO_HOME`, else `<platform cache dir>/ganzoo`."""
    env = os.environ.get("GANZOO_HOME", "").strip()
    if env:
        return Path(env).expanduser()
    return _platform_cache_dir() / "ganzoo"


def data_dir() -> Path:
    """Downloaded and extracted data sets: `ganzoo_home()/data`."""
    return ganzoo_home() / "data"


def weights_dir() -> Path:
    """Downloaded pretrained weights: `ganzoo_home()/weights`."""
    return ganzoo_home() / "weights"


def offline() -> bool:
    """True when `GANZOO_OFFLINE` is set to 1/true/yes/on: nothing may be fetched over the network."""
    return os.environ.get("GANZOO_OFFLINE", "").strip().lower() in _TRUE
