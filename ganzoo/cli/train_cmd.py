"""`ganzoo train NAME [options]`: options generated from each model's typed config.

`train` is a group whose sub-commands are the installed model names; each one's options are the core
training options (`TrainConfig`) followed by the model's own config fields. Building the command
imports only the model's torch-free config module; the engine is imported when the command runs.
"""

from __future__ import annotations

from typing import Any

import click

from ganzoo import configs
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.train_config import TrainConfig

# Options of `ganzoo train NAME` that are not config fields.
RUN_OPTIONS = {"out", "config_file", "set_items", "resume", "force", "nproc_per_node", "weights"}


def click_option(info: configs.FieldInfo, *, hidden: bool = False, shown_default: Any = configs.MISSING) -> click.Option:
    """The click option for one config field: no default (so precedence layers can tell it was not given).

    `shown_default` is the value the model will actually use (its own defaults applied) for the help text.
    """
    help_text = info.help
    default_text = configs.format_default(info.default if shown_default is configs.MISSING else shown_default)
    if info.is_bool:
        flag = info.name.replace("_", "-")
        return click.Option(
            [f"--{flag}/--no-{flag}", info.name],
            default=None,
            help=f"{help_text} [default: {default_text}]",
            hidden=hidden,
        )
    metavar = _metavar(info)
    click_type: Any = click.Choice([str(c) for c in info.choices]) if info.choices else click.STRING
    return click.Option(
        [info.flag, info.name],
        type=click_type,
        default=None,
        metavar=metavar,
        help=f"{help_text} [default: {default_text}]",
        hidden=hidden,
    )


def _metavar(info: configs.FieldInfo) -> str | None:
    if info.choices:
        return None
    base = {int: "INT", float: "FLOAT", str: "TEXT", bool: "BOOL"}.get(info.base)
    if info.is_sequence:
        item = {int: "INT", float: "FLOAT"}.get(info.item, "TEXT")
        return f"{item},..."
    return base or info.type_name.upper()


