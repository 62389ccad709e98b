"""The `ganzoo` command line.

Sub-commands live in their own modules and are imported only when invoked, so `ganzoo --help`,
`list`, `info`, `plugins` and `train NAME --help` never import torch.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from ganzoo import __version__
from ganzoo.errors import GanzooError

COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("ganzoo.cli.registry_cmds:list_cmd", "List installed models (and, with --available, installable ones)."),
    "info": ("ganzoo.cli.registry_cmds:info_cmd", "Show a model's summary, paper, config fields and checkpoints."),
    "plugins": ("ganzoo.cli.registry_cmds:plugins_cmd", "List plugin distributions, their hooks and load errors."),
    "train": ("ganzoo.cli.train_cmd:train_group", "Train a model: ganzoo train NAME [options]."),
    "sample": ("ganzoo.cli.infer_cmds:sample_cmd", "Generate images from a checkpoint or name.tag."),
    "export": ("ganzoo.cli.infer_cmds:export_cmd", "Write a weights-only, self-describing safetensors file."),
    "translate": ("ganzoo.cli.infer_cmds:translate_cmd", "Translate images with an image-to-image model."),
    "stylize": ("ganzoo.cli.stylize_cmd:stylize_cmd", "Apply a style to a content image."),
    "download": ("ganzoo.cli.download_cmd:download_cmd", "Download pretrained weights (name.tag) into the cache."),
    "data": ("ganzoo.cli.data_cmds:data_group", "List, inspect and download data sets."),
    "eval": ("ganzoo.cli.eval_cmd:eval_cmd", "Compute metrics (FID, KID, ...) with a recorded protocol."),
    "bench": ("ganzoo.cli.bench_cmd:bench_cmd", "Measure training speed against the machine's matmul peak."),
    "report": ("ganzoo.cli.report_cmd:report_cmd", "Draw one picture of a run: losses, health, samples."),
    "plugin": ("ganzoo.cli.plugin_cmds:plugin_group", "Tools for plugin authors (scaffold a new plugin)."),
    "completion": ("ganzoo.cli.completion_cmd:completion_cmd", "Print the shell completion script."),
}


#: click 8.2+ raises this (a UsageError whose message is the help) for a group given no arguments.
_NO_ARGS_IS_HELP: type[Exception] | tuple = getattr(click.exceptions, "NoArgsIsHelpError", ())


def debug_enabled() -> bool:
    """True when --debug was given or GANZOO_DEBUG is set."""
    return os.environ.get("GANZOO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use; plugins may add more."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None:
            return command
        if name in self.lazy:
            from ganzoo._lazy import import_string

            command = import_string(self.lazy[name][0])
            self.add_command(command, name)
            return command
        return self._plugin_command(ctx, name)

    def _plugin_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name.startswith("-"):
            return None
        from ganzoo.registry import get_registry

        try:
            spec = get_registry().command(name)
        except GanzooError:
            if ctx.resilient_parsing:
                return None
            raise
        if spec is None:
            return None
        from ganzoo._lazy import import_string

        command = import_string(spec.target)
        if not isinstance(command, click.Command):
            raise GanzooError(f"plugin {spec.plugin}: command {name!r} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, self.lazy[name][1]) for name in sorted(self.lazy)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = click.utils.make_str(args[0])
        command = self.get_command(ctx, name)
        if command is None and not ctx.resilient_parsing:
            from ganzoo.registry import suggest

            raise click.UsageError(f"No such command {name!r}." + suggest(name, self.list_commands(ctx)), ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ganzoo", message="%(prog)s %(version)s")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.", expose_value=True, is_eager=True)
def cli(debug: bool) -> None:
    """ganzoo: every generative image model family in one command line.

    \b
      ganzoo list                               what is installed
      ganzoo train dcgan                        train on the built-in digits, no download
      ganzoo train cyclegan --data horse2zebra  download, verify and train
      ganzoo sample RUN/checkpoints/last.safetensors --n 64 --out grid.png
    """
    if debug:
        os.environ["GANZOO_DEBUG"] = "1"


def main(argv: list[str] | None = None, prog_name: str = "ganzoo") -> None:
    """Entry point: runs the CLI and turns user errors into one `Error: ...` line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    _require_working_folder()
    from ganzoo.threads import prepare_environment

    prepare_environment()  # OpenMP's wait policy is read when torch loads: before any command imports it
    if "--debug" in args:
        os.environ["GANZOO_DEBUG"] = "1"
    try:
        rv = cli.main(args=args, prog_name=prog_name, standalone_mode=False)
    except GanzooError as exc:
        _fail(exc, exc.message, exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except _NO_ARGS_IS_HELP as exc:  # `ganzoo train` alone: the help, as click shows it
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # click would print its usage line, a hint and a blank line first
        hint = f" See '{exc.ctx.command_path} --help'." if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug, not a user error: still one line unless --debug
        if type(exc).__name__ == "DecompressionBombError":  # PIL's guard, wherever an image is opened
            _fail(exc, f"an image is too large to decode safely ({exc}); shrink it first", 1)
        _fail(exc, f"{type(exc).__name__}: {exc} (this is a bug in ganzoo or a plugin; rerun with --debug)", 1)
    else:
        sys.exit(rv if isinstance(rv, int) else 0)


def _require_working_folder() -> None:
    """Stop with one line when the working folder was deleted: relative paths cannot resolve, and torch's
    bundled MKL aborts the process while it loads ("Intel oneMKL FATAL ERROR: Cannot load ...")."""
    try:
        os.getcwd()
    except FileNotFoundError:
        click.echo("Error: the current folder no longer exists; cd to one that exists and run the command again",
                   err=True)
        sys.exit(1)


def _fail(exc: BaseException, message: str, code: int) -> None:
    if debug_enabled():
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__)
    text = " ".join(str(message).split())
    click.echo(f"Error: {text}", err=True)
    sys.exit(code)
