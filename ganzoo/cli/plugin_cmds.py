"""`ganzoo plugin ...`: tools for plugin authors (`ganzoo plugin new NAME` scaffolds a distribution)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("plugin", context_settings={"help_option_names": ["-h", "--help"]})
def plugin_group() -> None:
    """Tools for plugin authors. The contract is in docs/writing-plugins.md."""


def _taken_model_names() -> set[str]:
    """Names of installed models (and aliases) and of every catalogue model."""
    from ganzoo.registry import get_registry

    registry = get_registry()
    names = set(registry.models.claims)
    for entry in registry.catalogue.models.values():
        names.add(entry.name)
        names.update(entry.aliases)
    return names


@plugin_group.command("new")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Folder to create (missing or empty) [default: ./ganzoo-NAME].")
def new_cmd(name: str, directory: Path | None) -> None:
    """Scaffold a plugin distribution for a new model NAME.

    NAME is the model name (lower case letters, digits, underscores). The distribution
    `ganzoo-NAME` gets a pyproject.toml with the entry point, the plugin module, a typed config, a
    small GAN that trains on the built-in digits, a README and tests using ganzoo.testing.
    """
    from ganzoo.scaffold import Names, check_name, new_plugin

    names: Names = check_name(name, taken_models=_taken_model_names())
    target = directory if directory is not None else Path(names.dist)
    files = new_plugin(name, target, taken_models=())
    click.echo(f"Created {names.dist} (model {names.name!r}) in {target}/:")
    for path in files:
        click.echo(f"  {path.relative_to(target).as_posix()}")
    click.echo("Next:")
    for line in (f"cd {target}", "pip install -e .", f"ganzoo list {names.name}",
                 f"ganzoo train {names.name} --steps 200 --out runs/{names.name}", "pytest"):
        click.echo(f"  {line}")
