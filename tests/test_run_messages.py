"""What `ganzoo train` says: the run folder at the start, the finished-run message, the `next` hint."""

from __future__ import annotations

import shlex
from pathlib import Path

import click
import pytest

from ganzoo.engine.run_messages import (
    NEXT_COMMANDS,
    command_with,
    finished_lines,
    next_command,
    summary_lines,
)
from ganzoo.specs import TASKS


@pytest.mark.parametrize("task", TASKS)
def test_the_next_command_is_one_the_cli_accepts_for_the_task(task, tmp_path):
    from ganzoo.cli import cli

    ckpt = tmp_path / "my runs" / "checkpoints" / "last.safetensors"  # a space: the path must be quoted
    words = shlex.split(next_command(task, ckpt))
    assert words[0] == "ganzoo" and str(ckpt) in words
    expected = {"image-to-image": "translate", "style-transfer": "stylize"}.get(task, "sample")
    assert words[1] == expected
    command = cli.get_command(click.Context(cli), words[1])
    command.make_context(words[1], words[2:])  # parses: every option exists, nothing required is missing


def test_every_task_has_a_next_command():
    assert set(NEXT_COMMANDS) == set(TASKS)


def test_the_image_to_image_models_get_translate_and_style_models_stylize():
    from ganzoo.registry import get_registry

    registry = get_registry()
    for name, command in [("cyclegan", "translate"), ("pix2pix", "translate"), ("fast_style", "stylize"),
                          ("neural_style", "stylize"), ("dcgan", "sample"), ("cgan", "sample")]:
        task = registry.resolve_model(name).spec.task
        assert next_command(task, "c.safetensors").split()[1] == command, name


def test_a_command_is_rebuilt_with_a_new_option_value():
    argv = ["train", "dcgan", "--steps", "300", "--data", "my photos", "--steps=5"]
    assert command_with(argv, "--steps", 600) == "ganzoo train dcgan --data 'my photos' --steps 600"
    assert command_with(["train", "dcgan"], "--epochs", 4) == "ganzoo train dcgan --epochs 4"
    assert command_with(["train", "dcgan"], "--no-resume", None) == "ganzoo train dcgan --no-resume"
    assert command_with(["sample", "x"], "--steps", 1) is None


def test_a_finished_run_says_how_to_train_longer_or_start_over(tmp_path):
    lines = finished_lines("dcgan", tmp_path / "runs/dcgan-digits-1234abcd", 300, 300, by_epochs=False, epochs=3,
                           checkpoint=tmp_path / "last.safetensors", task="unconditional",
                           argv=["train", "dcgan", "--steps", "300"])
    text = "\n".join(lines)
    assert "already finished: 300 of 300 steps" in lines[0]
    assert "ganzoo train dcgan --steps 600" in text
    assert "ganzoo train dcgan --steps 300 --no-resume --force" in text


def test_summary_lines_are_whole_commands(tmp_path):
    class Result:
        steps, seconds = 20, 3.0
        samples = [tmp_path / "run/samples/step-000020.png"]
        last_checkpoint = tmp_path / "run/checkpoints/last.safetensors"

    lines = summary_lines("cyclegan", tmp_path / "run", Result(), "image-to-image")
    hint = [line for line in lines if line.lstrip().startswith("next")]
    assert hint == [f"  next         ganzoo translate {tmp_path / 'run'} --input MY_IMAGES/ --out translated/"]
    Result.last_checkpoint = tmp_path / "run/checkpoints/step-000020.safetensors"  # not the folder's last one
    lines = summary_lines("cyclegan", tmp_path / "run", Result(), "image-to-image")
    assert f"  next         ganzoo translate {Result.last_checkpoint} --input MY_IMAGES/ --out translated/" in lines


def test_the_default_runs_next_command_fits_80_columns():
    """The README's first run: `ganzoo train dcgan` in runs/dcgan-digits-HASH."""
    folder = Path("runs/dcgan-digits-d931b311")

    class Result:
        steps, seconds, samples = 2500, 102.0, [folder / "samples/step-002500.png"]
        last_checkpoint = folder / "checkpoints/last.safetensors"

    (hint,) = [line for line in summary_lines("dcgan", folder, Result(), "unconditional") if "next" in line]
    assert hint == "  next         ganzoo sample runs/dcgan-digits-d931b311 --n 64 --out samples.png"
    assert len(hint) <= 80
