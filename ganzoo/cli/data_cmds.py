"""`ganzoo data list|info|download`: what data sets exist, what a reference holds, and fetching them.

`data list` is discovery: it never imports torch.
"""

from __future__ import annotations

from typing import Any

import click

from ganzoo.cli._output import print_json, stdout_console, warn_plugin_problems


def _registry():
    from ganzoo.registry import get_registry

    registry = get_registry()
    warn_plugin_problems(registry)
    return registry


def human_size(size: int | None) -> str:
    if not size:
        return ""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return ""  # pragma: no cover


def _specs(registry) -> list:
    seen: dict[tuple[str, str], Any] = {}
    for records in registry.datasets.claims.values():
        for spec in records:
            seen[(spec.plugin, spec.name)] = spec
    return sorted(seen.values(), key=lambda s: (s.scheme, s.name, s.plugin))


@click.group("data", context_settings={"help_option_names": ["-h", "--help"]})
def data_group() -> None:
    """List, inspect and download data sets (the values of --data)."""


@data_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(as_json: bool) -> None:
    """List built-in, downloadable and plugin-provided data sets, their size and whether they are cached."""
    from ganzoo.data.catalog import cache_state

    registry = _registry()
    rows = []
    for spec in _specs(registry):
        rows.append({
            "name": f"{spec.name}:ARG" if spec.scheme else spec.name,
            "kind": spec.kind,
            "plugin": spec.plugin,
            "summary": spec.summary,
            "size_bytes": spec.size_bytes,
            "cached": cache_state(spec),
            "scheme": spec.scheme,
            "urls": list(spec.urls),
            "sha256": spec.sha256,
            "counts": dict(spec.counts),
            "license": spec.license,
        })
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("name", "kind", "size", "cached", "summary"):
        table.add_column(column, overflow="fold")
    for row in rows:
        plugin = "" if row["plugin"] == "ganzoo-core" else f" [dim]({row['plugin']})[/dim]"
        table.add_row(row["name"], row["kind"], human_size(row["size_bytes"]), row["cached"],
                      row["summary"] + plugin)
    console = stdout_console()
    console.print(table)
    console.print("[dim]Also: --data PATH (a folder), --data a=PATH,b=PATH (two unpaired folders). "
                  "Files live under $GANZOO_HOME (see 'ganzoo data info').[/dim]")


def _split_sizes(dataset) -> dict[str, int]:
    if dataset is None:
        return {}
    sizes = {"examples": len(dataset)}
    for attr in ("a", "b"):
        part = getattr(dataset, attr, None)
        if part is not None and hasattr(part, "__len__"):
            sizes[attr] = len(part)
    return sizes


@data_group.command("info")
@click.argument("ref")
@click.option("--image-size", type=click.IntRange(min=1), default=None, help="Image size a model would ask for.")
@click.option("--channels", type=click.Choice(["1", "3"]), default=None, help="Channels a model would ask for.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_cmd(ref: str, image_size: int | None, channels: str | None, as_json: bool) -> None:
    """Resolve REF (a name, folder or a=PATH,b=PATH) and show its sizes, channels, classes and fingerprint."""
    from ganzoo.data import DataOptions, resolve_data
    from ganzoo.paths import data_dir

    _registry()
    options = DataOptions(image_size=image_size, channels=int(channels) if channels else None, preload=False)
    source = resolve_data(ref, options)
    data = source.info()
    data["train_split"] = _split_sizes(source.train)
    data["test_split"] = _split_sizes(source.test)
    data["test_fingerprint"] = source.extras.get("test_fingerprint", "")
    data["in_memory"] = source.in_memory
    data["cache_dir"] = str(data_dir())
    if as_json:
        print_json(data)
        return
    console = stdout_console()
    from rich.table import Table

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    table.add_row("ref", data["ref"])
    table.add_row("kind", data["kind"])
    table.add_row("description", data["description"])
    for split in ("train", "test"):
        sizes = data[f"{split}_split"]
        if sizes:
            extra = ", ".join(f"{k.upper()} {v}" for k, v in sizes.items() if k != "examples")
            table.add_row(split, f"{sizes['examples']} examples" + (f" ({extra})" if extra else ""))
    table.add_row("channels", str(data["channels"]))
    table.add_row("image size", str(data["image_size"] or "native"))
    if data["num_classes"]:
        table.add_row("classes", f"{data['num_classes']}: {', '.join(data['class_names'])}")
    table.add_row("fingerprint", data["fingerprint"] + (f" (test {data['test_fingerprint']})"
                                                        if data["test_fingerprint"] else ""))
    console.print(table)


@data_group.command("download")
@click.argument("name")
@click.option("--url", "urls", multiple=True, metavar="URL",
              help="Fetch from this URL instead of the published mirrors (repeatable); the published size "
                   "and sha256 are still checked.")
@click.option("--trust-hash-mismatch", is_flag=True,
              help="Keep a file whose size, sha256 or image counts differ from the published ones.")
def download_cmd(name: str, urls: tuple[str, ...], trust_hash_mismatch: bool) -> None:
    """Download, verify and extract the data set NAME into the cache (what first use would do)."""
    from ganzoo.data.catalog import BUILTIN, NAMED_LOADER, TORCHVISION_LOADER
    from ganzoo.errors import DataError

    registry = _registry()
    spec = registry.dataset(name)
    if spec.scheme:
        raise DataError(f"'{spec.name}' is a reference syntax ({spec.name}:PATH), not a data set to download")
    if spec.loader.startswith(BUILTIN + ":"):
        click.echo(f"{spec.name} is built in; nothing to download.")
        return
    if spec.loader == NAMED_LOADER:
        from ganzoo.data.named import ensure, read_marker

        root = ensure(spec, urls=list(urls) or None, trust_hash_mismatch=trust_hash_mismatch)
        counts = (read_marker(spec) or {}).get("counts", {})
        text = ", ".join(f"{k} {v}" for k, v in counts.items())
        click.echo(f"{spec.name} is ready in {root} ({text}).")
        return
    if urls or trust_hash_mismatch:
        raise DataError(f"--url and --trust-hash-mismatch apply to archives such as horse2zebra, not to {spec.name}")
    if spec.loader == TORCHVISION_LOADER:
        from ganzoo.data.torchvision_sets import fetch

        folder = fetch(spec.name)
        click.echo(f"{spec.name} is ready in {folder}.")
        return
    from ganzoo.data import DataOptions, resolve_data

    source = resolve_data(spec.name, DataOptions(preload=False))
    click.echo(f"{spec.name} is ready ({len(source.train)} training examples).")
