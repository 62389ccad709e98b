"""Peak memory: resident set size of this process (Linux /proc, else getrusage) and CUDA allocations."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")


def _status_kib(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def current_rss_bytes() -> int | None:
    """Resident memory now (None where /proc is missing)."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def peak_rss_bytes() -> int:
    """The highest resident memory of this process since it started (or since `reset_peak_rss`)."""
    kib = _status_kib("VmHWM")
    if kib is not None:
        return kib * 1024
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(usage if sys.platform == "darwin" else usage * 1024)  # bytes on macOS, KiB on Linux


def reset_peak_rss() -> bool:
    """Restart the peak-RSS count from the current RSS (Linux: /proc/self/clear_refs); False if unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def reset_device_peak(device) -> None:
    """Restart the CUDA peak-allocation count (no-op for other devices)."""
    import torch

    if getattr(device, "type", str(device)).startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)


def device_peak_bytes(device) -> int | None:
    """Largest CUDA allocation total since the last reset (None off CUDA)."""
    import torch

    if getattr(device, "type", str(device)).startswith("cuda"):
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device))
    return None
