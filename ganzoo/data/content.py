"""The sha256 of every file of a folder, remembered so that an unchanged folder is re-checked cheaply.

Folder fingerprints hash file contents, not modification times, so a copy of the same images (`cp -r`,
rsync, another machine) has the same fingerprint. Reading every byte once is the price; the digests are
kept in `GANZOO_HOME/cache/file-hashes/`, one JSON file per folder, each keyed by the file's relative
name and checked against its size, modification and change times, inode and device, so a second look
at an unchanged folder only stats its files. Any change to a file (even one that restores its
modification time) changes its change time, and the file is hashed again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ganzoo.paths import ganzoo_home

CACHE_FORMAT = 1
_BLOCK = 1 << 20
_BAR_BYTES = 256 << 20
"""Hashing more than this shows a progress bar (on a terminal)."""


def hash_cache_dir() -> Path:
    """`GANZOO_HOME/cache/file-hashes`: remembered file digests, one JSON file per folder."""
    return ganzoo_home() / "cache" / "file-hashes"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def relative_name(folder: Path, path: Path) -> str:
    """`path` relative to `folder` in POSIX form (as walked, links not resolved)."""
    try:
        return path.relative_to(folder).as_posix()
    except ValueError:
        return os.path.relpath(os.path.realpath(path), os.path.realpath(folder)).replace(os.sep, "/")


def _read_cache(path: Path, folder: str) -> dict[str, list]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or data.get("folder") != folder:
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def file_digests(folder: Path, files: Sequence[Path], *, progress: bool = True) -> list[tuple[str, int, str]]:
    """(relative name, size, sha256) of each of `files` (below `folder`), hashing only what changed.

    Files that cannot be read get the digest "" (their absence of content is part of the answer).
    """
    from ganzoo.atomic import atomic_open
    from ganzoo.data.images import _bar

    real = os.path.realpath(folder)
    cache_file = hash_cache_dir() / f"{hashlib.sha256(real.encode()).hexdigest()[:24]}.json"
    cached = _read_cache(cache_file, real)
    names: list[str] = []
    sizes: list[int] = []
    digests: list[str] = []
    signatures: list[list[int] | None] = []
    todo: list[int] = []
    for index, path in enumerate(files):
        name = relative_name(folder, path)
        try:
            st = os.stat(path)
        except OSError:
            names.append(name)
            sizes.append(-1)
            digests.append("")
            signatures.append(None)
            continue
        signature = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]
        entry = cached.get(name)
        names.append(name)
        sizes.append(st.st_size)
        signatures.append(signature)
        if isinstance(entry, list) and entry[:5] == signature and isinstance(entry[5], str):
            digests.append(entry[5])
        else:
            digests.append("")
            todo.append(index)

    def work(index: int) -> tuple[int, str]:
        try:
            return index, _sha256(Path(files[index]))
        except OSError:
            return index, ""

    if todo:
        total = sum(sizes[i] for i in todo)
        workers = max(1, min(4, os.cpu_count() or 1))  # hashlib releases the GIL on large blocks
        with ThreadPoolExecutor(max_workers=workers) as pool, \
                _bar(f"hashing {Path(folder).name}", len(todo), progress and total >= _BAR_BYTES) as advance:
            for index, digest in pool.map(work, todo):
                digests[index] = digest
                advance(1)
    fresh = {name: [*sig, digest] for name, sig, digest in zip(names, signatures, digests)
             if sig is not None and digest}
    if fresh != cached:
        # A read-only cache only costs the hashing next time.
        with contextlib.suppress(OSError), atomic_open(cache_file, "w") as fh:
            json.dump({"format": CACHE_FORMAT, "folder": real, "files": fresh}, fh, separators=(",", ":"))
    return list(zip(names, sizes, digests))
