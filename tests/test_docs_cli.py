"""docs/cli.md is generated from the command line and must match it: regenerate with `nox -s docs`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ganzoo.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "cli.md"


def docgen(*args: str, columns: str = "200") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": columns}
    return subprocess.run([sys.executable, "-m", "ganzoo.cli.docgen", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_reference_matches_the_command_line():
    result = docgen("--check", str(REFERENCE))
    assert result.returncode == 0, (
        "docs/cli.md differs from the command line; run: python -m ganzoo.cli.docgen --write docs/cli.md\n"
        + result.stderr[-2000:]
    )


def test_cli_reference_has_every_command_and_does_not_depend_on_the_terminal():
    wide, narrow = docgen(columns="200"), docgen(columns="60")
    assert wide.returncode == 0, wide.stderr[-2000:]
    assert wide.stdout == narrow.stdout
    headings = set(re.findall(r"^## `ganzoo ([a-z-]+)", wide.stdout, flags=re.MULTILINE))
    assert headings == set(COMMANDS)
    assert "## `ganzoo plugin new`" in wide.stdout and "--dir" in wide.stdout
