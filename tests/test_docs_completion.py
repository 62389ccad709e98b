"""Shell completion, as docs/index.md describes it: scripts for bash/zsh/fish, commands, options, model names.

The completions are asked the way the shells ask them: `ganzoo` run with `_GANZOO_COMPLETE`,
`COMP_WORDS` and `COMP_CWORD` in its environment.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from ganzoo.testing import run_cli


def complete(words: str, shell: str = "bash", env: dict[str, str] | None = None) -> list[str]:
    """What the shell would offer for the last word of `words` (a trailing space: a new word)."""
    parts = words.split()
    cword = len(parts) if words.endswith(" ") else len(parts) - 1
    result = run_cli(env={"_GANZOO_COMPLETE": f"{shell}_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword),
                          **(env or {})})
    assert result.returncode == 0, result.stderr
    if shell == "bash":
        return [line.split(",", 1)[1] for line in result.stdout.splitlines() if line]
    lines = result.stdout.splitlines()
    return [lines[i + 1] for i in range(0, len(lines), 3)]  # zsh: type, value, help


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _ganzoo_completion ganzoo"),
    ("zsh", "#compdef ganzoo"),
    ("fish", "complete --no-files --command ganzoo"),
])
def test_completion_prints_a_script_for_each_shell(shell, marker):
    script = run_cli("completion", shell, check=True).stdout
    assert marker in script and "_GANZOO_COMPLETE" in script


def test_unknown_shell_is_a_usage_error():
    result = run_cli("completion", "powershell")
    assert result.returncode == 2 and "powershell" in result.stderr


def test_model_names_complete_after_train_and_info():
    assert complete("ganzoo train cy") == ["cyclegan"]
    assert complete("ganzoo info wg") == ["wgan", "wgan_gp"]
    assert set(complete("ganzoo train ")) >= {"dcgan", "cgan", "wgan", "wgan_gp", "cyclegan", "progan",
                                               "neural_style", "fast_style"}
    assert complete("ganzoo train cy", shell="zsh") == ["cyclegan"]


def test_commands_and_options_complete():
    assert complete("ganzoo tr") == ["train", "translate"]
    assert complete("ganzoo plugin ") == ["new"]
    assert complete("ganzoo train dcgan --ste") == ["--steps"]
    assert "--image-size" in complete("ganzoo train dcgan --im")


def test_plugin_models_complete(toy_env):
    assert complete("ganzoo train to", env=toy_env) == ["toy"]
    assert complete("ganzoo info to", env=toy_env) == ["toy"]


def test_checkpoint_tags_complete_as_name_dot_tag():
    from ganzoo.catalogue import Catalogue, CatalogueCheckpoint, CatalogueModel
    from ganzoo.cli.completion_cmd import complete_model_names
    from ganzoo.testing import isolated_registry, toy_plugin

    checkpoint = CatalogueCheckpoint(tag="squares", url="file:///nowhere/toy.safetensors", mirrors=(), sha256=None,
                                     size=None, license="CC0-1.0", source="a test", dataset="toy-squares",
                                     format="ganzoo", hash_note="test entry")
    entry = CatalogueModel(name="toy", plugin="ganzoo-toy", task="unconditional", summary="toy", paper="",
                           aliases=(), defaults={}, checkpoints={"squares": checkpoint})
    catalogue = Catalogue(schema_version=1, models={"toy": entry}, auxiliary={})
    with isolated_registry(("ganzoo-toy", toy_plugin), catalogue=catalogue):
        offered = [item.value for item in complete_model_names(None, None, "to")]
        assert offered == ["toy", "toy.squares"]
        assert [item.value for item in complete_model_names(None, None, "toy.")] == ["toy.squares"]


def test_completion_does_not_import_torch():
    code = (
        "import os, sys\n"
        "os.environ.update(_GANZOO_COMPLETE='bash_complete', COMP_WORDS='ganzoo train cy', COMP_CWORD='2')\n"
        "from ganzoo.cli import main\n"
        "try:\n    main([])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "plain,cyclegan"
    assert out.stderr.strip() == "False"
