"""Safe extraction: good archives extract atomically; unsafe members refuse the whole archive."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile

import pytest

from ganzoo.data.archive import extract_archive
from ganzoo.data.archive_limits import ArchiveLimits
from ganzoo.errors import ConfigError, DataError


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


# -- caps: size, members, depth ------------------------------------------------------------------
def _refusal(tmp_path, archive, **kwargs) -> str:
    """Extract `archive`, expecting a one-line refusal that leaves nothing beside the archive."""
    with pytest.raises(DataError) as info:
        extract_archive(archive, tmp_path / "out", **kwargs)
    message = str(info.value)
    assert "\n" not in message and "nothing was extracted" in message
    assert _leftovers(tmp_path) == [archive.name]  # no partial target, no temporary folder
    return message


def test_zip_bomb_is_refused_by_default(tmp_path):
    # 50 MiB of zeros deflate to about 50 KB: a ratio of 1000, like a 2 MB zip expanding to 2 GiB.
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(50 << 20))
    message = _refusal(tmp_path, archive)
    assert "expands to more than" in message and "GANZOO_ARCHIVE_MAX_RATIO" in message


def test_tar_bomb_is_refused_while_streaming(tmp_path):
    # Members are only known as the compressed stream is read: twenty 5 MiB members, each small enough
    # on its own, add up past 100 times the archive's size.
    def build(tf):
        for i in range(20):
            _add_file(tf, f"z/{i}.bin", bytes(5 << 20))

    archive = _tar(tmp_path / "bomb.tar.gz", build)
    message = _refusal(tmp_path, archive)
    assert "expands to more than" in message


def test_size_caps_are_lifted_or_lowered_by_the_environment(tmp_path, monkeypatch):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(20 << 20))
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_RATIO", "5000")
    out = extract_archive(archive, tmp_path / "out")
    assert (out / "zeros.bin").stat().st_size == 20 << 20
    shutil.rmtree(out)
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_BYTES", "10M")  # the absolute cap still applies
    message = _refusal(tmp_path, archive)
    assert "10.0 MiB" in message and "GANZOO_ARCHIVE_MAX_BYTES" in message
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_BYTES", "lots")
    with pytest.raises(ConfigError, match="GANZOO_ARCHIVE_MAX_BYTES='lots' is not a size"):
        extract_archive(archive, tmp_path / "out")


def test_lying_zip_sizes_are_not_trusted(tmp_path):
    # The central directory and local header claim 1 KiB; the deflated stream holds 50 MiB.
    archive = tmp_path / "liar.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(50 << 20))
    raw = bytearray(archive.read_bytes())
    true_size = (50 << 20).to_bytes(4, "little")
    for offset in [i for i in range(len(raw) - 3) if raw[i:i + 4] == true_size]:
        raw[offset:offset + 4] = (1024).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    assert zipfile.ZipFile(archive).infolist()[0].file_size == 1024
    with pytest.raises(DataError, match="damaged"):  # at most the declared bytes are read; their CRC fails
        extract_archive(archive, tmp_path / "out")
    assert _leftovers(tmp_path) == ["liar.zip"]


def test_explicit_limits_cap_the_bytes_actually_written(tmp_path):
    archive = _zip(tmp_path / "a.zip", {f"{i}.bin": os.urandom(1000) for i in range(10)})
    extract_archive(archive, tmp_path / "out", limits=ArchiveLimits(max_bytes=10_000))
    shutil.rmtree(tmp_path / "out")
    message = _refusal(tmp_path, archive, limits=ArchiveLimits(max_bytes=9_999))
    assert "9.8 KiB" in message and "GANZOO_ARCHIVE_MAX_BYTES" in message


def test_hundred_thousand_members_are_refused_by_default(tmp_path):
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(100_000):
            zf.writestr(f"d/{i}", b"")
    message = _refusal(tmp_path, archive)
    assert "100,000 members (more than 50,000" in message and "GANZOO_ARCHIVE_MAX_MEMBERS" in message


def test_member_cap_counts_tar_members_as_they_are_read(tmp_path, monkeypatch):
    archive = _tar(tmp_path / "many.tar.gz", lambda tf: [_add_file(tf, f"d/{i}.txt", b"x") for i in range(60)])
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_MEMBERS", "50")
    assert "more than 50 members" in _refusal(tmp_path, archive)
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_MEMBERS", "61")  # 60 files and their folder
    assert len(list((extract_archive(archive, tmp_path / "out") / "d").iterdir())) == 60


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_deep_paths_are_refused_in_one_line(tmp_path, kind):
    name = "a/" * 2000 + "x.txt"  # raised RecursionError before the depth cap
    if kind == "zip":
        archive = _zip(tmp_path / "deep.zip", {name: b"x"})
    else:
        archive = _tar(tmp_path / "deep.tar.gz", lambda tf: _add_file(tf, name, b"x"))
    message = _refusal(tmp_path, archive)
    assert "2001 folders deep (more than 32; set GANZOO_ARCHIVE_MAX_DEPTH" in message


def test_depth_cap_can_be_lifted(tmp_path, monkeypatch):
    archive = _zip(tmp_path / "deep.zip", {"a/" * 40 + "x.txt": b"x"})
    _refusal(tmp_path, archive)
    monkeypatch.setenv("GANZOO_ARCHIVE_MAX_DEPTH", "41")
    out = extract_archive(archive, tmp_path / "out")
    assert (out / ("a/" * 40 + "x.txt")).read_bytes() == b"x"


def test_a_corrupt_deflate_stream_is_damaged_not_a_traceback(tmp_path):
    words = " ".join(f"w{(i * 7919) % 1000}" for i in range(100_000)).encode()  # compresses about 4 times
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("words.txt", words)
    raw = bytearray(archive.read_bytes())
    raw[2000:2400] = bytes(b ^ 0x5A for b in raw[2000:2400])  # zlib.error escaped before
    archive.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="is damaged"):
        extract_archive(archive, tmp_path / "out")
    assert _leftovers(tmp_path) == ["a.zip"]
