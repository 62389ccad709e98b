"""The README's install commands: the two opening ones need only Python and pip; the CPU-only route
installs PyTorch's CPU build first, and pip then keeps it.

PyPI's torch for Linux is the CUDA build (about 3 GB of wheels with NVIDIA's libraries). The CPU
route works because pip does not replace an installed distribution that satisfies a requirement: so
every PyTorch-index distribution the project requires must come from the CPU index in that first
command (a torchvision from PyPI would pull the CUDA torch back in), and every requirement on them
must accept a `+cpu` build.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Distributions PyTorch publishes on its own index in CPU and CUDA builds.
PYTORCH_INDEX_DISTRIBUTIONS = {"torch", "torchvision", "torchaudio"}
FENCE = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


def sh_blocks() -> list[list[str]]:
    """The README's ```sh blocks, as lists of commands (comments dropped)."""
    blocks = []
    for body in FENCE.findall(README.read_text(encoding="utf-8")):
        commands = [line.split(" #")[0].strip() for line in body.splitlines()]
        blocks.append([c for c in commands if c and not c.startswith("#")])
    return blocks


def requirements() -> list[Requirement]:
    """Every dependency of the core and the first-party plugins (pyproject.toml files)."""
    out = []
    for pyproject in [ROOT / "pyproject.toml", *sorted((ROOT / "plugins").glob("*/pyproject.toml"))]:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        out += [Requirement(r) for r in project.get("dependencies", [])]
        for extra in project.get("optional-dependencies", {}).values():
            out += [Requirement(r) for r in extra]
    return out


def test_the_two_opening_commands_need_only_python_and_pip():
    first, second = sh_blocks()[:2]
    assert first == ["python3 -m venv .venv && .venv/bin/pip install -r requirements.txt && .venv/bin/ganzoo train dcgan"]
    assert second == ["python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt && .venv/bin/python -m pytest"]
    for name in ("requirements.txt", "requirements-dev.txt"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "--index-url" not in text and "--extra-index-url" not in text and "download.pytorch.org" not in text


def test_the_cpu_route_installs_every_pytorch_index_distribution_first():
    routes = [block for block in sh_blocks() if any(CPU_INDEX in c for c in block)]
    assert len(routes) == 1, "one CPU-only install block in the README"
    commands = [shlex.split(c) for c in routes[0]]
    assert commands[0] == ["python3", "-m", "venv", ".venv"]
    cpu = next(i for i, c in enumerate(commands) if CPU_INDEX in c)
    later = next(i for i, c in enumerate(commands) if "-r" in c and "requirements.txt" in c)
    assert cpu < later, "PyTorch's CPU build must be installed before the requirements"
    cpu_command = commands[cpu]
    assert cpu_command[:2] == [".venv/bin/pip", "install"] and cpu_command[cpu_command.index(CPU_INDEX) - 1] == "--index-url"
    installed = {arg for arg in cpu_command[2:] if not arg.startswith("-") and arg != CPU_INDEX}
    required = {r.name for r in requirements()} & PYTORCH_INDEX_DISTRIBUTIONS
    assert required and required <= installed, f"the CPU command must install {sorted(required)}"


def test_a_cpu_build_satisfies_every_requirement_on_pytorch_index_distributions():
    import torch
    import torchvision

    local = {"torch": Version(torch.__version__).base_version, "torchvision": Version(torchvision.__version__).base_version}
    for requirement in requirements():
        if requirement.name in local:
            cpu_build = Version(f"{local[requirement.name]}+cpu")
            assert requirement.specifier.contains(cpu_build, prereleases=True), (
                f"{requirement} rejects {cpu_build}: pip would replace the CPU build")


def test_the_readme_gives_the_venv_size_of_both_builds():
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert re.search(r"venv of \d+(\.\d+)? GB \(measured: `du -sh \.venv`", text)
    assert re.search(r"the venv comes to about \d+(\.\d+)? GB \(estimated", text)
    assert "quoted" in text  # the CPU wheel's size is PyTorch's published figure, not measured here


def test_the_quick_subset_runs_in_the_test_venv_that_has_pytest():
    text = " ".join(README.read_text(encoding="utf-8").split())
    assert '`.venv/bin/python -m pytest -m "not slow"`' in text
    assert "The tests run in the test venv of the second command above" in text
    test_extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]["test"]
    assert any(Requirement(r).name == "pytest" for r in test_extra)
    dev = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    plain = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    assert re.search(r"^-e \.\[[^\]]*\btest\b", dev, flags=re.MULTILINE)  # the second command's venv has pytest
    assert not re.search(r"\btest\b", "".join(line for line in plain.splitlines() if not line.startswith("#")))
