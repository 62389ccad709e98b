"""Every figure the docs give for a model's default run is the code's: run length, and images per step.

A model's default budget lives in its plugin (`ModelSpec.train_defaults`, the defaults for its default
data set, `registry.yaml`; for cyclegan and progan the run length follows from the config through
`Model.total_steps_hint`). The generated block of each model card shows the stated values; the prose
around it, docs/index.md, docs/architecture.md and the READMEs restate them. This test finds those
restatements and compares them with what `ganzoo train NAME` would do:

- a sentence (or table row) about a default run: it says "default", "built-in demo", "budget",
  "with no options", "without options" or "in all", or holds a `ganzoo train NAME` command without
  `--steps`, `--epochs`, `--config` or `--set`. In it, "N steps", "N-step", "step N" must be the run
  length and "steps of N images", "batches of N" the batch size. The model is the one the sentence
  names with `ganzoo train NAME` or a caption prefix `NAME:`, else the card's own;
- a code block showing a catalogue model's `ModelSpec(name=..., train_defaults={...})` must show
  the plugin's `train_defaults`; one showing a model the docs define (the worked example of
  writing-plugins.md) is what that page's own claims are checked against.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

from ganzoo.registry import get_registry
from ganzoo.run_config import resolve

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([*(ROOT / "docs").rglob("*.md"), ROOT / "README.md", *(ROOT / "plugins").glob("*/README.md")])
GENERATED = re.compile(r"<!-- ganzoo:generated:start -->.*?<!-- ganzoo:generated:end -->", re.DOTALL)
DEFAULT_RUN = re.compile(r"default|built-in demo|budget|with no options|without options|\bin all\b", re.IGNORECASE)
TRAIN = re.compile(r"ganzoo train ([a-z][a-z0-9_]*)((?:[ \t]+[^\s#|`]+)*)")
LENGTH_FLAGS = ("--steps", "--epochs", "--config", "--set")
# "N steps" (not "epochs of N steps", a length per epoch) or "step N".
STEPS = re.compile(r"(?<!epochs of )(?<!epoch of )(?<![\d,])\b(\d+(?:,\d{3})*)(?:[ -]| L-BFGS )steps?\b|\bstep (\d+(?:,\d{3})*)\b")
BATCH = re.compile(r"\bsteps? of (\d+(?:,\d{3})*) images\b|\bbatches of (\d+(?:,\d{3})*)\b")
CAPTION = re.compile(r"^\W*([a-z][a-z0-9_]*): ")
SPEC = re.compile(r"ModelSpec\((.*?)\)\]?\s*$", re.DOTALL | re.MULTILINE)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def sentences(text: str) -> list[str]:
    """Prose sentences, table rows and code lines, whitespace collapsed, generated blocks left out."""
    out = []
    for block in re.split(r"\n\s*\n|\n(?=\|)|\n(?=```)", GENERATED.sub("", text)):
        if block.lstrip().startswith(("|", "```")):
            out += [" ".join(line.split()) for line in block.splitlines()]
            continue
        out += [" ".join(s.split()) for s in re.split(r"(?<=[.;])\s+(?=[A-Z(`*!\[])", block)]
    return [s for s in out if s]


@functools.cache
def default_run(name: str, data: str | None = None) -> tuple[int, int]:
    """(steps, batch size) of `ganzoo train NAME [--data DATA]` with nothing else given."""
    registry = get_registry()
    entry = registry.catalogue.models.get(name)
    spec = registry.resolve_model(f"{entry.plugin}:{name}" if entry else name).spec
    run = resolve(spec, catalogue_defaults=entry.defaults if entry else None,
                  train_flags={"data": data} if data else None)
    if run.train.steps is not None:
        return run.train.steps, run.train.batch_size
    import torch

    from ganzoo.engine.run import build_model, load_data
    from ganzoo.engine.trainer import Trainer

    run, source = load_data(run, spec)
    model = build_model(spec, run.model, training=True)
    trainer = Trainer(run, model, source, None, device=torch.device("cpu"), progress=False)
    return trainer.total_steps, run.train.batch_size


def page_models(text: str) -> dict[str, dict]:
    """`ModelSpec(...)` records shown in a page's code blocks: name -> train_defaults."""
    found = {}
    for match in SPEC.finditer(text):
        args = match.group(1)
        name = re.search(r"name=\"([a-z0-9_]+)\"", args)
        defaults = re.search(r"train_defaults=(\{[^}]*\})", args)
        if name and defaults:
            found[name.group(1)] = ast.literal_eval(defaults.group(1))
    return found


