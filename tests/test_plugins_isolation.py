"""A plugin that calls sys.exit() (or raises any BaseException but KeyboardInterrupt) is isolated like
any other broken plugin: recorded against its name, reported in one warning line, never ending the
command; GANZOO_STRICT_PLUGINS=1 fails naming it."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from ganzoo.hookspecs import hookimpl
from ganzoo.plugins import PluginError, Plugins
from ganzoo.testing import install_entry_point, isolated_registry, run_cli, toy_plugin


class ExitingHook:
    @hookimpl
    def ganzoo_register_models(self):
        sys.exit(7)


class CustomBase(BaseException):
    pass


class BaseRaisingHook:
    @hookimpl
    def ganzoo_register_datasets(self):
        raise CustomBase("not an Exception")


class InterruptedHook:
    @hookimpl
    def ganzoo_register_models(self):
        raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (ExitingHook(), "ganzoo_register_models failed: called sys.exit(7)"),
        (BaseRaisingHook(), "ganzoo_register_datasets failed: CustomBase: not an Exception"),
    ],
)
def test_a_hook_that_exits_is_recorded_and_the_others_still_work(plugin, message):
    with isolated_registry(("exiting-plugin", plugin), ("ganzoo-toy", toy_plugin)) as reg:
        assert reg.resolve_model("toy").spec.plugin == "ganzoo-toy"
        assert "digits" in reg.datasets.names()
        record = reg.plugins.records["exiting-plugin"]
        assert any(message in e for e in record.errors), record.errors
        assert "exiting-plugin" in reg.plugins.warning_line()


def test_ctrl_c_in_a_hook_still_interrupts():
    with pytest.raises(KeyboardInterrupt), isolated_registry(("interrupted", InterruptedHook())) as reg:
        reg.resolve_model("toy")


def test_strict_mode_names_the_exiting_plugin(monkeypatch):
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    plugins = Plugins(load_entry_points=False)
    plugins.register(ExitingHook(), "exiting-plugin")
    with pytest.raises(PluginError, match=r"plugin exiting-plugin: ganzoo_register_models failed: called sys\.exit\(7\)") as err:
        list(plugins.call("ganzoo_register_models"))
    assert isinstance(err.value.__cause__, SystemExit)


def _site(tmp_path: Path) -> dict[str, str]:
    """Three entry-point plugins: one exits at import, one exits in its hook, and the toy plugin."""
    site = tmp_path / "site"
    install_entry_point(site, "exit-at-import", "exit_at_import",
                        files={"exit_at_import.py": "import sys\nsys.exit(5)\n"})
    install_entry_point(site, "exit-in-hook", "exit_in_hook", files={"exit_in_hook.py": textwrap.dedent("""
        import sys
        def ganzoo_register_models():
            sys.exit("bye from a hook")
    """)})
    env = install_entry_point(site, "ganzoo-toy", "ganzoo.testing.toy_plugin", version="0.0.1")
    env["GANZOO_HOME"] = str(tmp_path / "home")
    return env


def test_cli_survives_plugins_that_exit(tmp_path):
    env = _site(tmp_path)
    listed = run_cli("list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "toy" in {m["name"] for m in json.loads(listed.stdout)}
    warning = [line for line in listed.stderr.splitlines() if line.startswith("Warning:")]
    assert len(warning) == 1 and "exit-at-import" in warning[0] and "exit-in-hook" in warning[0], listed.stderr

    report = run_cli("plugins", "--json", env=env)
    assert report.returncode == 0, report.stderr
    errors = {p["name"]: p["errors"] for p in json.loads(report.stdout)}
    assert errors["exit-at-import"] == ["import failed: called sys.exit(5)"]
    assert errors["exit-in-hook"] == ["ganzoo_register_models failed: called sys.exit('bye from a hook')"]
    assert errors["ganzoo-toy"] == []

    info = run_cli("info", "toy", env=env)
    assert info.returncode == 0, info.stderr


def test_strict_mode_cli_names_the_plugin_and_fails(tmp_path):
    env = {**_site(tmp_path), "GANZOO_STRICT_PLUGINS": "1"}
    result = run_cli("list", env=env)
    assert result.returncode not in (0, 5), result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: plugin exit-")
    assert "called sys.exit(" in lines[0] and "Traceback" not in result.stderr


def test_a_lazily_imported_module_that_exits_is_one_error_line(tmp_path):
    site = tmp_path / "site"
    env = install_entry_point(site, "exit-config", "exit_config_plugin", files={
        "exit_config_plugin.py": textwrap.dedent("""
            from ganzoo.specs import ModelSpec
            def ganzoo_register_models():
                return [ModelSpec(name="quitter", summary="s", task="unconditional",
                                  config="exit_config_mod:Config", factory="exit_config_mod:build")]
        """),
        "exit_config_mod.py": "import sys\nsys.exit(9)\n",
    })
    env["GANZOO_HOME"] = str(tmp_path / "home")
    result = run_cli("train", "quitter", "--help", env=env)
    assert result.returncode not in (0, 9)
    assert result.stderr.strip().splitlines()[-1].startswith("Error: importing exit_config_mod")
    assert "called sys.exit(9)" in result.stderr and "Traceback" not in result.stderr
