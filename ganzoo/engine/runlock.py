"""One trainer per run folder: a lock file that names the process holding it.

The lock is `RUN/.lock`, held with an exclusive `flock` for as long as the trainer runs, and holding
the holder's process id (and host) as text. The operating system releases a `flock` when its process
ends, however it ends (kill -9 and power loss included), so a lock left by a dead process is simply
taken over; the file is removed when the lock is released.
"""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

from ganzoo.errors import ConfigError

LOCK_NAME = ".lock"


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _holder(text: str) -> tuple[int, str]:
    """(pid, host) from a lock file's text; (0, "") when unreadable."""
    fields = dict(part.split("=", 1) for part in text.split() if "=" in part)
    try:
        return int(fields.get("pid", "0")), fields.get("host", "")
    except ValueError:
        return 0, ""


class RunLock:
    """The exclusive lock of one run folder (a context manager; `release` is safe to call twice)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None
        #: The process id a dead process left in the lock file, when this lock took it over.
        self.taken_over_from: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        """Take the lock or raise a one-line `ConfigError` naming the process that holds it."""
        if self._fd is not None:
            return self
        try:
            import fcntl
        except ImportError:  # no flock (Windows): run unlocked, as before
            return self
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                text = _read(fd)
                os.close(fd)
                pid, host = _holder(text)
                here = not host or host == socket.gethostname()
                who = f"process {pid}" + ("" if here else f" on {host}")
                if not pid:
                    who = "another process"
                elif here and not pid_alive(pid):  # its data-loader workers (forked) still hold the flock
                    raise ConfigError(
                        f"run folder {self.folder} is still locked by what is left of process {pid}, which has "
                        "ended (its data-loader workers exit within seconds); try again in a few seconds"
                    ) from None
                raise ConfigError(
                    f"run folder {self.folder} is in use by {who} (another ganzoo train); wait for it to "
                    "finish or stop it (Ctrl-C), or choose another --out"
                ) from None
            # The file may have been removed (and re-created) by its previous holder between open and
            # flock: then this lock is on a file nobody else sees, so try again.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        previous, _ = _holder(_read(fd))
        if previous and previous != os.getpid():
            self.taken_over_from = previous
        os.ftruncate(fd, 0)
        os.write(fd, f"pid={os.getpid()} host={socket.gethostname()}\n".encode())
        os.fsync(fd)
        self._fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file and let go of the lock."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):  # while still holding it: nobody takes a half-removed lock
            self.path.unlink(missing_ok=True)
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 4096).decode("utf-8", errors="replace")
    except OSError:
        return ""
