"""`ganzoo list` at 80 columns: words, names and plugin@version are never split across lines."""

from __future__ import annotations

import json
import re

import pytest

from ganzoo.testing.kit import run_cli


@pytest.mark.parametrize("width", [80, 100, 160])
def test_list_never_splits_words_names_or_versions(width):
    rows = json.loads(run_cli("list", "--json", check=True).stdout)
    assert rows, "the first-party plugins are installed in the test venv"
    result = run_cli("list", env={"COLUMNS": str(width)}, check=True)
    lines = result.stdout.splitlines()
    assert all(len(line) <= width for line in lines), [ln for ln in lines if len(ln) > width]
    tokens = {tok for line in lines for tok in line.split()}
    for row in rows:
        assert row["name"] in tokens
        assert f"{row['plugin']}@{row['version']}" in tokens, f"{row['plugin']}@{row['version']} split or cut"
        for word in row["summary"].split():
            # a word too wide for its column may be cut with an ellipsis, never broken onto the next line
            assert word in tokens or any(t.endswith("…") and word.startswith(t[:-1]) for t in tokens), word
        for tag in row["checkpoints"][:4]:
            assert any(re.fullmatch(re.escape(tag) + ",?", t) or (t.endswith("…") and tag.startswith(t[:-1]))
                       for t in tokens), tag
