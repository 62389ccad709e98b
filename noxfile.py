"""nox sessions: tests, fast, seeds, lint, registry, demo, docs, bench and scaffold.

Sessions that need torch run in the environment nox itself runs from (create it with the README's
test command, then `.venv/bin/nox -s NAME`), so the multi-gigabyte torch install happens once.
`lint` and `registry` build their own small virtualenvs.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "registry", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole test suite (pass -m 'not slow' for the quick subset)."""
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(venv_backend="none")
def fast(session: nox.Session) -> None:
    """The quick subset of the test suite: every test under about 10 s (`-m 'not slow'`)."""
    session.run("python", "-m", "pytest", "-m", "not slow", *session.posargs)


@nox.session(venv_backend="none")
def seeds(session: nox.Session) -> None:
    """The live default runs of seeds 1 and 2 of every digits demo, checked against the mode coverage their
    model cards record (`-m seeds`, which the whole suite leaves out: about 40 CPU minutes)."""
    session.run("python", "-m", "pytest", "-m", "seeds", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the core, the plugins, the tests and the scripts."""
    session.install("ruff>=0.5")
    session.run("ruff", "check", "ganzoo", "plugins", "tests", "benchmarks", "scripts", "noxfile.py", "conftest.py")


@nox.session
def registry(session: nox.Session) -> None:
    """Validate registry.yaml against its schema (no torch needed)."""
    session.install("PyYAML>=6", "click>=8.1", "pluggy>=1.3")
    session.run(
        "python", "-c",
        "import sys, yaml; sys.path.insert(0, '.');"
        "from ganzoo import catalogue;"
        "problems = catalogue.validate(yaml.safe_load(open('registry.yaml')));"
        "print('\\n'.join(problems) or 'registry.yaml: valid, %d models' % len(catalogue.load().models));"
        "sys.exit(1 if problems else 0)",
    )


@nox.session(venv_backend="none")
def demo(session: nox.Session) -> None:
    """The main job: train dcgan on the built-in digits and write a sample grid."""
    session.run("ganzoo", "train", "dcgan", *session.posargs)


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Regenerate docs/cli.md from the command line itself."""
    session.run("python", "-m", "ganzoo.cli.docgen", "--write", "docs/cli.md")


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Side-by-side speed of ganzoo against plain reference loops (prints the ratio table)."""
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session(venv_backend="none")
def scaffold(session: nox.Session) -> None:
    """Scaffold a plugin into a temporary folder, install it, list, train and test it."""
    session.run("python", "scripts/scaffold_check.py", *session.posargs)
