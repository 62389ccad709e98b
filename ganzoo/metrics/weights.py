"""Where extractor weights come from: an explicit file, the caches, or the one download function."""

from __future__ import annotations

import os
from pathlib import Path

from ganzoo.download import file_sha256
from ganzoo.errors import DownloadError, GanzooError
from ganzoo.metrics.catalog import INCEPTION_WEIGHTS_FILE

INCEPTION_TAG = "inception-fid"
"""The entry of registry.yaml's `weights:` section that lists the FID Inception file."""

def torch_hub_checkpoints() -> Path:
    """`$TORCH_HOME/hub/checkpoints` (TORCH_HOME defaults to `$XDG_CACHE_HOME/torch` or ~/.cache/torch)."""
    home = os.environ.get("TORCH_HOME")
    if not home:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        home = os.path.join(cache, "torch")
    return Path(home) / "hub" / "checkpoints"


def inception_entry():
    """The catalogue record (url, sha256, size) of the FID Inception weights."""
    from ganzoo import catalogue

    entry = catalogue.load().auxiliary.get(INCEPTION_TAG)
    if entry is None:
        raise GanzooError(f"registry.yaml lists no weights {INCEPTION_TAG!r}; reinstall ganzoo-core")
    return entry


def inception_cache_path() -> Path:
    """Where the download function keeps the FID Inception weights."""
    from ganzoo.paths import weights_dir

    return Path(weights_dir()) / INCEPTION_WEIGHTS_FILE


def _where_to_put(entry, why: str) -> str:
    return (
        f"inception-fid needs its weights {INCEPTION_WEIGHTS_FILE}, {why}: download {entry.url} and put it at "
        f"{inception_cache_path()} (or {torch_hub_checkpoints() / INCEPTION_WEIGHTS_FILE}), or pass --weights PATH"
    )


def _check_known(path: Path, entry) -> Path:
    if entry.sha256 and file_sha256(path) != entry.sha256:
        raise GanzooError(
            f"{path} is not the FID Inception file (sha256 {file_sha256(path)[:12]}..., expected "
            f"{entry.sha256[:12]}...); delete it, or pass it explicitly with --weights to use it anyway"
        )
    return path


def locate_inception_weights(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The FID Inception weights file: `explicit`, ganzoo's cache, TORCH_HOME's cache, or a download.

    Never substitutes another network: without the file (offline), raises one line saying where to put it.
    """
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise GanzooError(f"--weights {explicit}: no such file")
        return path
    entry = inception_entry()
    for candidate in (inception_cache_path(), torch_hub_checkpoints() / INCEPTION_WEIGHTS_FILE):
        if candidate.is_file():
            return _check_known(candidate, entry)
    from ganzoo.paths import offline

    if offline():
        raise GanzooError(_where_to_put(entry, "which is not cached and GANZOO_OFFLINE=1 forbids downloading it"))
    from ganzoo.download import download

    dest = inception_cache_path()
    try:
        got = download(list(entry.urls), dest, sha256=entry.sha256, size=entry.size)
    except DownloadError as exc:
        reason = exc.message.split(": fetch ")[0]
        raise GanzooError(_where_to_put(entry, f"which is not cached and the download failed ({reason})")) from None
    return Path(got) if got else dest
