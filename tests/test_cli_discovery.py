"""The discovery commands as users run them: list, info, plugins, train --help, errors, speed."""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ganzoo import __version__
from ganzoo.testing import install_entry_point, run_cli

FIRST_PARTY = {"dcgan", "cgan", "wgan", "wgan_gp", "cyclegan", "pix2pix", "progan", "stylegan2", "neural_style",
               "fast_style"}
PLUGINS = {"ganzoo-dcgan", "ganzoo-cgan", "ganzoo-wgan", "ganzoo-cyclegan", "ganzoo-pix2pix", "ganzoo-progan",
           "ganzoo-stylegan", "ganzoo-style"}


def test_version_and_help_and_module_entry_point_agree():
    module = run_cli("--version", check=True)
    assert module.stdout.strip() == f"ganzoo {__version__}"
    script = Path(sys.executable).with_name("ganzoo")
    console = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True)
    assert console.stdout == module.stdout
    help_text = run_cli("--help", check=True).stdout
    for command in ("list", "info", "plugins", "train", "sample", "data", "eval", "download"):
        assert f"  {command} " in help_text


def test_list_json_has_all_eight_models_with_plugin_and_version():
    result = run_cli("list", "--json", check=True)
    rows = json.loads(result.stdout)
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) >= FIRST_PARTY
    for name in FIRST_PARTY:
        row = by_name[name]
        assert row["plugin"].startswith("ganzoo-") and row["version"]
        assert row["installed"] is True
        assert set(row) >= {"name", "task", "plugin", "version", "summary", "checkpoints", "installed"}
    assert by_name["cyclegan"]["task"] == "image-to-image"
    assert result.stderr == ""


def test_list_filters_and_table():
    rows = json.loads(run_cli("list", "--task", "style-transfer", "--json", check=True).stdout)
    assert {r["name"] for r in rows} == {"neural_style", "fast_style"}
    rows = json.loads(run_cli("list", "wgan*", "--json", check=True).stdout)
    assert {r["name"] for r in rows} == {"wgan", "wgan_gp"}
    table = run_cli("list", check=True).stdout
    assert "cyclegan" in table and "ganzoo-cyclegan@" in table


def test_list_available_shows_uninstalled_catalogue_models_with_install_line():
    env = {"GANZOO_DISABLE_PLUGINS": "ganzoo-progan"}
    rows = json.loads(run_cli("list", "--available", "--json", env=env, check=True).stdout)
    progan = next(r for r in rows if r["name"] == "progan")
    assert progan["installed"] is False and progan["install"] == "pip install ganzoo-progan"
    plain = json.loads(run_cli("list", "--json", env=env, check=True).stdout)
    assert "progan" not in {r["name"] for r in plain}


def test_info_shows_config_fields():
    text = run_cli("info", "cyclegan", check=True).stdout
    for flag in ("--generator", "--lambda-identity", "--pool-size", "--n-epochs-decay"):
        assert flag in text
    data = json.loads(run_cli("info", "cyclegan", "--json", check=True).stdout)
    fields = {f["name"]: f for f in data["config"]}
    assert fields["pool_size"]["default"] == 50
    assert fields["lambda_a"]["default"] == 10.0
    assert fields["generator"]["type"].startswith("resnet_9blocks|")
    assert all(f["help"] for f in data["config"])


def test_plugins_lists_the_six_distributions():
    rows = json.loads(run_cli("plugins", "--json", check=True).stdout)
    names = {r["name"] for r in rows}
    assert names >= PLUGINS
    wgan = next(r for r in rows if r["name"] == "ganzoo-wgan")
    assert wgan["models"] == ["wgan", "wgan_gp"] and "ganzoo_register_models" in wgan["hooks"]


def test_train_help_shows_the_models_own_options():
    text = run_cli("train", "cyclegan", "--help", check=True).stdout
    assert "--lambda-identity" in text and "--steps" in text and "--batch-size" in text


