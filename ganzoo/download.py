"""The one download function, for data sets and pretrained weights alike (torch-free).

`download(urls, dest, sha256=..., size=...)` fetches `http(s)://` or `file://` URLs, trying mirrors in
order, streaming into `dest.part` with a progress bar on stderr, resuming a partial `.part` file
(HTTP Range requests; a seek for `file://`), checking the size and the full sha256, and only then
renaming the file to `dest`. A file whose hash does not match is deleted, never left in the cache
(unless `trust_hash_mismatch=True`). `GANZOO_OFFLINE=1` refuses the network (`file://` still works).
When nothing can be fetched the error is one line naming the URL(s) and the exact path where the file
can be placed by hand.

Files whose hash is not published are trusted on first use: the sha256 of the first download is
recorded in a small JSON ledger (`ganzoo_home()/known_hashes.json`, see `recorded_sha256`) and later
downloads of the same URL must match it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlparse
from urllib.request import url2pathname

from ganzoo.errors import DownloadError
from ganzoo.paths import ganzoo_home, offline

CHUNK_SIZE = 1 << 20
LEDGER_NAME = "known_hashes.json"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def _timeout() -> float:
    try:
        return float(os.environ.get("GANZOO_DOWNLOAD_TIMEOUT", "30"))
    except ValueError:
        return 30.0


def _user_agent() -> str:
    from ganzoo import __version__

    return f"ganzoo/{__version__} (+python-urllib)"


# -- hashes and the trust-on-first-use ledger ---------------------------------------------------
def sha256_file(path: str | os.PathLike[str]) -> str:
    """The full sha256 of a file, as lower-case hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_SIZE), b""):
            digest.update(block)
    return digest.hexdigest()


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """`sha256_file`, remembered per path, size and modification time (for weights read many times)."""
    st = os.stat(path)
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        _HASHES[key] = sha256_file(path)
    return _HASHES[key]


def ledger_path() -> Path:
    """The JSON file recording first-seen hashes of URLs and verified hashes of cached files."""
    return ganzoo_home() / LEDGER_NAME


def _read_ledger() -> dict[str, Any]:
    path = ledger_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    data.setdefault("version", 1)
    data.setdefault("urls", {})
    data.setdefault("files", {})
    return data


def _write_ledger(data: dict[str, Any]) -> None:
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def recorded_sha256(url: str) -> str | None:
    """The sha256 recorded when `url` was first downloaded (trust on first use), or None."""
    entry = _read_ledger()["urls"].get(url)
    return entry.get("sha256") if isinstance(entry, dict) else None


