"""Training progress: a rich progress bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping


def _fmt(value: float) -> str:
    if value != value:  # NaN
        return "nan"
    a = abs(value)
    if a != 0 and (a < 1e-3 or a >= 1e4):
        return f"{value:.2e}"
    return f"{value:.4f}"


def format_logs(logs: Mapping[str, float], keys: int = 6) -> str:
    items = [(k, v) for k, v in logs.items() if isinstance(v, (int, float))][:keys]
    return " ".join(f"{k}={_fmt(float(v))}" for k, v in items)


class Progress:
    """Shows step, images/s, ETA and the latest losses; quiet (log lines) when stderr is not a TTY."""

    def __init__(self, total: int, *, start: int = 0, description: str = "train", enabled: bool = True,
                 interactive: bool | None = None) -> None:
        self.total = total
        self.enabled = enabled
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.description = description
        self._bar = None
        self._task = None
        self._start_time = time.perf_counter()
        self._start_step = start
        if self.enabled and self.interactive:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import (
                Progress as RichProgress,
            )

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[speed]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[logs]}"),
                transient=False,
                console=Console(stderr=True),
            )
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, completed=start, speed="", logs="")

    def update(self, step: int, *, images_per_s: float | None = None, logs: Mapping[str, float] | None = None,
               log_line: bool = False) -> None:
        if not self.enabled:
            return
        speed = f"{images_per_s:.1f} img/s" if images_per_s else ""
        if self._bar is not None:
            fields = {"speed": speed}
            if logs is not None:
                fields["logs"] = format_logs(logs)
            self._bar.update(self._task, completed=step, **fields)
        elif log_line:
            elapsed = time.perf_counter() - self._start_time
            done = max(1, step - self._start_step)
            eta = elapsed / done * max(0, self.total - step)
            text = f"[{self.description}] step {step}/{self.total} {speed} eta {eta:.0f}s"
            if logs:
                text += " " + format_logs(logs)
            print(text, file=sys.stderr, flush=True)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