def test_unknown_name_is_one_line_with_suggestions_and_exit_2():
    result = run_cli("train", "dcgn")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Error: unknown model 'dcgn'. Did you mean: dcgan, cgan? See 'ganzoo list'."
    ]
    result = run_cli("info", "cyclegam")
    assert result.returncode == 2 and "Did you mean: cyclegan" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, said", [
    (["train", "dcgan", "--precision", "fp8"],
     "Error: Invalid value for '--precision': 'fp8' is not one of 'auto', 'fp32', 'bf16', 'fp16'. "
     "See 'ganzoo train dcgan --help'."),
    (["train", "dcgan", "--stpes", "3"],
     "Error: No such option '--stpes'. (Did you mean one of: '--d-steps', '--set', '--steps'?) "
     "See 'ganzoo train dcgan --help'."),
    (["trian", "dcgan"], "Error: No such command 'trian'. Did you mean: train? See 'ganzoo --help'."),
    (["sample"], "Error: Missing argument 'SOURCE'. See 'ganzoo sample --help'."),
])
def test_a_usage_mistake_is_one_line_naming_the_help_to_read(args, said):
    """click would print its usage line, a "Try ..." line and a blank line before the error."""
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [said]


def test_a_group_alone_still_shows_its_help():
    result = run_cli("train")
    assert result.returncode in (0, 2)  # click 8.1 exits 0, 8.2 and later 2
    assert "Usage: ganzoo train" in result.stdout + result.stderr and "dcgan" in result.stdout + result.stderr


def test_catalogue_model_whose_plugin_is_missing_says_what_to_install():
    result = run_cli("train", "cyclegan", env={"GANZOO_DISABLE_PLUGINS": "ganzoo-cyclegan"})
    assert result.returncode == 2
    assert "pip install ganzoo-cyclegan" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_registered_but_unimplemented_model_refuses_to_train(tmp_path):
    env = install_entry_point(tmp_path, "acme-draft", "acme_draft", files={"acme_draft.py": textwrap.dedent("""
        from ganzoo.specs import ModelSpec
        def ganzoo_register_models():
            return [ModelSpec(name="draft", summary="A draft.", task="unconditional",
                              config="ganzoo.testing.toy_config:ToyConfig")]
    """)})
    result = run_cli("train", "draft", "--out", str(tmp_path / "run"), env=env)
    assert result.returncode == 2
    assert "not implemented" in result.stderr and "nothing was trained" in result.stderr
    assert not (tmp_path / "run").exists()


BROKEN = {
    "import": "raise ImportError('needs frobnicate')\n",
    "raising": "def ganzoo_register_models():\n    raise RuntimeError('hook exploded')\n",
    "signature": textwrap.dedent("""
        from ganzoo import hookimpl
        @hookimpl
        def ganzoo_register_models(unexpected_argument):
            return []
    """),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_broken_third_party_plugin_never_breaks_list(tmp_path, kind):
    env = install_entry_point(tmp_path, "broken-zoo", "broken_zoo", files={"broken_zoo.py": BROKEN[kind]})
    result = run_cli("list", "--json", env=env)
    assert result.returncode == 0
    assert {r["name"] for r in json.loads(result.stdout)} >= FIRST_PARTY
    warning = result.stderr.strip().splitlines()
    assert warning == ["Warning: plugin broken-zoo failed to load; see 'ganzoo plugins' for details."]
    details = json.loads(run_cli("plugins", "--json", env=env, check=True).stdout)
    record = next(r for r in details if r["name"] == "broken-zoo")
    assert record["errors"] and "tracebacks" not in record
    debug = json.loads(run_cli("--debug", "plugins", "--json", env=env, check=True).stdout)
    record = next(r for r in debug if r["name"] == "broken-zoo")
    assert "Traceback" in record["tracebacks"][0]


def test_discovery_commands_never_import_torch():
    code = textwrap.dedent("""
        import runpy, sys
        sys.argv = ["ganzoo"] + sys.argv[1:]
        try:
            runpy.run_module("ganzoo", run_name="__main__")
        except SystemExit as exit:
            code = exit.code
        heavy = sorted(m for m in ("torch", "torchvision", "timm", "numpy", "safetensors") if m in sys.modules)
        print("HEAVY=" + ",".join(heavy), file=sys.stderr)
    """)
    for args in (["--help"], ["list"], ["list", "--json", "--available"], ["info", "cyclegan"], ["plugins"],
                 ["train", "cyclegan", "--help"], ["train", "--help"], ["data", "list"]):
        result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                                env={**os.environ, "COLUMNS": "200"})
        assert "HEAVY=\n" in result.stderr, (args, result.stderr[-500:])


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


