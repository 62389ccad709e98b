"""registry.yaml: the shipped catalogue follows its schema, and the validator catches mistakes."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ganzoo import catalogue

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"dcgan", "cgan", "wgan", "wgan_gp", "cyclegan", "pix2pix", "progan", "stylegan2", "neural_style", "fast_style"}


def raw() -> dict:
    return yaml.safe_load(catalogue.default_path().read_text())


def test_shipped_catalogue_is_valid_and_lists_every_first_party_model():
    assert catalogue.validate(raw()) == []
    cat = catalogue.load()
    assert set(cat.models) == FIRST_PARTY
    for entry in cat.models.values():
        assert entry.plugin.startswith("ganzoo-")
        assert (ROOT / "plugins" / entry.plugin / "pyproject.toml").exists(), entry.plugin


def test_root_registry_yaml_is_the_shipped_file():
    assert (ROOT / "registry.yaml").resolve() == catalogue.default_path().resolve()


def test_every_checkpoint_states_provenance():
    cat = catalogue.load()
    for entry in cat.models.values():
        for ck in entry.checkpoints.values():
            assert ck.url.startswith(("http://", "https://"))
            assert ck.license and ck.source and ck.dataset
            assert ck.sha256 is None or len(ck.sha256) == 64
            if ck.sha256 is None:
                assert ck.hash_note, f"{entry.name}.{ck.tag} needs a hash_note"


GOOD_CHECKPOINT = {
    "url": "https://example.org/w.pth", "sha256": "a" * 64, "size": 10, "license": "MIT",
    "source": "https://example.org", "dataset": "x", "format": "ganzoo",
}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema_version must be 1"),
        (lambda d: d["models"]["m"].update(task="painting"), "task: must be one of"),
        (lambda d: d["models"]["m"].pop("plugin"), "plugin: required string"),
        (lambda d: d["models"]["m"]["checkpoints"]["t"].update(sha256="abc"), "full hash"),
        (lambda d: d["models"]["m"]["checkpoints"]["t"].update(sha256=None), "hash_note must say why"),
        (lambda d: d["models"]["m"]["checkpoints"]["t"].update(url="ftp://x"), "is not an http(s) or file URL"),
        (lambda d: d["models"]["m"]["checkpoints"]["t"].pop("license"), "missing license"),
        (lambda d: d["models"]["m"]["checkpoints"]["t"].update(format="pickle"), "format: must be one of"),
        (lambda d: d["models"]["m"].update(aliases=["other"]), "already belongs to"),
        (lambda d: d["models"]["m"].update(colour="red"), "unknown keys colour"),
    ],
)
def test_validator_catches(mutate, message):
    doc = {
        "schema_version": 1,
        "models": {
            "m": {"plugin": "ganzoo-m", "task": "unconditional", "summary": "s",
                  "checkpoints": {"t": dict(GOOD_CHECKPOINT)}},
            "other": {"plugin": "ganzoo-o", "task": "unconditional", "summary": "s"},
        },
    }
    assert catalogue.validate(copy.deepcopy(doc)) == []
    mutate(doc)
    problems = catalogue.validate(doc)
    assert any(message in p for p in problems), problems
