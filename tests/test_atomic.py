"""ganzoo.atomic: a file is replaced only by a complete one, and nothing is left behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ganzoo.atomic import atomic_open, atomic_path, write_bytes_atomic, write_text_atomic


def test_writes_and_replaces_keeping_permissions(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "result.txt"
    write_text_atomic(target, "first ü\n")
    assert target.read_text(encoding="utf-8") == "first ü\n"
    assert target.stat().st_mode & 0o777 == 0o644
    os.chmod(target, 0o600)
    write_bytes_atomic(target, b"second")
    assert target.read_bytes() == b"second" and target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.txt"]


def test_an_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "grid.png"
    target.write_bytes(b"the user's file")
    with pytest.raises(KeyboardInterrupt), atomic_open(target, "wb") as fh:
        fh.write(b"half a")
        raise KeyboardInterrupt
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"written by a library, then it failed")
        raise RuntimeError("encoder failed")
    assert target.read_bytes() == b"the user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_only_whole_file_modes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole files"), atomic_open(tmp_path / "x", "a"):
        pass
