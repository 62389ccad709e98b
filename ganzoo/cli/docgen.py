"""Generate docs/cli.md from the command line itself, so the reference cannot drift from the code.

    python -m ganzoo.cli.docgen --write docs/cli.md     # regenerate
    python -m ganzoo.cli.docgen --check docs/cli.md     # exit 1 when the file is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ganzoo.cli import COMMANDS, cli

HEADER = """# Command-line reference

Generated from the command line by `python -m ganzoo.cli.docgen --write docs/cli.md` (a test checks
that this file matches the code). Every command accepts `-h/--help`. An error is one `Error: ...` line
on standard error and a non-zero exit status: 2 for a mistake on the command line or in a config (a
mistyped option or command also names the `--help` to read), 1 for files, data, downloads and
checkpoints, 3 when training stops on a non-finite loss, 130 on Ctrl-C and 143 on SIGTERM (training
checkpoints first); `ganzoo --debug COMMAND` adds the full traceback. Model-specific options of
`ganzoo train NAME` come from the model's typed config: see `ganzoo info NAME` and the model cards in
[models/](models/).

Shell completion (bash, zsh, fish) completes commands, options and model names:
`ganzoo completion bash >> ~/.bashrc` (or zsh/fish), then open a new shell.
"""


def _option_rows(command: click.Command, ctx: click.Context) -> list[tuple[str, str]]:
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        rows.append((names, " ".join(text.split())))
    return rows


def _help_markdown(text: str) -> str:
    """A command's help as Markdown: docstring indentation removed, click's \\b paragraphs as code blocks."""
    import inspect

    out = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):
        if paragraph.startswith("\b\n"):
            out.append("```\n" + inspect.cleandoc(paragraph[2:]) + "\n```")
        elif paragraph.strip():
            out.append(" ".join(paragraph.split()))
    return "\n\n".join(out)


def _usage(command: click.Command, ctx: click.Context) -> str:
    return " ".join(command.collect_usage_pieces(ctx))


def _section(path: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=path.split()[-1], parent=parent)
    lines = [f"## `{path}`", "", "```", f"{path} {_usage(command, ctx)}".rstrip(), "```", ""]
    help_text = _help_markdown(command.help or "")
    if help_text:
        lines += [help_text, ""]
    rows = _option_rows(command, ctx)
    if rows:
        lines += ["| option | description |", "| --- | --- |"]
        lines += [f"| `{names}` | {text.replace('|', '&#124;')} |" for names, text in rows]
        lines.append("")
    if isinstance(command, click.Group) and path.split()[-1] != "train":
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                lines += _section(f"{path} {name}", sub, ctx)
    return lines


def general_train_options() -> list[click.Parameter]:
    """The options `ganzoo train NAME` has for every model, with the core's defaults (no model's)."""
    from ganzoo import configs
    from ganzoo.cli.train_cmd import _run_params, click_option
    from ganzoo.train_config import TrainConfig

    params: list[click.Parameter] = [click_option(i) for i in configs.describe(TrainConfig) if i.cli]
    return params + _run_params()


def _train_section(root: click.Context) -> list[str]:
    group = cli.get_command(root, "train")
    ctx = click.Context(group, info_name="train", parent=root)
    lines = [
        "## `ganzoo train NAME`", "", "```", "ganzoo train NAME [OPTIONS] [MODEL OPTIONS]", "```", "",
        "Train model NAME (see `ganzoo list`). The options below exist for every model; each model adds its",
        "own (`ganzoo train NAME --help`, `ganzoo info NAME`). Precedence: defaults < the model's own",
        "defaults < registry.yaml < `--config FILE` < `--set key=value` < flags. An existing run in `--out`",
        "is resumed.", "",
        "The defaults shown are the core's. A model may set its own (most set `--steps` and `--batch-size`):",
        "`ganzoo train NAME --help` shows the values NAME uses, and its model card lists them.", "",
        "| option | description |", "| --- | --- |",
    ]
    command = click.Command("NAME", params=general_train_options())
    sub = click.Context(command, info_name="NAME", parent=ctx)
    for names, text in _option_rows(command, sub):
        lines.append(f"| `{names}` | {text.replace('|', '&#124;')} |")
    lines.append("")
    return lines


def generate() -> str:
    root = click.Context(cli, info_name="ganzoo")
    lines = [HEADER, *_section("ganzoo", _without_subcommands(cli), None)[:-1], ""]
    for name in sorted(COMMANDS):
        if name == "train":
            lines += _train_section(root)
            continue
        command = cli.get_command(root, name)
        lines += _section(f"ganzoo {name}", command, root)
    return "\n".join(lines).rstrip() + "\n"


def _without_subcommands(group: click.Group) -> click.Command:
    return click.Command(group.name, params=group.params, help=group.help)


@click.command()
@click.option("--write", type=click.Path(dir_okay=False), help="Write the reference to this file.")
@click.option("--check", type=click.Path(dir_okay=False), help="Exit 1 if this file differs from the code.")
def main(write: str | None, check: str | None) -> None:
    text = generate()
    if write:
        Path(write).write_text(text, encoding="utf-8")
    elif check:
        current = Path(check).read_text(encoding="utf-8") if Path(check).exists() else ""
        if current != text:
            click.echo(f"{check} is out of date: run python -m ganzoo.cli.docgen --write {check}", err=True)
            sys.exit(1)
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":
    main()
