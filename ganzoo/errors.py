"""Exceptions that the command line turns into one `Error: ...` line and an exit code."""

from __future__ import annotations


class GanzooError(Exception):
    """A problem the user can fix; shown as one line without a traceback (unless --debug)."""

    exit_code: int = 1

    def __init__(self, message: str, *, exit_code: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
        self.hint = hint

    @property
    def message(self) -> str:
        text = str(self.args[0]) if self.args else ""
        return f"{text} {self.hint}" if self.hint else text


class UnknownNameError(GanzooError):
    """A model, data set or extractor name that nothing provides."""

    exit_code = 2


class NameCollisionError(GanzooError):
    """Two plugins claim the same name."""

    exit_code = 2


class NotInstalledError(GanzooError):
    """A catalogue name whose plugin distribution is not installed."""

    exit_code = 2


class NotImplementedModelError(GanzooError):
    """A registered model that has no implementation yet."""

    exit_code = 2


class ConfigError(GanzooError):
    """A configuration value or file that cannot be used."""

    exit_code = 2


class CheckpointError(GanzooError):
    """A checkpoint file that is missing, truncated, foreign or corrupt."""


class DataError(GanzooError):
    """A data reference, folder or file that cannot be used."""


class DownloadError(GanzooError):
    """A download that failed, or a file that did not match its expected hash or size."""


class TrainingStopped(GanzooError):
    """Training stopped on purpose (non-finite loss); the last good checkpoint is kept."""

    exit_code = 3
