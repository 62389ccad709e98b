"""Every first-party plugin's tests use the public testing kit for every model it provides.

For each distribution under plugins/, its tests must call `check_model_spec` and `check_resume`
(imported from `ganzoo.testing`), and name each of its catalogue models in those calls (directly,
or through a constant or a parametrize list in the same file). Static: the plugins' own tests do
the running.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ganzoo.catalogue import load

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())
KIT = ("check_model_spec", "check_resume")


def models_of(dist: str) -> list[str]:
    return sorted(name for name, entry in load().models.items() if entry.plugin == dist)


def strings(tree: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def kit_calls(tree: ast.AST) -> dict[str, list[ast.Call]]:
    calls: dict[str, list[ast.Call]] = {name: [] for name in KIT}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in calls:
                calls[name].append(node)
    return calls


def kit_imported(tree: ast.AST) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("ganzoo.testing")
               for n in ast.walk(tree))


@pytest.mark.parametrize("plugin", PLUGINS, ids=lambda p: p.name)
def test_plugin_tests_use_the_kit_for_every_model(plugin: Path):
    dist = plugin.name
    files = sorted((plugin / "tests").glob("test_*.py"))
    assert files, f"{dist} has no tests"
    problems = []
    for helper in KIT:
        for model in models_of(dist):
            covered = False
            for path in files:
                tree = ast.parse(path.read_text(encoding="utf-8"))
                calls = kit_calls(tree)[helper]
                if not calls or not kit_imported(tree):
                    continue
                # the model's name reaches the call as a literal argument or a constant/parameter of the file
                if any(model in strings(call) for call in calls) or model in strings(tree):
                    covered = True
                    break
            if not covered:
                problems.append(f"{dist}: no test calls ganzoo.testing.{helper} for {model!r}")
    assert not problems, "\n".join(problems)
