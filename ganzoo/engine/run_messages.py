"""What `ganzoo train` says about its run: where it is, that it is finished, and what to run next.

Commands and paths are printed whole on lines of their own (never wrapped, shell-quoted), so they
can be copied from a narrow terminal or a log file.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: The command that uses a trained checkpoint, by the model's task (`ModelSpec.task`).
NEXT_COMMANDS = {
    "unconditional": "ganzoo sample {ckpt} --n 64 --out samples.png",
    "conditional": "ganzoo sample {ckpt} --n 64 --out samples.png",
    "image-to-image": "ganzoo translate {ckpt} --input MY_IMAGES/ --out translated/",
    "style-transfer": "ganzoo stylize --style {ckpt} --out styled.png",
}


def say(line: str) -> None:
    """One line on stderr, as is (no wrapping, no markup)."""
    print(line, file=sys.stderr, flush=True)


def next_command(task: str, checkpoint: str | Path) -> str:
    """The command that uses `checkpoint` for a model of `task`."""
    template = NEXT_COMMANDS.get(task, NEXT_COMMANDS["unconditional"])
    return template.format(ckpt=shlex.quote(str(checkpoint)))


def next_source(folder: str | Path, checkpoint: str | Path) -> Path:
    """What the next command names: the run folder when it stands for `checkpoint` (its last one; shorter,
    so the hint fits an 80-column terminal), else the checkpoint itself."""
    return Path(folder) if Path(checkpoint) == Path(folder) / "checkpoints" / "last.safetensors" else Path(checkpoint)


def start_line(name: str, folder: Path, step: int | None) -> str:
    """`Training NAME in FOLDER (new run)` or `Resuming NAME from step N in FOLDER`."""
    if step is None:
        return f"Training {name} in {shlex.quote(str(folder))} (new run)"
    return f"Resuming {name} from step {step} in {shlex.quote(str(folder))}"


def command_with(argv: Sequence[str], option: str, value: int | None) -> str | None:
    """`ganzoo ARGV` with `option VALUE` replacing the option's value (or appended; a flag when VALUE is None).

    None when ARGV is not a `train` command.
    """
    args = list(argv)
    if not args or args[0] != "train":
        return None
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == option:
            skip = value is not None
            continue
        if arg.startswith(option + "="):
            continue
        out.append(arg)
    return "ganzoo " + shlex.join([*out, option] + ([] if value is None else [str(value)]))


def finished_lines(name: str, folder: Path, step: int, total: int, *, by_epochs: bool, epochs: int | None,
                   checkpoint: Path, task: str, argv: Sequence[str]) -> list[str]:
    """What to say when the same command is run again on a finished run."""
    done = f"{step} of {total} steps" if not by_epochs else f"{epochs} epochs ({step} steps)"
    lines = [f"{name} in {shlex.quote(str(folder))} is already finished: {done}; nothing to do."]
    option, more = ("--epochs", 2 * (epochs or 1)) if by_epochs else ("--steps", 2 * max(total, step))
    longer = command_with(argv, option, more)
    lines.append(f"  train longer   {longer or f'the same command with {option} {more}'}")
    over = command_with(argv, "--no-resume", None)
    over = f"{over} --force" if over else "the same command with --no-resume --force"
    lines.append(f"  start over     {over}  (replaces this run)")
    lines.append(f"  checkpoint     {shlex.quote(str(checkpoint))}")
    lines.append(f"  next           {next_command(task, next_source(folder, checkpoint))}")
    return lines


def summary_lines(name: str, folder: Path, result: Any, task: str) -> list[str]:
    """What to say at the end of a run."""
    lines = [f"Finished {name}: {result.steps} steps in {result.seconds:.0f} s",
             f"  run folder   {shlex.quote(str(folder))}"]
    if result.samples:
        lines.append(f"  samples      {shlex.quote(str(result.samples[-1]))}")
    if result.last_checkpoint:
        lines.append(f"  checkpoint   {shlex.quote(str(result.last_checkpoint))}")
        lines.append(f"  next         {next_command(task, next_source(folder, result.last_checkpoint))}")
    return lines
