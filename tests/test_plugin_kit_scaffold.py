"""`ganzoo plugin new NAME`: name checks, the files it writes, and a scaffold that lists, trains and tests.

The full loop (install, list, train, the scaffold's own tests) runs here without touching the
environment: the scaffold is made visible to subprocesses with an entry-point record and PYTHONPATH.
`nox -s scaffold` (scripts/scaffold_check.py) does the same with a real `pip install`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from ganzoo.scaffold import TEMPLATE_SUFFIX, template_files, template_root
from ganzoo.testing import install_entry_point, run_cli

NAME = "kit_demo_gan"
DIST = "ganzoo-kit-demo-gan"
PACKAGE = "ganzoo_kit_demo_gan"


def scaffold(tmp_path: Path, name: str = NAME) -> Path:
    target = tmp_path / f"ganzoo-{name}"
    result = run_cli("plugin", "new", name, "--dir", str(target), check=True)
    assert f"Created ganzoo-{name.replace('_', '-')}" in result.stdout
    return target


def visible(project: Path, site: Path, dist: str = DIST, package: str = PACKAGE) -> dict[str, str]:
    """An environment in which `ganzoo` subprocesses see the scaffolded plugin as if pip-installed."""
    env = install_entry_point(site, dist, f"{package}.plugin", version="0.1.0")
    env["PYTHONPATH"] = str(project) + os.pathsep + env["PYTHONPATH"]
    env["GANZOO_HOME"] = str(site.parent / "ganzoo-home")
    return env


@pytest.mark.parametrize(
    ("name", "env", "message"),
    [
        ("Bad-Name", {}, "must be lower case letters, digits and single underscores"),
        ("2gan", {}, "must be lower case letters"),
        ("my__gan", {}, "single underscores"),
        ("class", {}, "is a Python keyword"),
        ("cyclegan", {}, "'cyclegan' is already the name of a model"),
        # a catalogue name stays refused while its plugin is not installed
        ("progan", {"GANZOO_DISABLE_PLUGINS": "ganzoo-progan"}, "'progan' is already the name of a model"),
        ("style", {}, "a distribution ganzoo-style"),  # first-party distribution and package
        ("core", {}, "a distribution ganzoo-core"),
    ],
)
def test_refuses_unusable_names_in_one_line(tmp_path, name, env, message):
    result = run_cli("plugin", "new", name, "--dir", str(tmp_path / "x"), env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "x").exists()


def test_refuses_existing_folders_but_fills_an_empty_one(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    result = run_cli("plugin", "new", NAME, "--dir", str(full))
    assert result.returncode == 2 and "already exists and is not empty" in result.stderr
    assert sorted(p.name for p in full.iterdir()) == ["notes.txt"]
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "is not a folder" in run_cli("plugin", "new", NAME, "--dir", str(a_file)).stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    run_cli("plugin", "new", NAME, "--dir", str(empty), check=True)
    assert (empty / "pyproject.toml").is_file() and (empty / PACKAGE / "model.py").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


def test_default_folder_is_ganzoo_name_in_the_current_folder(tmp_path):
    run_cli("plugin", "new", NAME, cwd=tmp_path, check=True)
    assert (tmp_path / DIST / "pyproject.toml").is_file()


def test_templates_are_data_not_modules():
    files = template_files()
    assert files and all(f.name.endswith(TEMPLATE_SUFFIX) for f in files)
    everything = [p for p in template_root().rglob("*") if p.is_file()]
    assert sorted(p.relative_to(template_root()) for p in everything) == files  # nothing a tool would pick up
    pyproject = tomllib.loads(Path(__file__).parents[1].joinpath("pyproject.toml").read_text())
    assert "scaffold/**/*" in pyproject["tool"]["setuptools"]["package-data"]["ganzoo"]


def test_scaffold_files_are_complete_and_lint_clean(tmp_path):
    project = scaffold(tmp_path)
    texts = {p.relative_to(project).as_posix(): p.read_text() for p in project.rglob("*") if p.is_file()}
    assert set(texts) == {
        "pyproject.toml", "README.md", ".gitignore", f"{PACKAGE}/__init__.py", f"{PACKAGE}/plugin.py",
        f"{PACKAGE}/config.py", f"{PACKAGE}/model.py", "tests/conftest.py", "tests/test_model.py",
    }
    assert not any("{{" in text or "}}" in text for text in texts.values())
    meta = tomllib.loads(texts["pyproject.toml"])
    assert meta["project"]["name"] == DIST
    assert meta["project"]["entry-points"]["ganzoo"] == {NAME: f"{PACKAGE}.plugin"}
    assert meta["project"]["dependencies"] == ["ganzoo-core>=0.1,<0.2"]
    assert "--strict-markers" in meta["tool"]["pytest"]["ini_options"]["addopts"]  # ganzoo's markers are registered
    tests = texts["tests/test_model.py"]
    for helper in ("check_model_spec", "smoke_train", "check_resume", "run_cli"):
        assert f"{helper}(" in tests
    for rel, text in texts.items():
        if rel.endswith(".py"):
            compile(text, rel, "exec")
    # From the plugin's own folder, as its author runs it: ganzoo is third-party there.
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
                           "--line-length", "120", "."], cwd=project, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_plugin_new_does_not_import_torch(tmp_path):
    code = (
        "import sys\nfrom ganzoo.cli import main\n"
        f"try:\n    main(['plugin', 'new', {NAME!r}, '--dir', {str(tmp_path / 'p')!r}])\n"
        "except SystemExit as exc:\n    assert exc.code == 0, exc.code\n"
        "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.slow
def test_scaffold_lists_trains_samples_and_passes_its_own_tests(tmp_path):
    project = scaffold(tmp_path)
    env = visible(project, tmp_path / "site")
    rows = json.loads(run_cli("list", "--json", env=env, check=True).stdout)
    row = next(r for r in rows if r["name"] == NAME)
    assert row["plugin"] == DIST and row["version"] == "0.1.0" and row["implemented"]
    info = json.loads(run_cli("info", NAME, "--json", env=env, check=True).stdout)
    assert {f["name"] for f in info["config"]} >= {"image_size", "latent_dim", "width", "loss", "lr"}
    assert info["default_data"] == "digits" and info["train_defaults"]["steps"] == 600
    assert "--latent-dim" in run_cli("train", NAME, "--help", env=env, check=True).stdout
    run = tmp_path / "run"
    run_cli("train", NAME, "--steps", "3", "--batch-size", "16", "--set", "width=16", "--out", str(run),
            env=env, check=True)
    assert "width: 16" in (run / "config.yaml").read_text()
    grid = tmp_path / "grid.png"
    run_cli("sample", str(run), "--n", "9", "--out", str(grid), env=env, check=True)
    assert grid.read_bytes().startswith(b"\x89PNG")
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project,
                           env={**os.environ, **env}, capture_output=True, text=True, timeout=1200)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-3000:]
    assert "4 passed" in tests.stdout


MARKED_TESTS = f'''
"""Tests using the markers of ganzoo's pytest plugin (`ganzoo.testing.fixtures`)."""