def record_sha256(url: str, sha256: str, size: int | None = None) -> None:
    """Record (or replace) the trusted sha256 of `url`."""
    data = _read_ledger()
    data["urls"][url] = {"sha256": sha256.lower(), "size": size,
                         "recorded": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _write_ledger(data)


def _file_digest(path: Path) -> str:
    """sha256 of a cached file, remembered by (size, mtime) so large files are hashed once."""
    stat = path.stat()
    key = str(path.resolve())
    data = _read_ledger()
    entry = data["files"].get(key)
    if isinstance(entry, dict) and entry.get("size") == stat.st_size and entry.get("mtime_ns") == stat.st_mtime_ns:
        return str(entry["sha256"])
    digest = sha256_file(path)
    data["files"][key] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": digest}
    with contextlib.suppress(OSError):
        _write_ledger(data)
    return digest


# -- progress -----------------------------------------------------------------------------------
@contextlib.contextmanager
def _progress(label: str, total: int | None, start: int, enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(stderr=True)
    columns = [TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
               TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total, completed=start)
        yield lambda n: bar.advance(task, n)


# -- one transfer -------------------------------------------------------------------------------
class _Unreachable(Exception):
    """This URL could not deliver the file (now); the next mirror is tried."""


class _Oversized(Exception):
    """This URL sent more bytes than the expected size; the transfer was cut off at that size."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    return f"{type(exc).__name__}: {exc}".strip().rstrip(":")


def _open_file_url(url: str, offset: int) -> tuple[BinaryIO, int, int]:
    parsed = urlparse(url)
    if parsed.netloc not in ("", "localhost"):
        raise _Unreachable(f"file URL with a host is not supported: {parsed.netloc}")
    path = Path(url2pathname(parsed.path))
    if not path.is_file():
        raise _Unreachable("no such file")
    total = path.stat().st_size
    if offset > total:
        offset = 0
    src = open(path, "rb")  # noqa: SIM115 - closed by the caller
    src.seek(offset)
    return src, offset, total


def _open_http_url(url: str, offset: int) -> tuple[BinaryIO, int, int | None]:
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=_timeout())
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the partial file is not a prefix of this file: start over
            return _open_http_url(url, 0)
        raise _Unreachable(_reason(exc)) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _Unreachable(_reason(exc)) from None
    length = resp.headers.get("Content-Length")
    length_int = int(length) if length and length.isdigit() else None
    if offset and resp.status == 206:
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        if match is None or int(match.group(1)) != offset:
            resp.close()
            return _open_http_url(url, 0) if offset else (resp, 0, length_int)
        total = int(match.group(3)) if match.group(3) != "*" else None
        return resp, offset, total
    # A plain 200 answer: the server ignored the range, so the transfer starts from the beginning.
    return resp, 0, length_int


def _transfer(url: str, part: Path, size: int | None, label: str, progress: bool, *,
              limit: int | None = None) -> tuple[str, bool]:
    """Fetch `url` into `part` (resuming it when possible); returns (sha256, resumed).

    With a `limit`, at most that many bytes are written: one byte more raises `_Oversized`.
    """
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        offset = 0
    scheme = urlparse(url).scheme.lower()
    if scheme == "file":
        src, offset, total = _open_file_url(url, offset)
    elif scheme in ("http", "https"):
        src, offset, total = _open_http_url(url, offset)
    else:
        raise _Unreachable(f"unsupported URL scheme {scheme!r}")
    if total is None:
        total = size
    digest = hashlib.sha256()
    if offset:
        with open(part, "rb") as fh:
            remaining = offset
            while remaining:
                block = fh.read(min(CHUNK_SIZE, remaining))
                if not block:
                    break
                digest.update(block)
                remaining -= len(block)
    received = offset
    try:
        with src, open(part, "r+b" if offset else "wb") as out, _progress(label, total, offset, progress) as advance:
            out.seek(offset)
            out.truncate()
            while True:
                want = CHUNK_SIZE if limit is None else min(CHUNK_SIZE, limit + 1 - received)
                try:
                    block = src.read(want)
                except (OSError, ValueError) as exc:  # http.client errors are OSErrors too
                    raise _Unreachable(f"transfer interrupted after {received} bytes ({_reason(exc)})") from None
                except Exception as exc:  # http.client.IncompleteRead and friends
                    raise _Unreachable(f"transfer interrupted after {received} bytes ({_reason(exc)})") from None
                if not block:
                    break
                if limit is not None and received + len(block) > limit:
                    raise _Oversized(f"more than {limit} bytes")
                out.write(block)
                digest.update(block)
                received += len(block)
                advance(len(block))
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise DownloadError(f"cannot write {part}: {exc.strerror or exc}") from None
    if total is not None and received < total:
        raise _Unreachable(f"the transfer stopped after {received} of {total} bytes")
    return digest.hexdigest(), offset > 0


# -- the download function ----------------------------------------------------------------------
def _warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def _is_file_url(url: str) -> bool:
    return urlparse(url).scheme.lower() == "file"


def _check_existing(dest: Path, sha256: str | None, size: int | None, trust: bool, tofu: bool) -> Path:
    problem = None
    actual_size = dest.stat().st_size
    if size is not None and actual_size != size:
        problem = f"it has {actual_size} bytes, expected {size}"
    elif sha256 is not None:
        actual = _file_digest(dest)
        if actual != sha256:
            problem = f"its sha256 is {actual}, expected {sha256}" + (" (recorded on first download)" if tofu else "")
    # A file already in place is used or refused, never recorded as what a URL serves: it may have been
    # put there by hand or have come from another URL (only downloaded bytes are recorded, below).
    if problem is None:
        return dest
    if trust:
        _warn(f"using {dest} although {problem} (--trust-hash-mismatch)")
        return dest
    raise DownloadError(
        f"{dest} is not the expected file: {problem}; delete it to download it again, "
        "or pass --trust-hash-mismatch to use it anyway"
    )


def download(
    urls: str | Sequence[str],
    dest: str | os.PathLike[str],
    *,
    sha256: str | None,
    size: int | None,
    progress: bool = True,
    trust_hash_mismatch: bool = False,
    description: str = "",
) -> Path:
    """Make sure `dest` holds the file published at `urls` (mirrors, tried in order) and return its path.

    An existing `dest` is checked (size, sha256) and returned. Otherwise the file is fetched into
    `dest.part` (resumed if present), checked, and renamed. `sha256=None` means "not published": the
    hash recorded on the first download of the URL is enforced instead (trust on first use).
    """
    url_list = [urls] if isinstance(urls, str) else [u for u in urls if u]
    if not url_list:
        raise ValueError("download() needs at least one URL")
    dest = Path(dest).expanduser()
    label = description or dest.name
    expected = sha256.strip().lower() if sha256 else None
    tofu = False
    if expected is None:
        for url in url_list:
            recorded = recorded_sha256(url)
            if recorded:
                expected, tofu = recorded, True
                break
    if dest.is_file():
        return _check_existing(dest, expected, size, trust_hash_mismatch, tofu)
    if dest.exists():
        raise DownloadError(f"{dest} exists but is not a file; move it away and retry")

    allowed = [u for u in url_list if _is_file_url(u) or not offline()]
    if not allowed:
        raise DownloadError(
            f"{label} is not in the cache and GANZOO_OFFLINE=1 forbids downloading it: "
            f"fetch {url_list[0]} by hand and place it at {dest}"
        )
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {dest.parent}: {exc.strerror or exc}") from None
    part = dest.with_name(dest.name + ".part")
    failures: list[str] = []
    mismatch: str | None = None
    for url in allowed:
        for attempt in range(2):
            try:
                # A server that sends more than the expected size is cut off there (unless the user
                # accepts a different file knowingly).
                digest, resumed = _transfer(url, part, size, label, progress,
                                            limit=None if trust_hash_mismatch else size)
            except _Unreachable as exc:
                failures.append(f"{url}: {exc}")
                break
            except _Oversized as exc:
                part.unlink()
                mismatch = f"{label} from {url} has {exc} (cut off there); the download was deleted"
                break
            actual_size = part.stat().st_size
            problem = None
            if size is not None and actual_size != size:
                problem = f"{actual_size} bytes instead of {size}"
            elif expected is not None and digest != expected:
                problem = f"sha256 {digest} instead of {expected}" + (" (recorded on first download)" if tofu else "")
            if problem is not None and resumed and attempt == 0:
                part.unlink()  # the partial file may have come from another file: start over once
                continue
            if problem is not None and not trust_hash_mismatch:
                part.unlink()
                mismatch = f"{label} from {url} has {problem}; the download was deleted"
                break
            if problem is not None:
                _warn(f"keeping {dest.name} although it has {problem} (--trust-hash-mismatch)")
            os.replace(part, dest)
            if expected is None or (tofu and problem is not None):
                record_sha256(url, digest, actual_size)  # only the URL these bytes came from
            return dest
    if mismatch is not None:
        raise DownloadError(f"{mismatch} (pass --trust-hash-mismatch to accept it knowingly)")
    skipped = [u for u in url_list if u not in allowed]
    note = "; GANZOO_OFFLINE=1 skipped " + ", ".join(skipped) if skipped else ""
    raise DownloadError(
        f"could not download {label} ({'; '.join(failures)}{note}): "
        f"fetch {url_list[0]} by hand and place it at {dest}"
    )
