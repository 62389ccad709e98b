"""Safe extraction of zip and tar archives (torch-free).

Every member is checked before it is written: absolute paths, `..` components, links that point
outside the target, device files and FIFOs are refused, and so are archives that exceed the caps of
`ArchiveLimits` (total bytes relative to the archive's size, member count, path depth). The byte cap is
enforced on the bytes actually written, while they stream, not on the sizes an archive declares. The
archive is extracted into a temporary folder beside the target, optionally checked by the caller, and
only then renamed into place, so a failed or refused extraction never leaves anything behind.
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

from ganzoo.data.archive_limits import DEPTH_ENV, MEMBERS_ENV, ArchiveLimits
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


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


class _Budget:
    """Counts members and written bytes of one extraction against its `ArchiveLimits`."""

    def __init__(self, archive: Path, limits: ArchiveLimits) -> None:
        self.archive = archive
        self.limits = limits
        self.archive_size = archive.stat().st_size
        self.allowed, self.lift = limits.byte_budget(self.archive_size)
        self.members = 0
        self.written = 0

    def _refuse(self, why: str) -> DataError:
        return DataError(f"refusing to extract {self.archive.name}: {why}; nothing was extracted")

    def too_many(self, count: int | None = None) -> DataError:
        has = f"{count:,} members (more than {self.limits.max_members:,}" if count else \
            f"more than {self.limits.max_members:,} members ("
        return self._refuse(f"it has {has}; set {MEMBERS_ENV} to allow more)")

    def member(self, raw: str, name: str | None) -> None:
        """Count one member and check its path depth."""
        self.members += 1
        if self.members > self.limits.max_members:
            raise self.too_many()
        depth = name.count("/") + 1 if name else 0
        if depth > self.limits.max_depth:
            raise self._refuse(f"member {raw[:80]!r}{'...' if len(raw) > 80 else ''} is {depth} folders deep "
                               f"(more than {self.limits.max_depth}; set {DEPTH_ENV} to allow more)")

    def too_big(self) -> DataError:
        if self.lift.endswith("RATIO"):
            limit = (f"{self.limits.max_ratio:g} times its {_size(self.archive_size)}; set {self.lift} "
                     "to allow more")
        else:
            limit = f"the limit; set {self.lift} to allow more"
        return self._refuse(f"it expands to more than {_size(self.allowed)} ({limit})")

    def reserve(self, declared: int) -> None:
        """Refuse early when a member's declared size alone would exceed what is left."""
        if self.written + max(declared, 0) > self.allowed:
            raise self.too_big()

    def copy(self, src, out) -> None:
        """Stream `src` into `out`, counting the bytes actually written against the cap."""
        while True:
            chunk = src.read(_COPY_CHUNK)
            if not chunk:
                return
            self.written += len(chunk)
            if self.written > self.allowed:
                raise self.too_big()
            out.write(chunk)


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