import pytest


@pytest.mark.slow
def test_marked_slow(request):
    assert request.node.get_closest_marker("slow") is not None


@pytest.mark.slow
@pytest.mark.background_cli("train", "{NAME}", "--steps", "2", "--batch-size", "8")
def test_background_run(background_cli):
    done = background_cli.done
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.wall > 0 and 0 < done.cpu < 600
    assert (background_cli.run / "checkpoints" / "last.safetensors").is_file()
    assert "wall" in background_cli.timings(600) and background_cli.budget(600) >= 600
'''


def pytest_in(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The scaffolded plugin's own pytest run, strict about markers, as its author would run it."""
    return subprocess.run([sys.executable, "-m", "pytest", "--strict-markers", "-W", "error::pytest.PytestUnknownMarkWarning",
                           "-p", "no:cacheprovider", "-q", *args], cwd=project, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=1200)


def test_a_plugin_s_own_strict_run_knows_ganzoo_s_markers(tmp_path):
    project = scaffold(tmp_path)
    (project / "tests" / "test_markers.py").write_text(MARKED_TESTS)
    env = visible(project, tmp_path / "site")
    collected = pytest_in(project, env, "--collect-only", "tests/test_markers.py")
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    assert "2 tests collected" in collected.stdout
    listed = pytest_in(project, env, "--markers")
    assert "@pytest.mark.slow:" in listed.stdout and "@pytest.mark.background_cli(*args, cpu_seconds=S):" in listed.stdout


@pytest.mark.slow
def test_a_plugin_s_own_slow_tests_get_their_background_run(tmp_path):
    project = scaffold(tmp_path)
    (project / "tests" / "test_markers.py").write_text(MARKED_TESTS)
    result = pytest_in(project, visible(project, tmp_path / "site"), "-m", "slow", "tests/test_markers.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout and "warning" not in result.stdout.lower()
