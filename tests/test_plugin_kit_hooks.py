"""Every hookspec is exercised: a third-party-style plugin implementing all hooks, used end to end.

The plugin `hooks-demo` (written to a temporary folder, imported like any installed plugin) registers
one record per hook: a model (`hooks_toy`), a data set (`hooks-dots`), a feature extractor
(`hooks-pixels`), a metric (`hooks-mean`) and a command (`hooks-hello`). The tests below check that
each record is *used*, not only listed: the model trains on the plugin's data set, the extractor and
the metric compute a number that is checked against a direct computation, and the command runs
through the `ganzoo` command line. `HOOK_TESTS` maps every hookspec to the tests that exercise it;
a new hookspec without a test fails `test_every_hookspec_has_a_test`.
"""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ganzoo import hookspecs
from ganzoo.plugins import HOOK_PREFIX
from ganzoo.testing import check_plugin, install_entry_point, isolated_registry, run_cli, smoke_train

DIST = "hooks-demo"

PLUGIN_FILES = {
    "hooks_demo/__init__.py": '"""A plugin implementing every ganzoo hook (used by ganzoo\'s tests)."""\n',
    "hooks_demo/plugin.py": textwrap.dedent('''
        """Entry point: one record per hook; imports only ganzoo."""

        from ganzoo import hookimpl
        from ganzoo.specs import CommandSpec, DatasetSpec, ExtractorSpec, MetricSpec, ModelSpec


        @hookimpl
        def ganzoo_register_models():
            return [ModelSpec(
                name="hooks_toy", summary="The toy GAN on the plugin's own data.", task="unconditional",
                config="ganzoo.testing.toy_config:ToyConfig", factory="ganzoo.testing.toy_model:build",
                default_data="hooks-dots",
                train_defaults={"steps": 4, "batch_size": 8, "log_every": 2, "sample_every": 4,
                                "checkpoint_every": 4},
            )]


        @hookimpl
        def ganzoo_register_datasets():
            return [DatasetSpec(name="hooks-dots", summary="64 images of one bright dot, labelled by parity.",
                                kind="labelled", loader="hooks_demo.heavy:load_dots", counts={"train": 48, "test": 16})]


        @hookimpl
        def ganzoo_register_extractors():
            return [ExtractorSpec(name="hooks-pixels", summary="Gray pixels average-pooled to 4x4.",
                                  factory="hooks_demo.heavy:build_extractor", feature_dim=16, input_size=4)]


        @hookimpl
        def ganzoo_register_metrics():
            return [MetricSpec(name="hooks-mean", summary="Distance between mean features.",
                               factory="hooks_demo.heavy:mean_distance")]


        @hookimpl
        def ganzoo_register_commands():
            return [CommandSpec(name="hooks-hello", summary="Say hello.", target="hooks_demo.commands:hello")]
    '''),
    "hooks_demo/heavy.py": textwrap.dedent('''
        """The plugin's torch code: imported only when its data, extractor or metric is used."""

        import torch
        import torch.nn.functional as F
        from torch import nn

        from ganzoo.data.source import DataSource
        from ganzoo.metrics.extractors.base import FeatureExtractor


        class Dots:
            def __init__(self, images, labels):
                self.images, self.labels = images, labels

            def __len__(self):
                return len(self.images)

            def __getitem__(self, key):
                index, _seed = key
                return {"image": self.images[index], "label": self.labels[index]}

            def get_batch(self, keys):
                idx = torch.tensor([k[0] for k in keys])
                return {"image": self.images[idx], "label": self.labels[idx]}


        def load_dots(ref, options):
            size, channels = options.image_size or 8, options.channels or 1
            images = torch.full((64, channels, size, size), -1.0)
            for i in range(64):
                images[i, :, i % size, (3 * i) % size] = 1.0
            labels = torch.arange(64) % 2
            return DataSource(ref=ref.text, kind="labelled", train=Dots(images[:48], labels[:48]),
                              test=Dots(images[48:], labels[48:]), channels=channels, image_size=size,
                              num_classes=2, class_names=("even", "odd"), in_memory=True,
                              fingerprint=f"hooks-dots-{size}-{channels}")


        class PooledPixels(FeatureExtractor):
            resizer = "channel mean, adaptive average pooling to 4x4"

            def prepare(self, images):
                return F.adaptive_avg_pool2d(images.mean(dim=1, keepdim=True), 4)

            def forward(self, x):
                return x.flatten(1), None


        def build_extractor(weights, device):
            return PooledPixels("hooks-pixels", nn.Identity(), feature_dim=16, input_size=4,
                                weights_path=None, weights_sha256=None, device=device)


        def mean_distance(context):
            fake = context.fake.features.astype("float64").mean(axis=0)
            real = context.real.features.astype("float64").mean(axis=0)
            return {"hooks_mean": float(((fake - real) ** 2).sum() ** 0.5)}
    '''),
    "hooks_demo/commands.py": textwrap.dedent('''
        """The plugin's sub-command (imported only when `ganzoo hooks-hello` runs)."""

        import click


        @click.command("hooks-hello")
        @click.option("--name", default="world", help="Whom to greet.")
        def hello(name):
            """Greet, and name the models of this plugin."""
            from ganzoo.registry import get_registry

            models = sorted(s.name for s in get_registry().model_specs() if s.plugin == "hooks-demo")
            click.echo(f"hello {name} from hooks-demo; models: {', '.join(models)}")
    '''),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The plugin written to a folder with its entry point, importable in this process and subprocesses."""
    root = tmp_path_factory.mktemp("hooks-site")
    env = install_entry_point(root, DIST, "hooks_demo.plugin", version="0.3.0", files=PLUGIN_FILES)
    sys.path.insert(0, str(root))
    yield root, env
    sys.path.remove(str(root))
    for name in [m for m in sys.modules if m == "hooks_demo" or m.startswith("hooks_demo.")]:
        del sys.modules[name]


@pytest.fixture
def demo(site):
    import importlib

    plugin = importlib.import_module("hooks_demo.plugin")
    with isolated_registry((DIST, plugin)) as registry:
        yield registry


def hookspec_names() -> set[str]:
    return {name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith(HOOK_PREFIX)}


def test_the_demo_plugin_implements_every_hookspec(site):
    import hooks_demo.plugin as plugin

    implemented = {n for n in dir(plugin) if n.startswith(HOOK_PREFIX)}
    assert implemented == hookspec_names()


def test_check_plugin_accepts_every_record(site):
    report = check_plugin("hooks_demo.plugin", name=DIST)
    assert set(report.hooks) == hookspec_names()
    assert report.names("ganzoo_register_models") == ["hooks_toy"]
    assert report.names("ganzoo_register_datasets") == ["hooks-dots"]
    assert report.names("ganzoo_register_extractors") == ["hooks-pixels"]
    assert report.names("ganzoo_register_metrics") == ["hooks-mean"]
    assert report.names("ganzoo_register_commands") == ["hooks-hello"]


def test_check_plugin_reports_broken_records(site, tmp_path, monkeypatch):
    (tmp_path / "hooks_broken.py").write_text(textwrap.dedent('''
        import torch  # discovery must not import torch
        from ganzoo.specs import MetricSpec, ModelSpec

        def ganzoo_register_models():
            return [ModelSpec(name="broken_toy", summary="x", task="unconditional",
                              config="ganzoo.testing.toy_config:NoSuchConfig", factory="ganzoo.testing.toy_model:build")]

        def ganzoo_register_metrics():
            return [MetricSpec(name="broken-metric", summary="x", factory="hooks_broken:not_there")]

        def ganzoo_register_modles():
            return []
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AssertionError) as info:
        check_plugin("hooks_broken")
    text = str(info.value)
    assert "imports numpy,torch" in text
    assert "unknown hook 'ganzoo_register_modles'" in text and "ganzoo_register_models" in text
    assert "NoSuchConfig" in text and "not_there" in text


def test_model_trains_on_the_plugin_data_set(demo, tmp_path):
    from ganzoo.engine.checkpoint import read_header

    result = smoke_train("hooks_toy", tmp_path / "run", steps=4)
    header = read_header(tmp_path / "run" / "checkpoints" / "last.safetensors")
    assert result.steps == 4 and header["name"] == "hooks_toy" and header["plugin"] == DIST
    assert header["data"] == "hooks-dots"
    assert header["data_info"]["train_size"] == 48


def test_data_set_resolves_by_name_and_by_plugin(demo):
    from ganzoo.data import DataOptions, resolve_data

    data = resolve_data("hooks-dots", DataOptions(image_size=8))
    assert data.kind == "labelled" and len(data.train) == 48 and len(data.test) == 16
    assert data.num_classes == 2
    batch = data.train.get_batch([(0, 0), (5, 0)])
    assert batch["image"].shape == (2, 1, 8, 8) and float(batch["image"].max()) == 1.0
    exact = resolve_data(f"{DIST}:hooks-dots", DataOptions(image_size=16, channels=3))
    assert exact.train.get_batch([(1, 0)])["image"].shape == (1, 3, 16, 16)


def test_extractor_and_metric_compute_the_expected_number(demo):
    import torch
    import torch.nn.functional as F

    from ganzoo.data import DataOptions, resolve_data
    from ganzoo.metrics import evaluate_batches, get_extractor
    from ganzoo.metrics.reference import quantize

    data = resolve_data("hooks-dots", DataOptions(image_size=8))
    fake = torch.rand(20, 1, 8, 8, generator=torch.Generator().manual_seed(3)) * 2 - 1
    result = evaluate_batches([(fake[:10], None), (fake[10:], None)], data, "hooks-mean", extractor="hooks-pixels")
    assert result.protocol["extractor"] == "hooks-pixels" and result.protocol["metrics"] == ["hooks-mean"]
    assert get_extractor("hooks-pixels").feature_dim == 16

    def pooled(images):
        return F.adaptive_avg_pool2d(quantize(images).mean(dim=1, keepdim=True), 4).flatten(1).double().numpy()

    real = data.train.get_batch([(i, 0) for i in range(len(data.train))])["image"]
    expected = np.linalg.norm(pooled(fake).mean(axis=0) - pooled(real).mean(axis=0))
    assert result.values["hooks_mean"] == pytest.approx(expected, rel=1e-5)
    assert result.values["hooks_mean"] > 0.1  # random noise is far from images of single dots


def test_command_line_sees_every_record(site, tmp_path):
    _root, env = site
    env = {**env, "GANZOO_HOME": str(tmp_path / "home")}
    hello = run_cli("hooks-hello", "--name", "tester", env=env, check=True)
    assert hello.stdout.strip() == "hello tester from hooks-demo; models: hooks_toy"
    assert "--name" in run_cli("hooks-hello", "--help", env=env, check=True).stdout
    plugins = {row["name"]: row for row in json.loads(run_cli("plugins", "--json", env=env, check=True).stdout)}
    assert set(plugins[DIST]["hooks"]) == hookspec_names() and plugins[DIST]["errors"] == []
    models = json.loads(run_cli("list", "--json", env=env, check=True).stdout)
    assert any(row["name"] == "hooks_toy" and row["plugin"] == DIST for row in models)
    datasets = json.loads(run_cli("data", "list", "--json", env=env, check=True).stdout)
    assert any(row["name"] == "hooks-dots" and row["plugin"] == DIST for row in datasets)
    run = tmp_path / "run"
    run_cli("train", "hooks_toy", "--steps", "2", "--out", str(run), env=env, check=True)
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert last["step"] == 2
    assert "hooks-dots" in (run / "config.yaml").read_text()


HOOK_TESTS = {
    "ganzoo_register_models": [test_model_trains_on_the_plugin_data_set, test_command_line_sees_every_record],
    "ganzoo_register_datasets": [test_data_set_resolves_by_name_and_by_plugin, test_model_trains_on_the_plugin_data_set],
    "ganzoo_register_extractors": [test_extractor_and_metric_compute_the_expected_number],
    "ganzoo_register_metrics": [test_extractor_and_metric_compute_the_expected_number],
    "ganzoo_register_commands": [test_command_line_sees_every_record],
}
"""Which tests exercise each hook (the record it returns is used, not only listed)."""


def test_every_hookspec_has_a_test():
    assert set(HOOK_TESTS) == hookspec_names(), "add a test using the new hook's record and list it in HOOK_TESTS"
    for hook, tests in HOOK_TESTS.items():
        assert tests and all(t.__name__.startswith("test_") for t in tests), hook
