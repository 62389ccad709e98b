"""Safe extraction of zip and tar archives (torch-free).

Every member is checked before anything is written: absolute paths, `..` components, links that point
outside the target, device files and FIFOs are refused. The archive is extracted into a temporary
folder beside the target, optionally checked by the caller, and only then renamed into place, so a
failed or refused extraction never leaves a half-written folder behind.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from ganzoo.errors import DataError

_COPY_CHUNK = 1 << 20


def _unsafe(archive: Path, member: str, why: str) -> DataError:
    return DataError(f"refusing to extract {archive.name}: member {member!r} {why}; nothing was extracted")


def _clean_name(archive: Path, name: str) -> str | None:
    """The member's relative POSIX path, or None for the archive root; raises for unsafe names."""
    if "\x00" in name:
        raise _unsafe(archive, name, "contains a NUL byte")
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise _unsafe(archive, name, "has an absolute path")
    parts = [p for p in unified.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(archive, name, "has a '..' component (it would be written outside the target)")
    return "/".join(parts) if parts else None


def _link_inside(link_name: str, target: str, *, relative_to_member: bool) -> bool:
    """Whether a link at `link_name` pointing to `target` stays inside the extraction root."""
    target = target.replace("\\", "/")
    if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return False
    base = posixpath.dirname(link_name) if relative_to_member else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    return not (resolved == ".." or resolved.startswith("../"))


def _target(archive: Path, root: Path, name: str) -> Path:
    """root/name, refusing to write through a symbolic link created by an earlier member."""
    path = root
    for part in name.split("/"):
        path = path / part
        if path.is_symlink():
            raise _unsafe(archive, name, "would be written through a link")
    return path


def _check_link(archive: Path, root: Path, path: Path, member: str) -> None:
    real_root = os.path.realpath(root)
    resolved = os.path.realpath(path)
    if resolved != real_root and not resolved.startswith(real_root + os.sep):
        raise _unsafe(archive, member, "is a link pointing outside the target")


def archive_kind(path: Path) -> str:
    """'zip' or 'tar' (any compression tarfile reads); raises DataError for anything else."""
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except (OSError, EOFError, tarfile.TarError, zlib.error, lzma.LZMAError):
        pass  # a truncated .tar.gz ends its stream early (EOFError): damaged, as the message says
    raise DataError(f"{path} is neither a zip nor a tar archive (or it is damaged)")


# -- zip ----------------------------------------------------------------------------------------
def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _extract_zip(archive: Path, root: Path) -> int:
    count = 0
    with zipfile.ZipFile(archive) as zf:
        plan = []
        for info in zf.infolist():
            name = _clean_name(archive, info.filename)
            if name is None:
                continue
            mode = info.external_attr >> 16
            if info.create_system == 3 and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)
                                            or stat.S_ISSOCK(mode)):
                raise _unsafe(archive, info.filename, "is a device file or FIFO")
            link = None
            if _zip_is_symlink(info):
                link = zf.read(info).decode("utf-8", "replace")
                if not _link_inside(name, link, relative_to_member=True):
                    raise _unsafe(archive, info.filename, f"is a link pointing outside the target ({link})")
            plan.append((info, name, link))
        for info, name, link in plan:
            path = _target(archive, root, name)
            if link is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(link, path)
                _check_link(archive, root, path, name)
                continue
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, _COPY_CHUNK)
            count += 1
    return count


# -- tar ----------------------------------------------------------------------------------------
def _extract_tar(archive: Path, root: Path) -> int:
    count = 0
    with tarfile.open(archive) as tf:
        members = tf.getmembers()
        plan = []
        for member in members:
            name = _clean_name(archive, member.name)
            if name is None:
                continue
            if member.isdev() or member.isfifo():
                raise _unsafe(archive, member.name, "is a device file or FIFO")
            if member.issym() and not _link_inside(name, member.linkname, relative_to_member=True):
                raise _unsafe(archive, member.name, f"is a link pointing outside the target ({member.linkname})")
            if member.islnk() and not _link_inside(name, member.linkname, relative_to_member=False):
                raise _unsafe(archive, member.name, f"is a link pointing outside the target ({member.linkname})")
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                raise _unsafe(archive, member.name, "has an unsupported type")
            plan.append((member, name))
        for member, name in plan:
            path = _target(archive, root, name)
            if member.isdir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if member.issym():
                os.symlink(member.linkname, path)
                _check_link(archive, root, path, member.name)
                continue
            if member.islnk():
                target = posixpath.normpath(member.linkname.replace("\\", "/"))
                source = _target(archive, root, target)
                if not source.is_file() or source.is_symlink():
                    raise _unsafe(archive, member.name, f"is a hard link to a missing or non-regular file ({target})")
                shutil.copyfile(source, path)
                count += 1
                continue
            src = tf.extractfile(member)
            if src is None:
                raise _unsafe(archive, member.name, "cannot be read")
            with src, open(path, "wb") as out:
                shutil.copyfileobj(src, out, _COPY_CHUNK)
            os.chmod(path, 0o755 if member.mode & 0o111 else 0o644)
            count += 1
    return count


def _check_no_escape(root: Path) -> None:
    """After extraction: no path below root may resolve outside it (defends against link chains)."""
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root):
        for entry in dirnames + filenames:
            path = Path(dirpath) / entry
            if path.is_symlink():
                resolved = Path(os.path.realpath(path))  # a link loop stays where it is, never raises
                if resolved != real_root and real_root not in resolved.parents:
                    raise DataError(f"refusing the archive: {path.relative_to(root)} links outside the target")


def extract_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Extract a zip or tar `archive` into the folder `dest`, safely and atomically.

    The members are written below a temporary folder beside `dest`; `check(tmp_root)` (if given) may
    inspect it and raise; then the folder is renamed to `dest` (replacing an older `dest`).
    """
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise DataError(f"archive {archive} does not exist")
    kind = archive_kind(archive)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extract-", dir=dest.parent))
    try:
        try:
            if kind == "zip":
                _extract_zip(archive, tmp)
            else:
                _extract_tar(archive, tmp)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zipfile.LargeZipFile) as exc:
            raise DataError(f"{archive} is damaged ({exc}); delete it and download it again") from None
        except OSError as exc:
            if "CRC" in str(exc) or "Bad" in str(exc):
                raise DataError(f"{archive} is damaged ({exc}); delete it and download it again") from None
            raise DataError(f"cannot extract {archive} into {dest.parent}: {exc.strerror or exc}") from None
        _check_no_escape(tmp)
        if check is not None:
            check(tmp)
        old = None
        if dest.exists() or dest.is_symlink():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        os.replace(tmp, dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise
    return dest
