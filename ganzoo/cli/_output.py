"""Shared output helpers: rich consoles, JSON, and the one-line plugin warning."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def stdout_console():
    """A rich console on stdout (imported lazily: rich is only needed when printing tables)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def print_json(data: Any) -> None:
    """Write `data` as indented JSON to stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def warn(message: str) -> None:
    """One warning line on stderr."""
    click.echo(message if message.startswith("Warning:") else f"Warning: {message}", err=True)


def warn_plugin_problems(registry) -> None:
    """A single stderr line when plugins failed to load or collide; details live in `ganzoo plugins`."""
    line = registry.plugins.warning_line()
    if line:
        warn(line)
    if registry.problems:
        first = registry.problems[0]
        more = f" (and {len(registry.problems) - 1} more; see 'ganzoo plugins')" if len(registry.problems) > 1 else ""
        warn(first + more)


def is_tty() -> bool:
    return sys.stdout.isatty()
