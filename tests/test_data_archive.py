"""Safe extraction: good archives extract atomically; unsafe members refuse the whole archive."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile

import pytest

from ganzoo.data.archive import extract_archive
from ganzoo.errors import DataError


def _zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path, build):
    with tarfile.open(path, "w:gz") as tf:
        build(tf)
    return path


def _add_file(tf, name: str, data: bytes):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tf.addfile(info, io.BytesIO(data))


def _add_link(tf, name: str, target: str, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tf.addfile(info)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_zip_extracts_into_place(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"set/trainA/1.txt": b"one", "set/trainB/2.txt": b"two"})
    out = extract_archive(archive, tmp_path / "out")
    assert (out / "set" / "trainA" / "1.txt").read_bytes() == b"one"
    assert (out / "set" / "trainB" / "2.txt").read_bytes() == b"two"
    assert _leftovers(tmp_path) == ["a.zip", "out"]


def test_tar_with_inner_links_extracts(tmp_path):
    def build(tf):
        _add_file(tf, "d/file.txt", b"data")
        _add_link(tf, "d/sym.txt", "file.txt")
        _add_link(tf, "d/hard.txt", "d/file.txt", tarfile.LNKTYPE)

    out = extract_archive(_tar(tmp_path / "a.tar.gz", build), tmp_path / "out")
    assert (out / "d" / "sym.txt").read_bytes() == b"data" and (out / "d" / "sym.txt").is_symlink()
    assert (out / "d" / "hard.txt").read_bytes() == b"data"


@pytest.mark.parametrize("name", ["../evil.txt", "ok/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt"])
def test_zip_member_escaping_is_refused(tmp_path, name):
    archive = _zip(tmp_path / "a.zip", {"fine.txt": b"x", name: b"evil"})
    with pytest.raises(DataError) as info:
        extract_archive(archive, tmp_path / "out")
    assert "nothing was extracted" in str(info.value) and "\n" not in str(info.value)
    assert _leftovers(tmp_path) == ["a.zip"]
    assert not (tmp_path.parent / "evil.txt").exists()


def test_tar_dotdot_member_is_refused(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", lambda tf: (_add_file(tf, "ok.txt", b"1"), _add_file(tf, "../evil", b"2")))
    with pytest.raises(DataError, match=r"'\.\.'"):
        extract_archive(archive, tmp_path / "out")
    assert _leftovers(tmp_path) == ["a.tar.gz"]


@pytest.mark.parametrize("target", ["../../outside", "/etc/passwd", "a/../../../x"])
def test_tar_symlink_escaping_is_refused(tmp_path, target):
    archive = _tar(tmp_path / "a.tar.gz", lambda tf: _add_link(tf, "d/link", target))
    with pytest.raises(DataError, match="link pointing outside"):
        extract_archive(archive, tmp_path / "out")
    assert _leftovers(tmp_path) == ["a.tar.gz"]


def test_tar_link_chain_escaping_is_refused(tmp_path):
    # d/up -> .. is inside on paper; d/up/up2 -> .. then points two levels up through the first link.
    def build(tf):
        _add_link(tf, "d/up", "..")
        _add_link(tf, "d/up/up2", "..")

    with pytest.raises(DataError):
        extract_archive(_tar(tmp_path / "a.tar.gz", build), tmp_path / "out")
    assert _leftovers(tmp_path) == ["a.tar.gz"]


def test_writing_through_a_link_is_refused(tmp_path):
    (tmp_path / "victim").mkdir()

    def build(tf):
        _add_link(tf, "d", ".")
        _add_file(tf, "d/x.txt", b"through the link")

    with pytest.raises(DataError, match="through a link"):
        extract_archive(_tar(tmp_path / "a.tar.gz", build), tmp_path / "out")


def test_tar_hardlink_escaping_is_refused(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", lambda tf: _add_link(tf, "h", "../../etc/passwd", tarfile.LNKTYPE))
    with pytest.raises(DataError, match="outside"):
        extract_archive(archive, tmp_path / "out")


def test_tar_device_file_is_refused(tmp_path):
    def build(tf):
        info = tarfile.TarInfo("dev/null")
        info.type = tarfile.CHRTYPE
        info.devmajor, info.devminor = 1, 3
        tf.addfile(info)

    with pytest.raises(DataError, match="device file"):
        extract_archive(_tar(tmp_path / "a.tar.gz", build), tmp_path / "out")


def test_zip_symlink_escaping_is_refused(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "../../outside")
    with pytest.raises(DataError, match="link pointing outside"):
        extract_archive(archive, tmp_path / "out")


def test_damaged_archive_is_one_line_and_leaves_nothing(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"big.txt": os.urandom(4096)})
    raw = bytearray(archive.read_bytes())
    raw[60:80] = b"\0" * 20  # corrupt the compressed member data
    archive.write_bytes(bytes(raw))
    with pytest.raises(DataError) as info:
        extract_archive(archive, tmp_path / "out")
    assert "damaged" in str(info.value)
    assert _leftovers(tmp_path) == ["a.zip"]


def test_not_an_archive(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"hello")
    with pytest.raises(DataError, match="neither a zip nor a tar"):
        extract_archive(tmp_path / "x.zip", tmp_path / "out")


def test_check_callback_can_reject_before_anything_is_in_place(tmp_path):
    archive = _zip(tmp_path / "a.zip", {"x.txt": b"1"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("previous")

    def check(root):
        assert (root / "x.txt").is_file()
        raise DataError("layout is wrong")

    with pytest.raises(DataError, match="layout is wrong"):
        extract_archive(archive, tmp_path / "out", check=check)
    assert _leftovers(tmp_path / "out") == ["old.txt"]  # the previous content is untouched
    assert _leftovers(tmp_path) == ["a.zip", "out"]
    extract_archive(archive, tmp_path / "out")  # and a successful extraction replaces it
    assert _leftovers(tmp_path / "out") == ["x.txt"]
