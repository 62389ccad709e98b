"""`ganzoo list`, `ganzoo info` and `ganzoo plugins`: what is installed and what it offers."""

from __future__ import annotations

import os
from typing import Any

import click

from ganzoo.cli._output import print_json, stdout_console, warn_plugin_problems
from ganzoo.specs import TASKS


def _complete(ctx, param, incomplete):
    from ganzoo.cli.completion_cmd import complete_model_names

    return complete_model_names(ctx, param, incomplete)


def _registry():
    from ganzoo.registry import get_registry

    return get_registry()


@click.command("list")
@click.argument("pattern", required=False)
@click.option("--task", type=click.Choice(TASKS), help="Only models of this task.")
@click.option("--pretrained", is_flag=True, help="Only models with pretrained checkpoints.")
@click.option("--available", is_flag=True, help="Also list catalogue models whose plugin is not installed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(pattern: str | None, task: str | None, pretrained: bool, available: bool, as_json: bool) -> None:
    """List installed models; PATTERN is a glob or substring of the name."""
    registry = _registry()
    warn_plugin_problems(registry)
    rows: list[dict[str, Any]] = []
    installed_names = set()
    for spec in registry.list_models(pattern, task, pretrained):
        installed_names.add(spec.name)
        rows.append(
            {
                "name": spec.name,
                "aliases": list(spec.aliases),
                "task": spec.task,
                "plugin": spec.plugin,
                "version": spec.plugin_version,
                "summary": spec.summary,
                "checkpoints": registry.checkpoint_tags(spec.name),
                "installed": True,
                "implemented": spec.implemented,
                "default_data": spec.default_data,
            }
        )
    if available:
        import fnmatch

        for entry in registry.catalogue.models.values():
            if entry.name in installed_names:
                continue
            if pattern and not (fnmatch.fnmatchcase(entry.name, pattern.lower()) or pattern.lower() in entry.name):
                continue
            if task and entry.task != task:
                continue
            if pretrained and not entry.checkpoints:
                continue
            rows.append(
                {
                    "name": entry.name,
                    "aliases": list(entry.aliases),
                    "task": entry.task,
                    "plugin": entry.plugin,
                    "version": None,
                    "summary": entry.summary,
                    "checkpoints": list(entry.checkpoints),
                    "installed": False,
                    "implemented": None,
                    "install": entry.install_line,
                }
            )
    rows.sort(key=lambda r: (not r["installed"], r["name"], r["plugin"]))
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    console = stdout_console()
    if not rows:
        console.print("No models match." if (pattern or task or pretrained) else "No models installed.")
        return
    fixed = {column: max([len(column)] + [len(_plain(r, column)) for r in rows]) for column in ("name", "task", "plugin")}
    # Narrow terminals: the checkpoint tags go under the summary instead of a column of their own.
    separate = console.width - sum(fixed.values()) - 2 * len(fixed) >= 60
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column, width in fixed.items():  # names and versions are never broken
        table.add_column(column, no_wrap=True, min_width=width)
    # Wrapped at spaces; a word wider than its column is cut with an ellipsis, never split.
    table.add_column("summary", overflow="ellipsis", ratio=2)
    if separate:
        table.add_column("checkpoints", overflow="ellipsis", ratio=1)
    for row in rows:
        plugin = f"{row['plugin']}@{row['version']}" if row["installed"] else f"[dim]{row['install']}[/dim]"
        summary = row["summary"] if row["implemented"] is not False else f"{row['summary']} [dim](not implemented yet)[/dim]"
        tags = ", ".join(row["checkpoints"][:4]) + (", ..." if len(row["checkpoints"]) > 4 else "")
        if separate:
            table.add_row(row["name"], row["task"], plugin, summary, tags)
        else:
            table.add_row(row["name"], row["task"], plugin, summary + (f"\n[dim]weights:[/dim] {tags}" if tags else ""))
    console.print(table)


def _plain(row: dict[str, Any], column: str) -> str:
    """The text of a never-wrapped cell of `ganzoo list`, without markup."""
    if column == "plugin":
        return f"{row['plugin']}@{row['version']}" if row["installed"] else str(row["install"])
    return str(row[column])


@click.command("info")
@click.argument("name", shell_complete=lambda c, p, i: _complete(c, p, i))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_cmd(name: str, as_json: bool) -> None:
    """Show a model's summary, paper, config fields and pretrained checkpoints."""
    from ganzoo import configs
    from ganzoo.run_config import load_config_class
    from ganzoo.train_config import TrainConfig

    registry = _registry()
    warn_plugin_problems(registry)
    resolved = registry.resolve_model(name)
    spec = resolved.spec
    cls = load_config_class(spec)
    fields = [f.to_json() for f in configs.describe(cls)]
    entry = registry.catalogue.models.get(spec.name)
    checkpoints = [ck.to_json() for ck in entry.checkpoints.values()] if entry else []
    from ganzoo.cli.train_cmd import _effective_defaults

    train_resolved, model_resolved = _effective_defaults(spec, entry, data_defaults=False)
    base = configs.to_dict(TrainConfig())
    # What the plugin (or registry.yaml) states is shown even when it equals the core's default.
    stated = {*spec.train_defaults, *(entry.defaults.get("train", {}) if entry else {})}
    train_defaults = {k: v for k, v in train_resolved.items() if k in stated or base.get(k) != v}
    for f in fields:
        if f["name"] in model_resolved:
            f["default"] = model_resolved[f["name"]]
    data = {
        "name": spec.name,
        "aliases": list(spec.aliases),
        "task": spec.task,
        "plugin": spec.plugin,
        "version": spec.plugin_version,
        "summary": spec.summary,
        "paper": spec.paper or (entry.paper if entry else ""),
        "implemented": spec.implemented,
        "default_data": spec.default_data,
        "config": fields,
        "train_defaults": configs.to_jsonable(train_defaults),
        "data_defaults": configs.to_jsonable(dict(spec.data_defaults)),
        "checkpoints": checkpoints,
    }
    if as_json:
        print_json(data)
        return
    from rich.table import Table

    console = stdout_console()
    console.print(f"[bold]{spec.name}[/bold]  ({spec.task}, {spec.plugin}@{spec.plugin_version})")
    console.print(spec.summary)
    if data["paper"]:
        console.print(f"Paper: {data['paper']}")
    console.print(f"Default data: {spec.default_data}")
    if not spec.implemented:
        console.print("[yellow]Registered but not implemented yet: 'ganzoo train' refuses it.[/yellow]")
    table = Table(title="Config (ganzoo train options)", box=None, header_style="bold", title_justify="left")
    for column in ("option", "type", "default", "help"):
        table.add_column(column, overflow="fold")
    for f in fields:
        table.add_row("--" + f["name"].replace("_", "-"), f["type"], configs.format_default(
            tuple(f["default"]) if isinstance(f["default"], list) else f["default"]), f["help"])
    console.print(table)
    if train_defaults:
        console.print("Training defaults: " + ", ".join(f"{k}={v}" for k, v in train_defaults.items()))
    for ref, sections in spec.data_defaults.items():
        values = {**sections.get("model", {}), **sections.get("train", {})}
        console.print(f"With --data {ref}: " + ", ".join(f"{k}={v}" for k, v in values.items()))
    if checkpoints:
        ck_table = Table(title="Pretrained checkpoints", box=None, header_style="bold", title_justify="left")
        for column in ("name", "dataset", "license", "sha256"):
            ck_table.add_column(column, overflow="fold")
        for ck in checkpoints:
            ck_table.add_row(f"{spec.name}.{ck['tag']}", ck["dataset"], ck["license"],
                             (ck["sha256"] or "unpublished")[:16])
        console.print(ck_table)


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--all", "show_all", is_flag=True, help="Include the built-in core plugin.")
def plugins_cmd(as_json: bool, show_all: bool) -> None:
    """List plugin distributions: version, models, hooks and load errors (tracebacks with --debug)."""
    from ganzoo.cli import debug_enabled

    registry = _registry()
    debug = debug_enabled()
    models_by_plugin: dict[str, list[str]] = {}
    for spec in registry.model_specs():
        models_by_plugin.setdefault(spec.plugin, []).append(spec.name)
    rows = []
    for record in registry.plugins.records.values():
        if record.builtin and not show_all:
            continue
        data = record.to_json(with_tracebacks=debug)
        data["models"] = sorted(models_by_plugin.get(record.name, []))
        data["problems"] = [p for p in registry.problems if record.name in p]
        rows.append(data)
    rows.sort(key=lambda r: r["name"])
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    console = stdout_console()
    if not rows:
        console.print("No plugins installed." + _switch_note())
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("plugin", "version", "models", "hooks", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        if row["skipped"]:
            status = f"[dim]skipped: {row['skipped']}[/dim]"
        elif row["errors"]:
            status = "[red]" + "; ".join(row["errors"]) + "[/red]"
        else:
            status = "[green]ok[/green]"
        if row["problems"]:
            status += " [yellow]" + "; ".join(row["problems"]) + "[/yellow]"
        hooks = ", ".join(h.removeprefix("ganzoo_") for h in row["hooks"])
        table.add_row(row["name"], row["version"], ", ".join(row["models"]), hooks, status)
    console.print(table)
    if debug:
        for row in rows:
            for tb in row.get("tracebacks", []):
                console.print(f"[bold]{row['name']}[/bold]", markup=True)
                console.print(tb, markup=False, highlight=False)
    note = _switch_note()
    if note:
        console.print(note.strip())


def _switch_note() -> str:
    notes = [f"{k}={os.environ[k]!r}" for k in ("GANZOO_LOAD_PLUGINS", "GANZOO_DISABLE_PLUGINS") if k in os.environ]
    return (" (" + ", ".join(notes) + ")") if notes else ""
