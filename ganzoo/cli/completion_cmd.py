"""`ganzoo completion SHELL`: print the shell completion script (commands, options, model names)."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion_cmd(shell: str) -> None:
    """Print the completion script for SHELL; e.g. `ganzoo completion bash >> ~/.bashrc`."""
    from click.shell_completion import get_completion_class

    from ganzoo.cli import cli

    completion_class = get_completion_class(shell)
    assert completion_class is not None
    script = completion_class(cli, {}, "ganzoo", "_GANZOO_COMPLETE").source()
    click.echo(script)


def complete_model_names(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Installed model names (and NAME.TAG of pretrained checkpoints) starting with `incomplete`."""
    from click.shell_completion import CompletionItem

    from ganzoo.registry import get_registry

    try:
        registry = get_registry()
    except Exception:  # completion must never fail loudly
        return []
    items = []
    for spec in registry.model_specs():
        for name in (spec.name, *(f"{spec.name}.{t}" for t in registry.checkpoint_tags(spec.name))):
            if name.startswith(incomplete):
                items.append(CompletionItem(name, help=spec.summary))
    return items
