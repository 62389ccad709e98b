"""Plugin loading, failure isolation, name resolution, collisions and catalogue ownership."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ganzoo.errors import NameCollisionError, NotInstalledError, UnknownNameError
from ganzoo.hookspecs import hookimpl
from ganzoo.plugins import PluginError, Plugins
from ganzoo.registry import Registry
from ganzoo.specs import ModelSpec
from ganzoo.testing import install_entry_point, isolated_registry, toy_plugin


def model(name: str, **kw) -> ModelSpec:
    return ModelSpec(name=name, summary=f"{name} model", task="unconditional",
                     config="ganzoo.testing.toy_config:ToyConfig", factory="ganzoo.testing.toy_model:build", **kw)


class Provides:
    def __init__(self, *specs: ModelSpec) -> None:
        self.specs = specs

    @hookimpl
    def ganzoo_register_models(self):
        return list(self.specs)


def write_plugin(site: Path, dist: str, body: str, monkeypatch) -> None:
    module = dist.replace("-", "_")
    install_entry_point(site, dist, module, files={f"{module}.py": textwrap.dedent(body)})
    monkeypatch.syspath_prepend(str(site))


def test_isolated_registry_resolves_names_aliases_and_plugin_prefix():
    with isolated_registry(("acme-gans", Provides(model("acme", aliases=("acme_gan",))))) as reg:
        assert reg.resolve_model("acme").spec.plugin == "acme-gans"
        assert reg.resolve_model("acme_gan").spec.name == "acme"
        assert reg.resolve_model("acme-gans:acme").spec.name == "acme"
        with pytest.raises(UnknownNameError, match="Did you mean: acme"):
            reg.resolve_model("acmee")


def test_collision_is_an_error_naming_both_and_prefix_resolves_exactly():
    with isolated_registry(("one-plugin", Provides(model("twin"))), ("two-plugin", Provides(model("twin")))) as reg:
        with pytest.raises(NameCollisionError) as err:
            reg.resolve_model("twin")
        assert "one-plugin" in str(err.value) and "two-plugin" in str(err.value)
        assert reg.resolve_model("one-plugin:twin").spec.plugin == "one-plugin"
        assert reg.resolve_model("two-plugin:twin").spec.plugin == "two-plugin"
        assert any("twin" in p and "both" in p for p in reg.problems)


def test_catalogue_names_belong_to_their_plugin():
    with isolated_registry(("squatter", Provides(model("dcgan")))) as reg:
        with pytest.raises(NotInstalledError, match="pip install ganzoo-dcgan"):
            reg.resolve_model("dcgan")
        assert reg.resolve_model("squatter:dcgan").spec.plugin == "squatter"
        assert any("catalogue gives to ganzoo-dcgan" in p for p in reg.problems)


def test_not_installed_catalogue_model_names_the_package():
    with isolated_registry() as reg:
        with pytest.raises(NotInstalledError) as err:
            reg.resolve_model("cyclegan")
        assert "pip install ganzoo-cyclegan" in str(err.value)


def test_checkpoint_tags_are_checked():
    with isolated_registry(("ganzoo-toy", toy_plugin)) as reg, pytest.raises(UnknownNameError, match="tag 'nope'"):
        reg.resolve_model("toy.nope")


class RaisingHook:
    @hookimpl
    def ganzoo_register_models(self):
        raise RuntimeError("boom")


class WrongReturn:
    @hookimpl
    def ganzoo_register_models(self):
        return ["not a spec"]


class WrongSignature:
    @hookimpl
    def ganzoo_register_models(self, surprise):
        return []


class Misspelled:
    def ganzoo_register_model(self):  # no 's': must be reported, not silently ignored
        return []


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (RaisingHook(), "ganzoo_register_models failed: RuntimeError: boom"),
        (WrongReturn(), "must return ModelSpec records"),
        (WrongSignature(), "invalid hook"),
        (Misspelled(), "unknown hook 'ganzoo_register_model' (did you mean 'ganzoo_register_models'?)"),
    ],
)
def test_a_broken_plugin_is_recorded_and_the_others_still_work(plugin, message):
    with isolated_registry(("broken-plugin", plugin), ("ganzoo-toy", toy_plugin)) as reg:
        assert reg.resolve_model("toy").spec.plugin == "ganzoo-toy"
        record = reg.plugins.records["broken-plugin"]
        assert any(message in e for e in record.errors), record.errors
        assert "broken-plugin" in reg.plugins.warning_line()


def test_entry_point_plugins_load_by_distribution_name(tmp_path, monkeypatch):
    write_plugin(tmp_path, "acme-zoo", """
        from ganzoo.specs import ModelSpec
        def ganzoo_register_models():
            return [ModelSpec(name="acme", summary="s", task="unconditional",
                              config="ganzoo.testing.toy_config:ToyConfig")]
    """, monkeypatch)
    write_plugin(tmp_path, "broken-zoo", "raise ImportError('missing dependency frobnicate')\n", monkeypatch)
    plugins = Plugins()
    assert plugins.records["acme-zoo"].ok and plugins.records["acme-zoo"].version == "1.0.0"
    assert "import failed: ImportError: missing dependency frobnicate" in plugins.records["broken-zoo"].errors[0]
    reg = Registry(plugins)
    assert reg.resolve_model("acme").spec.plugin == "acme-zoo"
    assert not reg.resolve_model("acme").spec.implemented


def test_environment_switches(tmp_path, monkeypatch):
    write_plugin(tmp_path, "acme-zoo", "def ganzoo_register_models():\n    return []\n", monkeypatch)
    write_plugin(tmp_path, "broken-zoo", "raise ImportError('nope')\n", monkeypatch)
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")
    plugins = Plugins()
    assert all(r.skipped or r.builtin for r in plugins.records.values())
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "acme-zoo")
    plugins = Plugins()
    assert plugins.records["acme-zoo"].ok
    assert plugins.records["broken-zoo"].skipped == "not in GANZOO_LOAD_PLUGINS"
    monkeypatch.delenv("GANZOO_LOAD_PLUGINS")
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "broken-zoo")
    assert Plugins().records["broken-zoo"].skipped == "in GANZOO_DISABLE_PLUGINS"
    monkeypatch.delenv("GANZOO_DISABLE_PLUGINS")
    monkeypatch.setenv("GANZOO_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin broken-zoo: import failed: ImportError: nope") as err:
        Plugins()
    assert isinstance(err.value.__cause__, ImportError)
    monkeypatch.setenv("GANZOO_LOAD_PLUGINS", "")
    plugins = Plugins(load_entry_points=False)
    with pytest.raises(PluginError, match="unknown hook"):
        plugins.register(Misspelled(), "strict-misspelled")


def test_builtin_plugin_provides_core_records():
    with isolated_registry() as reg:
        assert reg.plugins.records["ganzoo-core"].builtin
        assert "digits" in reg.datasets.names()
