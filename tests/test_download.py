"""The one download function: file:// and http:// (a real loopback server), resume, mirrors, hashes."""

from __future__ import annotations

import hashlib
import os

import pytest

from ganzoo.download import download, ledger_path, recorded_sha256, sha256_file
from ganzoo.errors import DownloadError
from ganzoo.loopback import LoopbackServer

MB = 1 << 20


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)
    return tmp_path / "home"


@pytest.fixture
def blob(tmp_path):
    """A 3 MB file with known content, in a served folder."""
    served = tmp_path / "served"
    served.mkdir()
    data = os.urandom(3 * MB + 123)
    (served / "blob.bin").write_bytes(data)
    return served / "blob.bin", data, hashlib.sha256(data).hexdigest()


def test_file_url_download_checks_and_renames(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "cache" / "blob.bin"
    out = download([path.as_uri()], dest, sha256=digest, size=len(data), progress=False)
    assert out == dest
    assert dest.read_bytes() == data
    assert not (tmp_path / "cache" / "blob.bin.part").exists()
    # A second call finds the verified file and touches no URL (this one does not exist).
    assert download(["file:///nonexistent/blob.bin"], dest, sha256=digest, size=len(data), progress=False) == dest


def test_http_download(blob, tmp_path):
    path, data, digest = blob
    with LoopbackServer(path.parent) as server:
        dest = download(server.url("blob.bin"), tmp_path / "c" / "blob.bin", sha256=digest, size=len(data),
                        progress=False)
        assert [r["range"] for r in server.requests] == [None]
    assert dest.read_bytes() == data


def test_http_resume_of_a_partial_file(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    dest.parent.mkdir()
    (tmp_path / "c" / "blob.bin.part").write_bytes(data[:MB])
    with LoopbackServer(path.parent) as server:
        download([server.url("blob.bin")], dest, sha256=digest, size=len(data), progress=False)
        assert server.requests == [{"path": "blob.bin", "range": f"bytes={MB}-"}]
    assert dest.read_bytes() == data


def test_interrupted_transfer_keeps_the_part_and_resumes(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    part = tmp_path / "c" / "blob.bin.part"
    with LoopbackServer(path.parent) as server:
        server.cut_after["blob.bin"] = MB + 5
        with pytest.raises(DownloadError) as info:
            download([server.url("blob.bin")], dest, sha256=digest, size=len(data), progress=False)
        message = str(info.value)
        assert "\n" not in message and server.url("blob.bin") in message and str(dest) in message
        assert part.stat().st_size == MB + 5
        assert not dest.exists()
        download([server.url("blob.bin")], dest, sha256=digest, size=len(data), progress=False)
        assert server.requests[-1]["range"] == f"bytes={MB + 5}-"
    assert dest.read_bytes() == data and not part.exists()


def test_server_ignoring_range_restarts_from_zero(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    dest.parent.mkdir()
    (tmp_path / "c" / "blob.bin.part").write_bytes(data[:1000])
    with LoopbackServer(path.parent) as server:
        server.ignore_range = True
        download([server.url("blob.bin")], dest, sha256=digest, size=len(data), progress=False)
    assert dest.read_bytes() == data


def test_file_url_resume_seeks(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    dest.parent.mkdir()
    (tmp_path / "c" / "blob.bin.part").write_bytes(data[: 2 * MB])
    download([path.as_uri()], dest, sha256=digest, size=len(data), progress=False)
    assert dest.read_bytes() == data


def test_a_stale_partial_of_another_file_is_restarted(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    dest.parent.mkdir()
    (tmp_path / "c" / "blob.bin.part").write_bytes(b"x" * 5000)  # not a prefix of the real file
    with LoopbackServer(path.parent) as server:
        download([server.url("blob.bin")], dest, sha256=digest, size=len(data), progress=False)
        assert [r["range"] for r in server.requests] == ["bytes=5000-", None]
    assert dest.read_bytes() == data


def test_hash_mismatch_leaves_no_file(blob, tmp_path):
    path, data, _ = blob
    dest = tmp_path / "c" / "blob.bin"
    wrong = "0" * 64
    with LoopbackServer(path.parent) as server, pytest.raises(DownloadError) as info:
        download([server.url("blob.bin")], dest, sha256=wrong, size=len(data), progress=False)
    message = str(info.value)
    assert "sha256" in message and hashlib.sha256(data).hexdigest() in message and "\n" not in message
    assert "--trust-hash-mismatch" in message
    assert sorted(os.listdir(tmp_path / "c")) == []


def test_size_mismatch_leaves_no_file(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    with pytest.raises(DownloadError, match=f"{len(data)} bytes instead of {len(data) + 1}"):
        download([path.as_uri()], dest, sha256=digest, size=len(data) + 1, progress=False)
    assert os.listdir(tmp_path / "c") == []


def test_trust_hash_mismatch_keeps_the_file_knowingly(blob, tmp_path, capsys):
    path, data, _ = blob
    dest = tmp_path / "c" / "blob.bin"
    download([path.as_uri()], dest, sha256="1" * 64, size=None, progress=False, trust_hash_mismatch=True)
    assert dest.read_bytes() == data
    assert "Warning:" in capsys.readouterr().err


def test_offline_refuses_the_network_with_one_line(blob, tmp_path, monkeypatch):
    path, data, digest = blob
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    dest = tmp_path / "c" / "blob.bin"
    with LoopbackServer(path.parent) as server:
        url = server.url("blob.bin")
        with pytest.raises(DownloadError) as info:
            download([url], dest, sha256=digest, size=len(data), progress=False)
        assert server.requests == []
    message = str(info.value)
    assert "GANZOO_OFFLINE=1" in message and url in message and f"place it at {dest}" in message
    assert "\n" not in message
    # file:// is not the network: it still works offline.
    assert download([url, path.as_uri()], dest, sha256=digest, size=len(data), progress=False).is_file()


def test_mirrors_are_tried_in_order(blob, tmp_path):
    path, data, digest = blob
    with LoopbackServer(path.parent) as server:
        server.fail["missing.bin"] = 404
        dead = "http://127.0.0.1:9/blob.bin"  # the discard port: connection refused
        dest = download([server.url("missing.bin"), dead, server.url("blob.bin")], tmp_path / "c" / "blob.bin",
                        sha256=digest, size=len(data), progress=False)
        assert [r["path"] for r in server.requests] == ["missing.bin", "blob.bin"]
    assert dest.read_bytes() == data


def test_nothing_reachable_names_every_url_and_the_place_to_put_the_file(tmp_path):
    dest = tmp_path / "c" / "x.zip"
    urls = ["http://127.0.0.1:9/x.zip", (tmp_path / "nothing.zip").as_uri()]
    with pytest.raises(DownloadError) as info:
        download(urls, dest, sha256=None, size=None, progress=False)
    message = str(info.value)
    assert all(u in message for u in urls) and f"place it at {dest}" in message and "\n" not in message
    assert not dest.exists()


def test_a_wrong_file_placed_by_hand_is_reported_not_deleted(blob, tmp_path):
    path, _, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"not it")
    with pytest.raises(DownloadError, match="delete it to download it again"):
        download([path.as_uri()], dest, sha256=digest, size=None, progress=False)
    assert dest.read_bytes() == b"not it"


def test_trust_on_first_use_records_and_enforces_the_hash(blob, tmp_path):
    path, data, digest = blob
    url = path.as_uri()
    assert recorded_sha256(url) is None
    download([url], tmp_path / "a" / "blob.bin", sha256=None, size=None, progress=False)
    assert recorded_sha256(url) == digest
    assert ledger_path().is_file()
    # Same URL, same bytes: fine.
    download([url], tmp_path / "b" / "blob.bin", sha256=None, size=None, progress=False)
    # The file behind the URL changes: the recorded hash catches it and nothing is kept.
    changed = data[:-1] + bytes([data[-1] ^ 0xFF])
    path.write_bytes(changed)
    with pytest.raises(DownloadError, match="recorded on first download"):
        download([url], tmp_path / "c" / "blob.bin", sha256=None, size=None, progress=False)
    assert not (tmp_path / "c" / "blob.bin").exists()
    # Accepting it knowingly replaces the record.
    download([url], tmp_path / "c" / "blob.bin", sha256=None, size=None, progress=False, trust_hash_mismatch=True)
    assert recorded_sha256(url) == hashlib.sha256(changed).hexdigest()
    assert sha256_file(tmp_path / "c" / "blob.bin") == recorded_sha256(url)


def test_unsupported_scheme_is_one_line(tmp_path):
    with pytest.raises(DownloadError, match="unsupported URL scheme 'ftp'"):
        download(["ftp://example.org/x"], tmp_path / "x", sha256=None, size=None, progress=False)


def test_a_server_sending_more_than_the_size_is_cut_off_there(blob, tmp_path):
    path, data, digest = blob
    dest = tmp_path / "c" / "blob.bin"
    with LoopbackServer(path.parent) as server:
        server.pad["blob.bin"] = 300 * MB  # 300 MB more than the published size
        with pytest.raises(DownloadError) as info:
            download([server.url("blob.bin")], dest, sha256=digest, size=len(data), progress=False)
        sent = server.sent["blob.bin"]
    message = str(info.value)
    assert f"more than {len(data)} bytes" in message and "\n" not in message
    assert os.listdir(tmp_path / "c") == []
    # The client hung up after the expected size: what got out is that plus the sockets' buffers.
    assert sent < len(data) + 64 * MB, sent


def test_a_file_url_larger_than_the_size_is_read_only_up_to_it(blob, tmp_path, monkeypatch):
    import ganzoo.download as dl

    path, _, _ = blob
    read = []
    real_open = dl._open_file_url

    def counting_open(url, offset):
        src, offset, total = real_open(url, offset)
        real_read = src.read

        class Counting:
            def read(self, n=-1):
                block = real_read(n)
                read.append(len(block))
                return block

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                src.close()

        return Counting(), offset, total

    monkeypatch.setattr(dl, "_open_file_url", counting_open)
    with pytest.raises(DownloadError, match=f"more than {MB} bytes"):
        download([path.as_uri()], tmp_path / "c" / "blob.bin", sha256=None, size=MB, progress=False)
    assert sum(read) == MB + 1  # not the whole 3 MB file
    assert os.listdir(tmp_path / "c") == [] and recorded_sha256(path.as_uri()) is None


def test_hashes_are_recorded_only_for_the_url_the_bytes_came_from(blob, tmp_path):
    path, _, digest = blob
    dead = (tmp_path / "gone" / "blob.bin").as_uri()
    download([dead, path.as_uri()], tmp_path / "a" / "blob.bin", sha256=None, size=None, progress=False)
    assert recorded_sha256(path.as_uri()) == digest
    assert recorded_sha256(dead) is None  # the first mirror delivered nothing
    # A file placed by hand is used, but it says nothing about what a URL serves.
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "blob.bin").write_bytes(b"placed by hand")
    other = (tmp_path / "elsewhere.bin").as_uri()
    download([other], tmp_path / "b" / "blob.bin", sha256=None, size=None, progress=False)
    assert recorded_sha256(other) is None