def claims(text: str, card: str | None = None) -> list[tuple[str, str, str | None, str, int]]:
    """(sentence, model, data, "steps"|"batch", figure) of every default-run figure in a page's text
    (`card`: the model whose card it is)."""
    out = []
    for sentence in sentences(text):
        commands = [(m.group(1), m.group(2)) for m in TRAIN.finditer(sentence)]
        if any(flag in options for _, options in commands for flag in LENGTH_FLAGS):
            continue  # a run of chosen length, not the default one
        if not commands and not DEFAULT_RUN.search(sentence):
            continue
        caption = CAPTION.match(sentence)
        model = commands[0][0] if commands else caption.group(1) if caption else card
        if model is None:
            continue
        data = re.search(r"--data[ =](\S+)", commands[0][1]).group(1) if commands and "--data" in commands[0][1] else None
        for match in STEPS.finditer(sentence):
            out.append((sentence, model, data, "steps", number(match.group(1) or match.group(2))))
        for match in BATCH.finditer(sentence):
            out.append((sentence, model, data, "batch", number(match.group(1) or match.group(2))))
    return out


def test_the_checker_finds_figures_of_default_runs():
    def found(text: str, card: str | None = None) -> list[tuple[str, str | None, str, int]]:
        return [claim[1:] for claim in claims(text, card)]

    assert found("ganzoo train dcgan --out runs/d  # not run: the default budget of 1500 steps\n") == [
        ("dcgan", None, "steps", 1500)]
    assert found("ganzoo train dcgan --steps 20 --out r  # a short run of the default demo, 20 steps\n") == []
    assert found("The built-in demo runs 2,500 steps of 32 images. A test ran 40 steps.", "dcgan") == [
        ("dcgan", None, "steps", 2500), ("dcgan", None, "batch", 32)]
    assert found("*cgan: one row per class after the built-in demo, 1200 steps*") == [("cgan", None, "steps", 1200)]
    assert found("Sample grid of the default run (seed 0, step 900):", "wgan") == [("wgan", None, "steps", 900)]
    assert found("`ganzoo train cyclegan --data horse2zebra` runs 200 epochs of 1,334 steps.") == []


@pytest.mark.parametrize("page", [p for p in PAGES if p.name != "cli.md"], ids=lambda p: p.relative_to(ROOT).as_posix())
def test_default_budgets_in_the_docs_are_the_code_s(page: Path):
    installed = set(get_registry().catalogue.models) | {spec.name for spec in get_registry().model_specs()}
    text = page.read_text(encoding="utf-8")
    own = page_models(text)
    wrong = []
    for sentence, model, data, kind, figure in claims(text, page.stem if page.parent.name == "models" else None):
        if model in own and model not in installed:
            steps, batch = own[model].get("steps"), own[model].get("batch_size")
        elif model in installed:
            steps, batch = default_run(model, data)
        else:
            continue
        expected = steps if kind == "steps" else batch
        if expected is not None and figure != expected:
            wrong.append(f"{model}: says {figure} {'steps' if kind == 'steps' else 'images per step'}, the code "
                         f"{expected}: {sentence[:160]}")
    assert not wrong, f"{page.relative_to(ROOT)}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_model_specs_shown_in_the_docs_are_the_plugins(page: Path):
    registry = get_registry()
    shown = page_models(page.read_text(encoding="utf-8"))
    wrong = []
    for name, defaults in shown.items():
        if name in registry.catalogue.models:
            actual = dict(registry.resolve_model(f"{registry.catalogue.models[name].plugin}:{name}").spec.train_defaults)
            if defaults != actual:
                wrong.append(f"{name}: shown train_defaults={defaults}, the plugin's {actual}")
    assert not wrong, f"{page.relative_to(ROOT)}:\n" + "\n".join(wrong)
