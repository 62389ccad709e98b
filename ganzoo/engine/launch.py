"""`ganzoo train ... --nproc-per-node N`: relaunch the same command under torch.distributed.run."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime

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
    args = strip_nproc(sys.argv[1:])
    if "--out" not in args and not any(a.startswith("--out=") for a in args):
        # Every process must agree on the run folder: choose it here.
        name = ctx.info_name or "run"
        args += ["--out", f"runs/{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
        "-m", "ganzoo", *args,
    ]
    click.echo(f"Launching {nproc} processes: {' '.join(command[2:])}", err=True)
    return subprocess.call(command)