def _make_dirs(root: Path, path: Path) -> None:
    """Create `path` and its missing parents below `root`, one level at a time (no recursion)."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if not current.is_dir():
            current.mkdir()


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
    except OSError:
        pass
    raise DataError(f"{path} is neither a zip nor a tar archive (or it is damaged)")


# -- zip ----------------------------------------------------------------------------------------
def _zip_is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


_MAX_LINK = 4096


def _extract_zip(archive: Path, root: Path, budget: _Budget) -> int:
    count = 0
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        if len(infos) > budget.limits.max_members:
            raise budget.too_many(len(infos))
        budget.reserve(sum(info.file_size for info in infos))  # the declared sizes; the real ones are counted
        plan = []
        for info in infos:
            name = _clean_name(archive, info.filename)
            budget.member(info.filename, name)
            if name is None:
                continue
            mode = info.external_attr >> 16
            if info.create_system == 3 and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)
                                            or stat.S_ISSOCK(mode)):
                raise _unsafe(archive, info.filename, "is a device file or FIFO")
            link = None
            if _zip_is_symlink(info):
                if info.file_size > _MAX_LINK:
                    raise _unsafe(archive, info.filename, "is a link with an over-long target")
                with zf.open(info) as src:
                    link = src.read(_MAX_LINK + 1)[:_MAX_LINK].decode("utf-8", "replace")
                if not _link_inside(name, link, relative_to_member=True):
                    raise _unsafe(archive, info.filename, f"is a link pointing outside the target ({link})")
            plan.append((info, name, link))
        for info, name, link in plan:
            path = _target(archive, root, name)
            if link is not None:
                _make_dirs(root, path.parent)
                os.symlink(link, path)
                _check_link(archive, root, path, name)
                continue
            if info.is_dir():
                _make_dirs(root, path)
                continue
            _make_dirs(root, path.parent)
            with zf.open(info) as src, open(path, "wb") as out:
                budget.copy(src, out)
            count += 1
    return count


# -- tar ----------------------------------------------------------------------------------------
def _check_tar_member(archive: Path, member: tarfile.TarInfo, name: str) -> None:
    if member.isdev() or member.isfifo():
        raise _unsafe(archive, member.name, "is a device file or FIFO")
    if member.issym() and not _link_inside(name, member.linkname, relative_to_member=True):
        raise _unsafe(archive, member.name, f"is a link pointing outside the target ({member.linkname})")
    if member.islnk() and not _link_inside(name, member.linkname, relative_to_member=False):
        raise _unsafe(archive, member.name, f"is a link pointing outside the target ({member.linkname})")
    if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
        raise _unsafe(archive, member.name, "has an unsupported type")


def _extract_tar(archive: Path, root: Path, budget: _Budget) -> int:
    """One pass over the members as the (possibly compressed) stream yields them: check, count, write."""
    count = 0
    with tarfile.open(archive) as tf:
        for member in tf:
            name = _clean_name(archive, member.name)
            budget.member(member.name, name)
            if name is None:
                continue
            _check_tar_member(archive, member, name)
            path = _target(archive, root, name)
            if member.isdir():
                _make_dirs(root, path)
                continue
            _make_dirs(root, path.parent)
            if member.issym():
                os.symlink(member.linkname, path)
                _check_link(archive, root, path, member.name)
                continue
            if member.islnk():
                target = posixpath.normpath(member.linkname.replace("\\", "/"))
                source = _target(archive, root, target)
                if not source.is_file() or source.is_symlink():
                    raise _unsafe(archive, member.name, f"is a hard link to a missing or non-regular file ({target})")
                budget.reserve(source.stat().st_size)
                with open(source, "rb") as src, open(path, "wb") as out:
                    budget.copy(src, out)
                count += 1
                continue
            budget.reserve(member.size)
            src = tf.extractfile(member)
            if src is None:
                raise _unsafe(archive, member.name, "cannot be read")
            with src, open(path, "wb") as out:
                budget.copy(src, out)
            os.chmod(path, 0o755 if member.mode & 0o111 else 0o644)
            count += 1
    return count


def _check_no_escape(root: Path) -> None:
    """After extraction: no path below root may resolve outside it (defends against link chains)."""
    real_root = root.resolve()
    pending = [root]
    while pending:  # iterative: as deep as the depth cap allows, without recursion
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                path = Path(entry.path)
                if entry.is_symlink():
                    resolved = path.resolve()
                    if resolved != real_root and real_root not in resolved.parents:
                        raise DataError(f"refusing the archive: {path.relative_to(root)} links outside the target")
                elif entry.is_dir():
                    pending.append(path)


def extract_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    check: Callable[[Path], None] | None = None,
    limits: ArchiveLimits | None = None,
) -> Path:
    """Extract a zip or tar `archive` into the folder `dest`, safely and atomically.

    The members are written below a temporary folder beside `dest`; `check(tmp_root)` (if given) may
    inspect it and raise; then the folder is renamed to `dest` (replacing an older `dest`). `limits`
    caps size, member count and depth (default: `ArchiveLimits.from_env()`); exceeding one refuses the
    archive with one DataError line and leaves nothing behind.
    """
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise DataError(f"archive {archive} does not exist")
    kind = archive_kind(archive)
    budget = _Budget(archive, limits if limits is not None else ArchiveLimits.from_env())
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.extract-", dir=dest.parent))
    try:
        try:
            if kind == "zip":
                _extract_zip(archive, tmp, budget)
            else:
                _extract_tar(archive, tmp, budget)
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zipfile.LargeZipFile, zlib.error, lzma.LZMAError) as exc:
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
