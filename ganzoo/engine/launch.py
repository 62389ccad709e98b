"""`ganzoo train ... --nproc-per-node N`: relaunch the same command under torch.distributed.run."""

from __future__ import annotations

import subprocess
import sys

import click


def strip_nproc(args: list[str]) -> list[str]:
    """The command-line arguments without --nproc-per-node and its value."""
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--nproc-per-node":
            skip = True
            continue
        if arg.startswith("--nproc-per-node="):
            continue
        out.append(arg)
    return out


def launch_distributed(ctx: click.Context, nproc: int) -> int:
    """Run `nproc` copies of this training command with torch.distributed.run; return its exit code."""
    # Without --out, every process derives the same run folder from the options (and process 0's is used).
    args = strip_nproc(sys.argv[1:])
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
        "-m", "ganzoo", *args,
    ]
    click.echo(f"Launching {nproc} processes: {' '.join(command[2:])}", err=True)
    return subprocess.call(command)