LIST_SECONDS = 0.35
"""The issue's bound for `ganzoo list` on this machine."""
SHARE_OF_TORCH_IMPORT = 0.25
"""The issue's "about a quarter of `python -c "import torch"`"."""
TORCH_IMPORT_SECONDS = LIST_SECONDS / SHARE_OF_TORCH_IMPORT
"""What that makes `import torch` on this machine at its usual speed (1.4 s)."""


@pytest.mark.slow  # a timing test (eleven timed processes)
def test_list_is_fast():
    """`ganzoo list` with all first-party plugins: under 0.35 s and a quarter of `import torch`.

    CPU time (robust to other processes), with bytecode cached as on a user's machine (this sandbox sets
    PYTHONDONTWRITEBYTECODE). The shared host's speed varies (up to half its usual speed has been seen),
    so `import torch` is timed side by side: when it takes longer than its usual 1.4 s, the 0.35 s bound
    stretches in proportion; the ratio to it is checked as it is.
    """
    script = str(Path(sys.executable).with_name("ganzoo"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([script, "list"], capture_output=True, check=True, env=env)  # warm caches, write bytecode
    cpu, wall, torch_cpu = [], [], []
    for i in range(7):
        before, start = _child_cpu(), time.perf_counter()
        subprocess.run([script, "list"], capture_output=True, check=True, env=env)
        wall.append(time.perf_counter() - start)
        cpu.append(_child_cpu() - before)
        if i % 2 == 0:  # alternating, so both see the same machine
            before = _child_cpu()
            subprocess.run([sys.executable, "-c", "import torch"], check=True, env=env)
            torch_cpu.append(_child_cpu() - before)
    listing, torch_import = statistics.median(cpu), statistics.median(torch_cpu)
    bound = LIST_SECONDS * max(1.0, torch_import / TORCH_IMPORT_SECONDS)
    print(f"ganzoo list: median cpu {listing:.3f}s wall {statistics.median(wall):.3f}s; "
          f"import torch: median cpu {torch_import:.3f}s; bound {bound:.3f}s")
    assert listing < bound
    assert listing < SHARE_OF_TORCH_IMPORT * torch_import


STATED_DEFAULTS_PLUGIN = '''
from ganzoo import hookimpl
from ganzoo.specs import ModelSpec


@hookimpl
def ganzoo_register_models():
    # batch_size 64 and seed 0 are also the core's defaults: stated all the same.
    return [ModelSpec(name="stated_toy", summary="The toy GAN, stating defaults.", task="unconditional",
                      config="ganzoo.testing.toy_config:ToyConfig", factory="ganzoo.testing.toy_model:build",
                      default_data="toy-squares", train_defaults={"steps": 7, "batch_size": 64, "seed": 0})]
'''


def test_info_shows_every_training_default_a_plugin_states(tmp_path):
    from ganzoo.train_config import TrainConfig

    assert (TrainConfig().batch_size, TrainConfig().seed) == (64, 0)  # what makes the case
    env = install_entry_point(tmp_path / "site", "stated-demo", "stated_demo", files={
        "stated_demo.py": STATED_DEFAULTS_PLUGIN})
    data = json.loads(run_cli("info", "stated_toy", "--json", env=env, check=True).stdout)
    assert data["train_defaults"] == {"steps": 7, "batch_size": 64, "seed": 0}
    text = run_cli("info", "stated_toy", env=env, check=True).stdout
    assert "Training defaults: steps=7, batch_size=64, seed=0" in " ".join(text.split())
