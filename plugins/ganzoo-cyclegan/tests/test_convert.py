"""The `cyclegan-reference` converter and the catalogue's official generators."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

import ganzoo_cyclegan.plugin as cyclegan_plugin
import numpy as np
import pytest
import torch
from ganzoo_cyclegan.convert import convert_state_dict, drop_instance_norm_stats
from PIL import Image

from ganzoo import catalogue
from ganzoo.catalogue import Catalogue, CatalogueCheckpoint, CatalogueModel
from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.inference import load
from ganzoo.errors import CheckpointError
from ganzoo.nn import ResnetGenerator
from ganzoo.pretrained import fetch_pretrained
from ganzoo.testing import isolated_registry, run_cli

OFFICIAL = {
    "apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite", "horse2zebra",
    "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh", "sat2map",
    "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label", "facades_label2photo",
    "iphone2dslr_flower",
}


def test_reference_layout_converts_without_renaming(reference):
    sd = reference.resnet_state(3, 8, 9, stale_stats=True)
    weights, config, dropped = convert_state_dict(OrderedDict(("module." + k, v) for k, v in sd.items()))
    assert config == {"generator": "resnet_9blocks", "ngf": 8, "channels": 3, "norm": "instance", "dropout": False}
    assert len(dropped) == 2 * (5 + 2 * 9) and all(k.endswith(("running_mean", "running_var")) for k in dropped)
    assert set(weights) == {k for k in sd if "running" not in k}
    G = ResnetGenerator(3, 3, 8, n_blocks=9)
    G.load_state_dict(weights, strict=True)
    x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
    with torch.no_grad():
        assert (G.eval()(x) - reference.resnet_forward(sd, x, 9)).abs().max().item() < 1e-5


def test_architecture_is_read_from_the_tensors(reference):
    _, config, _ = convert_state_dict(reference.resnet_state(1, 4, 6))
    assert config["generator"] == "resnet_6blocks" and config["channels"] == 1 and config["ngf"] == 4
    batch = ResnetGenerator(3, 3, 4, norm="batch", dropout=True, n_blocks=6).state_dict()
    kept, dropped = drop_instance_norm_stats(batch)
    assert not dropped and len(kept) == len(batch)  # batch-norm statistics are real state and stay
    _, config, _ = convert_state_dict(batch)
    assert config["norm"] == "batch" and config["dropout"] is True
    with pytest.raises(CheckpointError, match="not a reference generator"):
        convert_state_dict({"conv1.weight": torch.zeros(1)})
    bad = {k: v for k, v in reference.resnet_state(3, 4, 9).items() if ".conv_block." not in k or not k.startswith("model.14.")}
    with pytest.raises(CheckpointError):
        convert_state_dict(bad)


def test_catalogue_lists_the_official_generators():
    entry = catalogue.load().models["cyclegan"]
    assert set(entry.checkpoints) == OFFICIAL
    for tag, ck in entry.checkpoints.items():
        assert ck.url == f"http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{tag}.pth"
        assert ck.format == "cyclegan-reference" and ck.license and ck.source and ck.dataset
        # The authors publish no hashes or sizes: trust on first use, said in the record.
        assert ck.sha256 is None and ck.size is None and "first download" in ck.hash_note


def demo_catalogue(path: Path) -> Catalogue:
    ck = CatalogueCheckpoint(
        tag="demo", url=path.as_uri(), mirrors=(), sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        size=path.stat().st_size, license="BSD-2-Clause", source="a reference-layout state dict built by the test",
        dataset="horse2zebra", format="cyclegan-reference", hash_note="",
    )
    entry = CatalogueModel(name="cyclegan", plugin="ganzoo-cyclegan", task="image-to-image", summary="CycleGAN",
                           paper="", aliases=(), defaults={}, checkpoints={"demo": ck})
    return Catalogue(1, {"cyclegan": entry}, {})


def test_download_convert_translate(tmp_path, ganzoo_home, reference):
    sd = reference.resnet_state(3, 8, 9, seed=7, stale_stats=True)
    path = tmp_path / "demo.pth"
    torch.save(OrderedDict(sd), path)
    with isolated_registry(("ganzoo-cyclegan", cyclegan_plugin), catalogue=demo_catalogue(path)):
        converted = fetch_pretrained("cyclegan.demo", progress=False)
        header = read_header(converted)
        assert header["kind"] == "weights" and header["nets"] == ["G_A"]
        model_config = header["config"]["model"]
        assert (model_config["generator"], model_config["ngf"], model_config["channels"]) == ("resnet_9blocks", 8, 3)
        assert model_config["image_size"] == 256 and header["notes"]["dropped_keys"] == 46
        loaded = load("cyclegan.demo")
        x = torch.rand(2, 3, 30, 34, generator=torch.Generator().manual_seed(0)) * 2 - 1
        out = loaded.translate(x, direction="a2b")
        assert out.shape == x.shape  # any size: padded to a multiple of 4 and cropped back
        x32 = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
        assert (loaded.translate(x32) - reference.resnet_forward(sd, x32, 9)).abs().max().item() < 1e-5
        with pytest.raises(CheckpointError, match="no G_B generator"):
            loaded.translate(x32, direction="b2a")

    # The converted file is a SOURCE for `ganzoo translate` as users run it; file names are kept.
    inputs = tmp_path / "horses"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    for name in ("h1.jpg", "h2.png"):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(inputs / name)
    out_dir = tmp_path / "zebras"
    result = run_cli("translate", str(converted), "--input", str(inputs), "--size", "32", "--out", str(out_dir),
                     env={"GANZOO_HOME": str(ganzoo_home)})
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["h1.png", "h2.png"]
    assert Image.open(out_dir / "h1.png").size == (32, 32)
    refused = run_cli("translate", str(converted), "--input", str(inputs), "--direction", "b2a", "--out",
                      str(tmp_path / "x"), env={"GANZOO_HOME": str(ganzoo_home)})
    assert refused.returncode != 0 and "Error: this checkpoint holds no G_B generator" in refused.stderr
    assert "Traceback" not in refused.stderr
