"""Walking a folder tree that may contain symbolic links, visiting each real folder once (torch-free).

Links to folders are followed (people link their data in), but a folder reached a second time, by a
link loop such as `a -> .` or by two links to one place, is skipped: the walk always ends and counts
every file of every real folder once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

FolderId = tuple[int, int]


def folder_id(path: str | os.PathLike[str]) -> FolderId | None:
    """(device, inode) of the folder `path` leads to (following links), or None if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def walk_files(folder: str | os.PathLike[str], *, seen: set[FolderId] | None = None) -> Iterator[Path]:
    """Every file below `folder` whose name does not start with a dot, depth first in sorted name order.

    Hidden folders are skipped; unreadable folders are skipped silently. `seen` holds the folders
    already visited (shared between walks so that none of them visits a folder twice); `folder`
    itself is added to it, and nothing is yielded when it was already there.
    """
    seen = set() if seen is None else seen
    root = folder_id(folder)
    if root is None or root in seen:
        return
    seen.add(root)
    pending = [Path(folder)]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if not is_dir:
                yield Path(entry.path)
                continue
            ident = folder_id(entry.path)
            if ident is not None and ident not in seen:
                seen.add(ident)
                subfolders.append(Path(entry.path))
        pending.extend(reversed(subfolders))  # the first in name order is walked first
