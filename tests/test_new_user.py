"""A new user's first minutes, scripted in a real 80-column terminal (tmux): the README's train command.

The run folder is shown at the start, Ctrl-C stops with a checkpoint, the identical command resumes
it (not from step 0) and finishes it, running it once more says it is finished, and a start that
fails leaves no folder behind. While it trains, the bar on the 80-column screen shows step/total, img/s,
elapsed time and ETA whole (the bar's layout itself is tested in test_progress_terminal.py).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

GANZOO = str(Path(sys.executable).with_name("ganzoo"))
STEPS = 100  # the default budget is 2500; every other option is the README's


class Terminal:
    """One tmux pane of 80 columns on a private tmux server."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.socket = f"ganzoo-test-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.tmux("new-session", "-d", "-s", "user", "-x", "80", "-y", "50", "-c", str(cwd),
                  "env PS1='$ ' bash --norc --noprofile")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True,
                              env=self.env).stdout

    def type(self, line: str) -> None:
        self.tmux("send-keys", "-t", "user", line, "Enter")

    def ctrl_c(self) -> None:
        self.tmux("send-keys", "-t", "user", "C-c")

    def screen(self) -> str:
        """The pane and its history, soft-wrapped lines joined (as a copy from the terminal gives them)."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-1000", "-t", "user")

    def wait_for(self, pattern: str, timeout: float = 600, after: int = 0) -> re.Match:
        """The first match of `pattern` in the screen's text from offset `after`, waiting for it to appear."""
        deadline = time.time() + timeout
        while True:
            text = self.screen()
            match = re.compile(pattern, re.M).search(text, after)
            if match:
                return match
            if time.time() > deadline:
                raise AssertionError(f"{pattern!r} never appeared; the terminal shows:\n{text[-3000:]}")
            time.sleep(0.2)

    def visible(self) -> list[str]:
        """The pane's visible lines as drawn (no history, no joining of wrapped lines)."""
        return self.tmux("capture-pane", "-p", "-t", "user").splitlines()

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)


@pytest.mark.slow  # four starts of dcgan and 100 training steps: well over 10 s
def test_readme_train_command_in_an_80_column_terminal(tmp_path):
    env = {**os.environ, "GANZOO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1", "TERM": "xterm-256color"}
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    command = f"{shlex.quote(GANZOO)} train dcgan --steps {STEPS}"
    term = Terminal(tmp_path, env)
    try:
        term.type(command)
        start = term.wait_for(r"^Training dcgan in (runs/\S+) \(new run\)$")
        folder = tmp_path / start.group(1)
        assert folder.parent == tmp_path / "runs"
        # Ctrl-C once training runs (its first log line is written at step 50)
        deadline = time.time() + 600
        while not (folder / "metrics.jsonl").exists() and time.time() < deadline:
            time.sleep(0.1)
        bar = re.compile(rf"\b(\d+)/{STEPS} +[0-9.]+ img/s +\d+:\d\d:\d\d +ETA +(\d+:\d\d:\d\d|-:--:--)")
        deadline = time.time() + 120
        lines = term.visible()
        while not any(bar.search(ln) for ln in lines) and time.time() < deadline:
            time.sleep(0.1)
            lines = term.visible()
        assert any(bar.search(ln) for ln in lines), "no readable bar at 80 columns:\n" + "\n".join(lines)
        assert all(len(ln) <= 80 for ln in lines)
        term.ctrl_c()
        stopped = term.wait_for(r"Stopped at step (\d+); checkpoint written to .*Resume with the same command\.",
                                after=start.end())
        step = int(stopped.group(1))
        assert 0 < step < STEPS
        # The terminal echoes "^C" after the bar's last line; the final frame replaces the bar in place
        # (a wrapped last line would leave a stale copy of the bar above it).
        before_stop = term.screen()[start.end():stopped.start()]
        assert len(bar.findall(before_stop)) == 1, "the bar is on screen more than once after Ctrl-C:\n" + before_stop

        term.type(command)  # the identical command
        resumed = term.wait_for(rf"^Resuming dcgan from step (\d+) in {re.escape(start.group(1))}$",
                                after=stopped.end())
        assert int(resumed.group(1)) == step
        finished = term.wait_for(rf"^Finished dcgan: {STEPS} steps in", after=resumed.end())
        term.wait_for(rf"^  next         ganzoo sample {re.escape(start.group(1))} --n 64 --out samples\.png$",
                      after=finished.end())

        term.type(command)  # once more: nothing left to do
        done = term.wait_for(rf"^dcgan in {re.escape(start.group(1))} is already finished: {STEPS} of {STEPS} steps",
                             after=finished.end())
        term.wait_for(rf"^  train longer   ganzoo train dcgan --steps {2 * STEPS}$", after=done.end())

        term.type(f"{shlex.quote(GANZOO)} train dcgan --data ./no_such_folder")  # a failed start
        term.wait_for(r"^Error: .*no_such_folder", after=done.end())
        assert [p.name for p in (tmp_path / "runs").iterdir()] == [folder.name]  # no folder left behind
    finally:
        term.close()
