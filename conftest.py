"""Shared test set-up: ganzoo's fixtures and an isolated cache for every test session."""

import os
import tempfile

import pytest

pytest_plugins = ["ganzoo.testing.fixtures"]


@pytest.fixture(autouse=True, scope="session")
def _isolated_ganzoo_env():
    """Keep tests away from the user's cache and plugin switches."""
    saved = {k: os.environ.get(k) for k in ("GANZOO_HOME", "GANZOO_LOAD_PLUGINS", "GANZOO_DISABLE_PLUGINS",
                                            "GANZOO_STRICT_PLUGINS", "GANZOO_OFFLINE", "GANZOO_DEBUG")}
    home = tempfile.mkdtemp(prefix="ganzoo-test-home-")
    os.environ["GANZOO_HOME"] = home
    for key in saved:
        if key != "GANZOO_HOME":
            os.environ.pop(key, None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def pytest_collection_modifyitems(config, items):
    # Keep the quick tests first so a failure shows early; slow ones run last.
    items.sort(key=lambda item: 1 if item.get_closest_marker("slow") else 0)
