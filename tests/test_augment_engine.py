"""`--augment` through the engine: exact resume with ADA, p in metrics.jsonl, refusal by families without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.errors import ConfigError
from ganzoo.testing import check_resume, smoke_train

TINY = {"g_width": 8, "d_width": 8, "image_size": 16}
QUIET = {"diagnostics_every": 0, "sample_every": 1000, "log_every": 1, "batch_size": 16}


@pytest.mark.parametrize("augment", ["ada:p=0.5,kimg=0.1,interval=2", "diffaugment"])
def test_resume_with_augmentation_is_bit_exact(tmp_path: Path, augment: str) -> None:
    # kimg=0.1: p moves by 0.32 per adjustment, so the resumed run must restore a p that has moved.
    report = check_resume("dcgan", tmp_path, steps=6, split=3, overrides=TINY,
                          train_overrides={**QUIET, "augment": augment})
    assert report.exact and report.compared > 20
    state = load_checkpoint(tmp_path / "resumed/checkpoints/last.safetensors").state["augment"]
    assert state["kind"] == augment.partition(":")[0]
    if state["kind"] == "ada":
        rows = [json.loads(line) for line in (tmp_path / "resumed/metrics.jsonl").read_text().splitlines()]
        p_logged = [r["augment_p"] for r in rows if "augment_p" in r]
        assert len(p_logged) == 6 and p_logged[-1] == state["controller"]["p"]
        assert len(set(p_logged)) >= 2 and all(0 <= p <= 1 for p in p_logged)
        assert p_logged[2] != 0.5  # p had moved by the checkpoint the resumed run started from


def test_augmentation_changes_training_and_none_does_not(tmp_path: Path) -> None:
    def weights(name: str, augment: str) -> dict:
        smoke_train("dcgan", tmp_path / name, steps=2, overrides=TINY, train_overrides={**QUIET, "augment": augment})
        return load_checkpoint(tmp_path / name / "checkpoints/last.safetensors").nets["D"]

    plain, none, aug = weights("plain", "none"), weights("none", "none"), weights("aug", "diffaugment")
    assert all((plain[k] == none[k]).all() for k in plain)
    assert any(not (plain[k] == aug[k]).all() for k in plain if plain[k].is_floating_point())


def test_families_without_augmentation_refuse_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--augment applies to models") as info:
        smoke_train("pix2pix", tmp_path / "run", steps=1, train_overrides={**QUIET, "augment": "ada"},
                    overrides={"ngf": 4, "ndf": 4})
    assert "pix2pix" in str(info.value) and "\n" not in str(info.value)


def test_a_bad_augment_value_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown --augment 'flip'"):
        smoke_train("dcgan", tmp_path / "run", steps=1, overrides=TINY, train_overrides={**QUIET, "augment": "flip"})
