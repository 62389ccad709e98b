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


def test_train_reference_shows_the_core_s_defaults_not_a_model_s():
    from ganzoo import configs
    from ganzoo.testing.toy_plugin import TOY_MODEL
    from ganzoo.train_config import TrainConfig

    section = REFERENCE.read_text(encoding="utf-8").split("## `ganzoo train NAME`")[1].split("\n## ")[0]
    rows = {line.split("`")[1].split()[0].split("/")[0]: line for line in section.splitlines() if line.startswith("| `--")}
    infos = [info for info in configs.describe(TrainConfig) if info.cli]
    for info in infos:
        assert f"[default: {configs.format_default(info.default)}" in rows[info.flag], rows[info.flag]
    assert "toy" not in section  # the generator used to show the toy test model's defaults
    assert {"--steps", "--data", "--batch-size"} <= {i.flag for i in infos}
    assert TOY_MODEL.train_defaults["steps"] != TrainConfig().steps  # the toy's 20 would show if used
