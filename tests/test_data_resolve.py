"""resolve_data with plugin-provided sources, and the `ganzoo data` commands as users run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types

import pytest

from ganzoo.data import DataOptions, resolve_data
from ganzoo.errors import DataError
from ganzoo.plugins import Plugins
from ganzoo.registry import Registry, get_registry, set_registry
from ganzoo.specs import DatasetSpec


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def plugin_specs():
    previous = get_registry()

    def install(*specs):
        plugins = Plugins()
        plugins.register(types.SimpleNamespace(ganzoo_register_datasets=lambda: list(specs)), "acme-data")
        set_registry(Registry(plugins))

    yield install
    set_registry(previous)


def _ganzoo(*args, home):
    env = dict(os.environ, GANZOO_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_plugin_sources_and_schemes_resolve_through_the_one_function(plugin_specs, tmp_path):
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (12, 12), (200, 10, 10)).save(tmp_path / "imgs" / "red.png")
    plugin_specs(
        DatasetSpec("acme-digits", "digits again", "labelled", "ganzoo.data.builtin:load_digits"),
        DatasetSpec("acmefolder", "a folder, the acme way", "images", "ganzoo.data.folder:load", scheme=True),
    )
    source = resolve_data("acme-digits", DataOptions(image_size=16))
    assert source.ref == "acme-digits" and len(source.train) == 901 and source.image_size == 16
    assert resolve_data("acme-data:acme-digits").kind == "labelled"
    folder = resolve_data(f"acmefolder:{tmp_path / 'imgs'}", DataOptions(image_size=4))
    red = folder.train[(0, 0)]["image"]
    assert red.shape == (3, 4, 4) and abs(red[0, 0, 0].item() - (200 / 127.5 - 1)) < 1e-6
    with pytest.raises(DataError, match="needs an argument"):
        resolve_data("acmefolder")


def test_broken_plugin_loaders_are_one_line_errors(plugin_specs):
    plugin_specs(
        DatasetSpec("ghost", "missing module", "images", "acme_not_installed.data:load"),
        DatasetSpec("liar", "returns the wrong thing", "images", "ganzoo.data.fingerprint:fingerprint"),
    )
    with pytest.raises(DataError, match=r"cannot import its loader acme_not_installed\.data:load"):
        resolve_data("ghost")
    with pytest.raises(DataError, match="returned str, not a DataSource"):
        resolve_data("liar")


def test_data_list_is_discovery_without_torch(home):
    code = ("import sys\nfrom ganzoo.cli import cli\n"
            "cli.main(['data', 'list', '--json'], standalone_mode=False)\n"
            "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)\n")
    env = dict(os.environ, GANZOO_HOME=str(home))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0 and result.stderr.strip().endswith("NO-TORCH"), result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["digits"]["cached"] == "built-in" and rows["horse2zebra"]["cached"] == "not cached"
    assert rows["horse2zebra"]["size_bytes"] == 116867962 and rows["horse2zebra"]["counts"]["trainA"] == 1067
    assert rows["folder:ARG"]["scheme"] is True
    assert {"digits-invert", "digits-colorize", "photos", "mnist", "fashion-mnist", "cifar10", "maps"} <= set(rows)


def test_data_info_and_download_of_builtins(home):
    result = _ganzoo("data", "info", "digits-invert", "--image-size", "16", "--channels", "3", "--json", home=home)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["kind"] == "unpaired" and info["channels"] == 3 and info["image_size"] == 16
    assert info["train_split"] == {"examples": 454, "a": 454, "b": 447}
    assert info["test_split"] == {"examples": 896, "a": 896, "b": 896}
    assert len(info["fingerprint"]) == 16 and info["fingerprint"] != info["test_fingerprint"]
    from click.testing import CliRunner

    from ganzoo.cli import cli

    text = CliRunner().invoke(cli, ["data", "info", "digits"])
    assert text.exit_code == 0 and "901 examples" in text.output and "0, 1, 2" in text.output
    text = CliRunner().invoke(cli, ["data", "download", "digits"])
    assert text.exit_code == 0 and "built in" in text.output
    result = _ganzoo("data", "download", "folder", home=home)
    assert result.returncode == 1 and result.stderr.startswith("Error: 'folder' is a reference syntax")
