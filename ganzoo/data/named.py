"""Named data sets that are downloaded once: fetch, verify, extract safely, check the layout and counts.

A record (`DatasetSpec`) with `urls`, `sha256`, `size_bytes` and `counts` and the loader
`ganzoo.data.named:load` is all it takes; the CycleGAN sets (kind "unpaired": trainA/trainB/testA/testB)
and the pix2pix sets (kind "paired": train/ [val/ test/] of side-by-side AB images) are such records,
and a plugin can add more. Files land in `data_dir()/NAME/`: the archive (`NAME.zip`, `NAME.tar.gz`)
while it is downloaded and checked (put it there by hand when offline), then the extracted images
below `files/`, and a marker file recording what was verified. The archive is deleted once its images
are extracted and counted.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from ganzoo.data.archive import extract_archive
from ganzoo.data.archive_limits import MEMBERS_ENV, ArchiveLimits
from ganzoo.data.catalog import ARCHIVE_MEMBERS, COMPLETE_MARKER, named_dir
from ganzoo.data.folder import UNPAIRED_DIRS, load_unpaired_folder, scan_images
from ganzoo.data.images import warn
from ganzoo.data.paired import HELD_OUT_NAMES, load_paired_folder
from ganzoo.data.source import DataOptions, DataRef, DataSource
from ganzoo.download import download, sha256_file
from ganzoo.errors import DataError
from ganzoo.specs import DatasetSpec

EXTRACTED = "files"
LAYOUTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "unpaired": (("trainA", "trainB"), UNPAIRED_DIRS),
    "paired": (("train",), ("train", *HELD_OUT_NAMES)),
}
"""Kind -> (folders that must hold images, folders whose images are counted)."""


def archive_path(spec: DatasetSpec) -> Path:
    """Where the archive of a named set is downloaded (and where to place it by hand)."""
    name = Path(urlparse(spec.urls[0]).path).name if spec.urls else ""
    return named_dir(spec.name) / (name or f"{spec.name}.zip")


def _layout(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if kind not in LAYOUTS:
        raise DataError(f"named data sets are unpaired or paired, not {kind!r}")
    return LAYOUTS[kind]


def layout_root(folder: Path, kind: str = "unpaired") -> Path | None:
    """The folder holding the layout (trainA/trainB, or train/): `folder` itself or its single sub-folder that does."""
    required = _layout(kind)[0]

    def has_layout(path: Path) -> bool:
        return any((path / name).is_dir() for name in required)

    if has_layout(folder):
        return folder
    candidates = [d for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".") and has_layout(d)]
    return candidates[0] if len(candidates) == 1 else None


def count_images(root: Path, kind: str = "unpaired") -> dict[str, int]:
    """Images in each layout folder that exists (trainA, trainB, testA, testB; or train, test, val)."""
    return {name: len(scan_images(root / name)[0]) for name in _layout(kind)[1] if (root / name).is_dir()}


def _check_extracted(spec: DatasetSpec, tmp: Path, trust: bool) -> None:
    required = _layout(spec.kind)[0]
    root = layout_root(tmp, spec.kind)
    if root is None:
        what = "a folder with trainA and trainB" if spec.kind == "unpaired" else "a folder with train/"
        raise DataError(f"the {spec.name} archive does not have the {spec.kind} layout ({what}); nothing was kept")
    counts = count_images(root, spec.kind)
    missing = [d for d in required if not counts.get(d)]
    if missing:
        raise DataError(f"the {spec.name} archive has no images in {', '.join(missing)}; nothing was kept")
    wrong = [f"{d} has {counts.get(d, 0)} images, expected {n}" for d, n in spec.counts.items()
             if counts.get(d, 0) != n]
    if wrong:
        message = f"the extracted {spec.name} does not match its published counts: {'; '.join(wrong)}"
        if not trust:
            raise DataError(message + "; nothing was kept")
        warn(f"{message} (kept because of --trust-hash-mismatch)")


def archive_limits(spec: DatasetSpec) -> ArchiveLimits:
    """The extraction caps for a named set: the defaults (or the environment's), with the member cap raised
    to what the set is known to hold (`ARCHIVE_MEMBERS`) unless GANZOO_ARCHIVE_MAX_MEMBERS is set."""
    limits = ArchiveLimits.from_env()
    known = ARCHIVE_MEMBERS.get(spec.name, 0)
    if known > limits.max_members and not os.environ.get(MEMBERS_ENV, "").strip():
        limits = replace(limits, max_members=known)
    return limits


def read_marker(spec: DatasetSpec) -> dict | None:
    """What was verified when the set was installed, or None when it is not (completely) installed."""
    folder = named_dir(spec.name)
    try:
        marker = json.loads((folder / COMPLETE_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict):
        return None
    root = folder / EXTRACTED / marker.get("root", "")
    if not (root / _layout(spec.kind)[0][0]).is_dir():
        return None
    if spec.sha256 and marker.get("sha256") != spec.sha256 and not marker.get("trusted"):
        return None  # a different (older/newer) archive than the record describes
    return marker


@contextlib.contextmanager
def _lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` (POSIX), so parallel processes do not download twice."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure(spec: DatasetSpec, *, urls: Sequence[str] | None = None, trust_hash_mismatch: bool = False,
           progress: bool = True) -> Path:
    """Install a named set if needed (download, verify, extract, count) and return the folder of its layout.

    `urls` replaces the record's mirrors (e.g. `ganzoo data download NAME --url URL`); the published
    size and sha256 are still enforced unless `trust_hash_mismatch`.
    """
    folder = named_dir(spec.name)
    marker = read_marker(spec)
    if marker is not None:
        return folder / EXTRACTED / marker["root"]
    sources = list(urls or spec.urls)
    if not sources:
        raise DataError(f"data set {spec.name!r} has no download URL")
    with _lock(folder):
        marker = read_marker(spec)
        if marker is not None:
            return folder / EXTRACTED / marker["root"]
        archive = archive_path(spec)
        download(sources, archive, sha256=spec.sha256, size=spec.size_bytes, progress=progress,
                 trust_hash_mismatch=trust_hash_mismatch, description=f"{spec.name} ({archive.name})")
        digest = sha256_file(archive)
        target = extract_archive(archive, folder / EXTRACTED,
                                 check=lambda tmp: _check_extracted(spec, tmp, trust_hash_mismatch),
                                 limits=archive_limits(spec))
        root = layout_root(target, spec.kind)
        assert root is not None
        marker = {
            "name": spec.name, "archive": archive.name, "sha256": digest, "size": archive.stat().st_size,
            "trusted": bool(spec.sha256 and digest != spec.sha256), "root": os.path.relpath(root, target),
            "counts": count_images(root, spec.kind), "urls": sources,
        }
        tmp = folder / f".{COMPLETE_MARKER}.tmp"
        tmp.write_text(json.dumps(marker, indent=1), encoding="utf-8")
        os.replace(tmp, folder / COMPLETE_MARKER)
        archive.unlink()
        return root


def lookup(name: str) -> DatasetSpec:
    from ganzoo.registry import get_registry

    return get_registry().dataset(name)


def load(ref: DataRef, options: DataOptions) -> DataSource:
    """Loader of every named (downloaded) set: install on first use, then read it as a folder of its kind."""
    spec = lookup(ref.name)
    root = ensure(spec)
    marker = read_marker(spec) or {}
    counts = marker.get("counts", {})
    text = ", ".join(f"{k} {v}" for k, v in counts.items())
    reader = load_paired_folder if spec.kind == "paired" else load_unpaired_folder
    return reader(ref.text, root, options, content=str(marker.get("sha256", "")),
                  description=f"{spec.name}: {spec.summary} ({text})")
