"""The training bar at 80 and 120 columns: step/total, img/s, elapsed and ETA are always visible."""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganzoo.engine.progress import Progress, layout_lines, status_figures

LOGS = {"loss_d": 0.2142, "d_real": 3.5205, "d_fake": -2.1, "d_acc_real": 1.0, "d_acc_fake": 0.97, "loss_g": 4.58}
FIGURES = re.compile(r"\b(\d+)/(\d+) +[0-9.]+ img/s +\d+:\d\d:\d\d +ETA +(\d+:\d\d:\d\d|-:--:--)")


@pytest.mark.parametrize("width", [50, 60, 80, 120, 200])
def test_layout_keeps_the_figures_whole_and_fits_the_width(width):
    figures = status_figures(1234, 2500, "512.3 img/s", 83.0, 754.0)
    desc, bar, inline, line = layout_lines(width, "dcgan-20261202-105800-a1b2", figures, "loss_d=0.2142 " * 6)
    first = " ".join(p for p in (desc, "x" * bar, figures, inline) if p)
    assert figures == "1234/2500 512.3 img/s 0:01:23 ETA 0:12:34"
    assert len(first) <= width
    assert line is None or len(line) <= width
    assert (inline or line), "the losses are shown somewhere"


def _render(width: int) -> str:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None, legacy_windows=False)
    progress = Progress(2500, description="dcgan-20261202-105800", interactive=True, console=console)
    progress.update(10, images_per_s=512.3, logs=LOGS)
    progress.update(20, images_per_s=498.0, logs=LOGS)
    progress.close()
    return out.getvalue()


@pytest.mark.parametrize("width", [80, 120])
def test_rendered_bar_shows_step_speed_elapsed_and_eta(width):
    text = _render(width)
    frame = text.replace("\r", "\n").split("\x1b[2K")[-1]  # the last frame drawn
    lines = [re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", ln) for ln in frame.splitlines()]
    lines = [ln for ln in lines if ln.strip()]
    assert any(FIGURES.search(ln) and "20/2500" in ln for ln in lines), lines
    assert all(len(ln) <= width for ln in lines), lines
    assert any("loss_d=" in ln for ln in lines), lines


def _tmux_train(width: int, tmp_path: Path, env: dict[str, str]) -> list[str]:
    session = f"ganzoo-progress-{width}-{tmp_path.name}"[:60]
    done = tmp_path / f"done-{width}"
    out = tmp_path / f"run-{width}"
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    command = (f"env {exports} OMP_NUM_THREADS=1 {shlex.quote(sys.executable)} -m ganzoo train toy --steps 40 "
               f"--log-every 5 --out {shlex.quote(str(out))}; touch {shlex.quote(str(done))}; sleep 60")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", "30", command], check=True)
    try:
        deadline = time.monotonic() + 120
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert done.exists(), "the run did not finish within 120 s"
        pane = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True,
                              check=True).stdout
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return pane.splitlines()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (a real terminal)")
@pytest.mark.parametrize("width", [80, 120])
def test_training_bar_in_a_real_terminal(width, tmp_path, toy_env):
    lines = _tmux_train(width, tmp_path, toy_env)
    bar = [ln for ln in lines if FIGURES.search(ln)]
    assert len(bar) == 1, "one bar, no stale copy of an earlier frame:\n" + "\n".join(lines)
    match = FIGURES.search(bar[-1])
    assert match.group(1) == match.group(2) == "40"
    assert match.group(3) == "0:00:00"
    assert any("loss" in ln for ln in lines), "\n".join(lines)
    assert all(len(ln) <= width for ln in lines)
    assert not any(ln.startswith("[toy") for ln in lines), "no plain log line repeats the finished bar"
