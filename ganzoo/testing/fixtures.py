"""pytest fixtures for ganzoo and its plugins: `pytest_plugins = ["ganzoo.testing.fixtures"]`.

- `ganzoo_home`: a fresh GANZOO_HOME (cache of data and weights) for the test.
- `toy_registry`: the process registry holding only the core and the toy plugin.
- `toy_env`: environment variables that make the toy plugin visible to `ganzoo` subprocesses.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ganzoo.testing.kit import install_entry_point, isolated_registry


@pytest.fixture
def ganzoo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "ganzoo-home"
    home.mkdir()
    monkeypatch.setenv("GANZOO_HOME", str(home))
    return home


@pytest.fixture
def toy_registry() -> Iterator[object]:
    from ganzoo.testing import toy_plugin

    with isolated_registry(("ganzoo-toy", toy_plugin)) as registry:
        yield registry


@pytest.fixture
def toy_env(tmp_path: Path) -> dict[str, str]:
    env = install_entry_point(tmp_path / "site", "ganzoo-toy", "ganzoo.testing.toy_plugin", version="0.0.1")
    env["GANZOO_HOME"] = str(tmp_path / "ganzoo-home")
    return env