def _effective_defaults(spec, entry, *, data_defaults: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """What training and model options resolve to with nothing given (the model's own defaults applied).

    With `data_defaults`, the defaults the model sets for its default data set are included.
    """
    import dataclasses

    from ganzoo.run_config import resolve

    if not data_defaults:
        spec = dataclasses.replace(spec, data_defaults={})
    try:
        run = resolve(spec, catalogue_defaults=entry.defaults if entry else None)
    except GanzooError:
        return {}, {}
    return configs.to_dict(run.train), configs.to_dict(run.model)


def _run_params() -> list[click.Parameter]:
    return [
        click.Option(["--out", "out"], type=click.Path(file_okay=False), default=None,
                     help="Run folder [default: runs/NAME-DATA-HASH, the same for the same model options, seed, "
                          "batch size, data and subset]. An existing run there is resumed."),
        click.Option(["--config", "config_file"], type=click.Path(dir_okay=False), default=None,
                     help="YAML file of options (a run's config.yaml works)."),
        click.Option(["--set", "set_items"], multiple=True, metavar="KEY=VALUE",
                     help="Override any option, e.g. --set lr_g=1e-4 --set train.keep=5 (repeatable)."),
        click.Option(["--resume/--no-resume", "resume"], default=True,
                     help="Continue from OUT/checkpoints/last.safetensors when it exists [default: resume]."),
        click.Option(["--force", "force"], is_flag=True, default=False,
                     help="With --no-resume: start over in a non-empty run folder (its checkpoints are replaced)."),
        click.Option(["--nproc-per-node", "nproc_per_node"], type=click.IntRange(min=1), default=1,
                     help="Launch N processes on this machine with torch.distributed.run (DDP)."),
    ]


class ModelTrainCommand(click.Command):
    """`ganzoo train NAME` for one resolved model."""

    def __init__(self, ref: str, spec, config_cls: type) -> None:
        self.ref = ref
        self.spec = spec
        self.config_cls = config_cls
        train_infos = [i for i in configs.describe(TrainConfig) if i.cli]
        model_infos = [i for i in configs.describe(config_cls) if i.cli]
        clash = {i.name for i in train_infos} & {i.name for i in model_infos}
        clash |= {i.name for i in model_infos} & RUN_OPTIONS
        if clash:
            raise ConfigError(
                f"model {spec.name!r} ({spec.plugin}) has config fields that clash with training options: "
                + ", ".join(sorted(clash))
            )
        self.train_names = {i.name for i in train_infos}
        self.model_names = {i.name for i in model_infos}
        from ganzoo.registry import get_registry

        train_shown, model_shown = _effective_defaults(spec, get_registry().catalogue.models.get(spec.name))
        if not train_shown.get("data"):
            train_shown["data"] = spec.default_data

        def shown(values: dict[str, Any], info: configs.FieldInfo) -> Any:
            value = values.get(info.name, configs.MISSING)
            return tuple(value) if isinstance(value, list) else value

        params: list[click.Parameter] = [click_option(i, shown_default=shown(train_shown, i)) for i in train_infos]
        params += _run_params()
        params += [click_option(i, shown_default=shown(model_shown, i)) for i in model_infos]
        status = "" if spec.implemented else " (registered, not implemented yet)"
        super().__init__(
            name=ref,
            params=params,
            callback=None,
            help=f"{spec.summary}{status}\n\nModel options follow the training options. Defaults shown are "
            f"those used with the default data ({spec.default_data}); 'ganzoo info {spec.name}' shows the "
            "general defaults and those for other data sets.",
            short_help=spec.summary,
            context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
        )

    def invoke(self, ctx: click.Context) -> Any:
        explicit = {
            name: value
            for name, value in ctx.params.items()
            if value is not None and ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE
        }
        train_flags = {k: v for k, v in explicit.items() if k in self.train_names}
        model_flags = {k: v for k, v in explicit.items() if k in self.model_names}
        from ganzoo.registry import get_registry
        from ganzoo.run_config import resolve

        registry = get_registry()
        entry = registry.catalogue.models.get(self.spec.name)
        run_config = resolve(
            self.spec,
            catalogue_defaults=entry.defaults if entry else None,
            config_file=ctx.params.get("config_file"),
            set_items=ctx.params.get("set_items") or (),
            model_flags=model_flags,
            train_flags=train_flags,
        )
        if not self.spec.implemented:
            from ganzoo.errors import NotImplementedModelError

            raise NotImplementedModelError(
                f"model {self.spec.name!r} is registered by {self.spec.plugin} {self.spec.plugin_version} "
                "but not implemented in this version; nothing was trained"
            )
        options = {k: ctx.params.get(k) for k in RUN_OPTIONS if k in ctx.params}
        if options.get("nproc_per_node", 1) > 1:
            from ganzoo.engine.launch import launch_distributed

            return launch_distributed(ctx, options["nproc_per_node"])
        from ganzoo.engine.run import train_run

        return train_run(
            run_config,
            out=options.get("out"),
            resume=bool(options.get("resume", True)),
            force=bool(options.get("force")),
        )


class TrainGroup(click.Group):
    """Sub-commands are model names (and aliases, `name.tag`, `plugin:name`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        try:
            from ganzoo.registry import get_registry

            return [s.name for s in get_registry().model_specs()]
        except GanzooError:
            return []

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        from ganzoo.cli._output import warn_plugin_problems
        from ganzoo.registry import get_registry
        from ganzoo.run_config import load_config_class

        registry = get_registry()
        try:
            resolved = registry.resolve_model(name)
        except GanzooError:
            if ctx.resilient_parsing:
                return None
            warn_plugin_problems(registry)
            raise
        return ModelTrainCommand(name, resolved.spec, load_config_class(resolved.spec))

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = click.utils.make_str(args[0])
        command = self.get_command(ctx, name)
        if command is None:
            return super().resolve_command(ctx, args)
        return name, command, args[1:]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from ganzoo.registry import get_registry

        rows = [(s.name, s.summary) for s in get_registry().model_specs()]
        if rows:
            with formatter.section("Models"):
                formatter.write_dl(rows)


@click.group("train", cls=TrainGroup, invoke_without_command=False, no_args_is_help=True,
             context_settings={"help_option_names": ["-h", "--help"]})
def train_group() -> None:
    """Train a model: ganzoo train NAME [OPTIONS]. 'ganzoo train NAME --help' lists its options."""
