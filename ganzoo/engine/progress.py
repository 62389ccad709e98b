"""Training progress: a rich progress bar on a terminal, plain log lines otherwise.

On a terminal the first line always shows step/total, img/s, elapsed time and ETA, whatever the width
(the run name and the bar give way first); the latest losses follow on the same line when they fit,
else on a line of their own, cut to the terminal's width (every value is in metrics.jsonl anyway).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping

#: The bar's narrowest useful width; below it the bar is dropped rather than the figures.
MIN_BAR = 10


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


def format_duration(seconds: float | None) -> str:
    """H:MM:SS, or -:--:-- while unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "-:--:--"
    seconds = max(0, round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def status_figures(step: int, total: int, speed: str, elapsed: float | None, remaining: float | None) -> str:
    """The part of the bar that is never cut: `step/total  img/s  elapsed  ETA remaining`."""
    parts = [f"{step}/{total}", speed, format_duration(elapsed), f"ETA {format_duration(remaining)}"]
    return " ".join(p for p in parts if p)


def layout_lines(width: int, description: str, figures: str, logs: str) -> tuple[str, int, str, str | None]:
    """How one task is laid out at `width` columns: (description, bar width, logs on line 1, logs line).

    The figures are kept whole; the description and the bar share what is left; the logs join the first
    line when they fit beside a bar of MIN_BAR columns, else they get a second line cut to `width`.
    """
    left = width - len(figures) - 1  # one space before the figures
    logs_inline = ""
    logs_line: str | None = None
    if logs:
        if left - MIN_BAR - 1 - len(logs) - 1 - min(len(description), 12) >= 0:
            logs_inline = logs
            left -= len(logs) + 1
        else:
            logs_line = logs if len(logs) <= width else logs[: max(0, width - 1)] + "…"
    desc_width = min(len(description), max(0, left - MIN_BAR - 1))
    desc = description if desc_width >= len(description) else (
        description[: max(0, desc_width - 1)] + "…" if desc_width > 1 else "")
    bar = max(0, left - (len(desc) + 1 if desc else 0))
    bar = min(bar, 40)
    if bar < 3:
        bar = 0
    return desc, bar, logs_inline, logs_line


class Progress:
    """Shows step, images/s, ETA and the latest losses; quiet (log lines) when stderr is not a TTY."""

    def __init__(self, total: int, *, start: int = 0, description: str = "train", enabled: bool = True,
                 interactive: bool | None = None, console=None) -> None:
        self.total = total
        self.enabled = enabled
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.description = description
        self._bar = None
        self._task = None
        self._start_time = time.perf_counter()
        self._start_step = start
        self._closed = False
        if self.enabled and self.interactive:
            from rich.console import Console

            self._bar = _make_bar(console or Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task(description, total=total, completed=start, speed="", logs="")

    def update(self, step: int, *, images_per_s: float | None = None, logs: Mapping[str, float] | None = None,
               log_line: bool = False) -> None:
        if not self.enabled or (self._closed and self.interactive):
            return  # the bar's last frame stays on screen; a plain line after it would repeat it
        speed = f"{images_per_s:.1f} img/s" if images_per_s else ""
        if self._bar is not None:
            fields = {"speed": speed} if speed else {}
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
        self._closed = True
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _make_bar(console):
    """A rich Progress whose tasks render through `layout_lines` (imported lazily: rich is only for TTYs)."""
    from rich.console import Group
    from rich.progress import Progress as RichProgress
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    class _FittedProgress(RichProgress):
        def get_renderables(self):
            # Three columns spare: a line exactly as wide as the terminal wraps the cursor on some terminals,
            # and the "^C" a terminal echoes when the user stops a run must not wrap either (a wrapped last line
            # leaves a stale copy of the bar above the final one).
            width = console.width - 3  # (rich asks for a first rendering before `self.live` exists)
            rows = []
            for task in self.tasks:
                if not task.visible:
                    continue
                remaining = task.time_remaining if not task.finished else 0.0
                figures = status_figures(int(task.completed), int(task.total or 0), task.fields.get("speed", ""),
                                         task.elapsed, remaining)
                desc, bar, inline, line = layout_lines(width, task.description, figures, task.fields.get("logs", ""))
                grid = Table.grid(padding=(0, 1))
                cells = []
                if desc:
                    grid.add_column(no_wrap=True)
                    cells.append(Text(desc, style="bold"))
                if bar:
                    grid.add_column(width=bar, no_wrap=True)
                    cells.append(ProgressBar(total=task.total, completed=task.completed, width=bar,
                                             animation_time=task.get_time()))
                grid.add_column(no_wrap=True)
                cells.append(Text(figures))
                if inline:
                    grid.add_column(no_wrap=True)
                    cells.append(Text(inline))
                grid.add_row(*cells)
                rows.append(grid)
                if line is not None:
                    rows.append(Text(line, no_wrap=True, overflow="ellipsis"))
            yield Group(*rows)

    return _FittedProgress(console=console, transient=False)
