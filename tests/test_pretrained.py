"""Pretrained weights: download, verify, convert to a self-describing file, use as a SOURCE."""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from ganzoo.catalogue import Catalogue, CatalogueCheckpoint, CatalogueModel
from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.inference import load
from ganzoo.errors import CheckpointError, DownloadError
from ganzoo.pretrained import fetch_pretrained, load_torch_weights
from ganzoo.testing import isolated_registry, smoke_train, toy_plugin
from ganzoo.testing.toy_model import build


def toy_weights(tmp_path: Path, seed: int = 5) -> tuple[Path, dict]:
    from ganzoo.run_config import resolve

    run = resolve(replace(toy_plugin.TOY_MODEL, plugin="t"), model_flags={"channels": 1})
    torch.manual_seed(seed)
    model = build(run.model)
    sd = {"G": model.nets["G"].state_dict()}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "toy-demo.pth"
    torch.save(sd, path)
    return path, sd


def catalogue_with(path: Path, *, sha256: str | None, size: int | None) -> Catalogue:
    ck = CatalogueCheckpoint(
        tag="demo", url=path.as_uri(), mirrors=(), sha256=sha256, size=size, license="MIT",
        source="https://example.org/toy", dataset="toy-squares", format="torch-state-dict",
        hash_note="" if sha256 else "not published", config={"channels": 1},
    )
    entry = CatalogueModel(name="toy", plugin="ganzoo-toy", task="unconditional", summary="toy", paper="",
                           aliases=(), defaults={}, checkpoints={"demo": ck})
    return Catalogue(1, {"toy": entry}, {})


def test_download_convert_and_sample(tmp_path, ganzoo_home):
    path, sd = toy_weights(tmp_path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    cat = catalogue_with(path, sha256=digest, size=path.stat().st_size)
    with isolated_registry(("ganzoo-toy", toy_plugin), catalogue=cat):
        converted = fetch_pretrained("toy.demo", progress=False)
        assert converted == ganzoo_home / "weights" / "toy.demo.safetensors"
        header = read_header(converted)
        assert header["kind"] == "weights" and header["nets"] == ["G"]
        assert header["notes"]["source_sha256"] == digest and header["notes"]["license"] == "MIT"
        assert header["config"]["model"]["channels"] == 1
        loaded = load("toy.demo")
        for key, value in sd["G"].items():
            assert torch.equal(loaded.nets["G"].state_dict()[key], value)
        images = loaded.generate(4, seed=1)
        assert images.shape == (4, 1, 8, 8) and torch.equal(images, loaded.generate(4, seed=1))
        assert fetch_pretrained("toy.demo", progress=False) == converted  # cached


def test_hash_mismatch_leaves_nothing(tmp_path, ganzoo_home):
    path, _ = toy_weights(tmp_path)
    cat = catalogue_with(path, sha256="0" * 64, size=path.stat().st_size)
    with isolated_registry(("ganzoo-toy", toy_plugin), catalogue=cat):
        with pytest.raises(DownloadError, match="sha256"):
            fetch_pretrained("toy.demo", progress=False)
        assert not (ganzoo_home / "weights" / "toy.demo.safetensors").exists()
        leftovers = [p for p in (ganzoo_home / "weights").rglob("*") if p.is_file()]
        assert all(p.name.endswith(".json") for p in leftovers), leftovers


def test_unpublished_hash_is_recorded_on_first_use_and_enforced(tmp_path, ganzoo_home):
    path, _ = toy_weights(tmp_path)
    cat = catalogue_with(path, sha256=None, size=None)
    with isolated_registry(("ganzoo-toy", toy_plugin), catalogue=cat):
        fetch_pretrained("toy.demo", progress=False)
        for cached in (ganzoo_home / "weights").rglob("*.pth"):
            cached.unlink()
        (ganzoo_home / "weights" / "toy.demo.safetensors").unlink()
        path.write_bytes(path.read_bytes() + b"tampered")
        with pytest.raises(DownloadError):
            fetch_pretrained("toy.demo", progress=False)


def test_another_url_is_downloaded_converted_and_recorded_under_its_own_hash(tmp_path, ganzoo_home):
    from ganzoo.download import recorded_sha256

    first, _ = toy_weights(tmp_path / "one")
    second, second_sd = toy_weights(tmp_path / "two", seed=6)  # same file name, other weights
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (first, second)}
    cat = catalogue_with(first, sha256=None, size=None)
    with isolated_registry(("ganzoo-toy", toy_plugin), catalogue=cat):
        fetch_pretrained("toy.demo", progress=False)
        assert recorded_sha256(first.as_uri()) == digest[first]
        # `ganzoo download toy.demo --url URL2 --force`
        converted = fetch_pretrained("toy.demo", url=second.as_uri(), force=True, progress=False)
        notes = read_header(converted)["notes"]
        assert notes["source_url"] == second.as_uri() and notes["source_sha256"] == digest[second]
        weights = load("toy.demo").nets["G"].state_dict()
        assert all(torch.equal(weights[k], v) for k, v in second_sd["G"].items())
        assert recorded_sha256(second.as_uri()) == digest[second]
        assert recorded_sha256(first.as_uri()) == digest[first]
        originals = sorted((ganzoo_home / "weights" / "original").iterdir())
        assert len(originals) == 2  # one cached original per URL


class Evil:
    def __reduce__(self):
        return (os.system, ("echo owned > /dev/null",))


def test_pickled_code_is_never_executed(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"G": Evil()}, fh)
    with pytest.raises(CheckpointError, match="weights_only=True refused it"):
        load_torch_weights(path)


def test_name_without_tag_and_weights_only_resume_are_refused(tmp_path, toy_registry):
    from ganzoo.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="names no pretrained checkpoint"):
        fetch_pretrained("toy")
    from ganzoo.engine.inference import export_weights

    smoke_train("toy", tmp_path / "run", steps=2)
    other = tmp_path / "other" / "checkpoints"
    other.mkdir(parents=True)
    export_weights(str(tmp_path / "run/checkpoints/last.safetensors"), other / "last.safetensors")
    with pytest.raises(CheckpointError, match="holds weights only"):
        smoke_train("toy", tmp_path / "other", steps=4)
