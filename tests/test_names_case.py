"""Model names are matched and suggested case-insensitively (`ganzoo train DCGAN`)."""

from __future__ import annotations

import json

from ganzoo.registry import suggest
from ganzoo.testing.kit import run_cli


def test_suggest_ignores_case_and_keeps_the_real_spelling():
    assert suggest("DCGN", ["dcgan", "cgan", "wgan_gp"]) == " Did you mean: dcgan, cgan?"
    assert suggest("Horse2Zebr", ["horse2zebra"]) == " Did you mean: horse2zebra?"


def test_upper_case_names_resolve(toy_registry):
    assert toy_registry.resolve_model("TOY").spec.name == "toy"
    assert toy_registry.resolve_model("ganzoo-toy:Toy").spec.name == "toy"


def test_cli_matches_and_suggests_across_case():
    info = run_cli("info", "DCGAN")
    assert info.returncode == 0, info.stderr
    assert info.stdout.startswith("dcgan")
    helped = run_cli("train", "DCGAN", "--help")
    assert helped.returncode == 0 and "--steps" in helped.stdout, helped.stderr
    typo = run_cli("train", "DCGN")
    assert typo.returncode != 0
    assert typo.stderr.strip() == "Error: unknown model 'DCGN'. Did you mean: dcgan, cgan? See 'ganzoo list'."


def test_list_patterns_ignore_case():
    listed = run_cli("list", "DCGAN", "--json", check=True)
    assert [row["name"] for row in json.loads(listed.stdout)] == ["dcgan"]
