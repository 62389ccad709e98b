"""The `pix2pix-reference` converter and the catalogue's official generators, down to `ganzoo translate NAME.TAG`."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from ganzoo_pix2pix.convert import convert_state_dict
from PIL import Image

from ganzoo import catalogue
from ganzoo.engine.checkpoint import read_header
from ganzoo.errors import CheckpointError
from ganzoo.nn import UnetGenerator
from ganzoo.testing import run_cli
from ganzoo.testing import translation_reference as reference

OFFICIAL = {"facades_label2photo", "sat2map", "map2sat", "edges2shoes", "edges2handbags", "day2night"}


def test_reference_layout_converts_without_renaming():
    # A file saved before PyTorch 0.4.1 (no num_batches_tracked) from DataParallel (module. prefix).
    sd = reference.unet_state(3, 3, 5, 4, norm="batch", seed=3)
    old = OrderedDict((f"module.{k}", v) for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    weights, config, counts = convert_state_dict(old)
    assert config == {"generator": "unet_32", "ngf": 4, "channels": 3, "norm": "batch", "dropout": True}
    assert counts == {"dropped_keys": 0, "added_keys": sum(k.endswith("num_batches_tracked") for k in sd)}
    G = UnetGenerator(3, 3, 5, 4, norm="batch", dropout=True)
    G.load_state_dict(weights, strict=True)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(4)) * 2 - 1
    with torch.no_grad():
        expected = reference.unet_forward(sd, x, 5, norm="batch", batch_statistics=False)
        assert (G.eval()(x) - expected).abs().max().item() < 1e-5


def test_architecture_is_read_from_the_tensors():
    _, config, _ = convert_state_dict(reference.unet_state(1, 1, 8, 2, norm="instance"))
    assert (config["generator"], config["channels"], config["norm"]) == ("unet_256", 1, "instance")
    _, config, counts = convert_state_dict(reference.resnet_state(3, 4, 9, stale_stats=True))
    assert config["generator"] == "resnet_9blocks" and config["dropout"] is False and counts["dropped_keys"] == 46
    with pytest.raises(CheckpointError, match="maps 3 to 1 channels"):
        convert_state_dict(reference.unet_state(3, 1, 5, 2))
    with pytest.raises(CheckpointError, match="not a reference generator"):
        convert_state_dict({"conv1.weight": torch.zeros(1)})


def test_catalogue_lists_the_official_generators():
    entry = catalogue.load().models["pix2pix"]
    assert set(entry.checkpoints) == OFFICIAL and entry.plugin == "ganzoo-pix2pix"
    for tag, ck in entry.checkpoints.items():
        assert ck.url == f"http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{tag}.pth"
        assert ck.format == "pix2pix-reference" and ck.license and ck.source and ck.dataset
        assert ck.sha256 is None and "first download" in ck.hash_note
        assert ck.config["image_size"] == 256 and ck.config["direction"] in ("AtoB", "BtoA")
    assert entry.checkpoints["sat2map"].size == 217_704_720  # as served (Content-Length in a download log)
    assert "does not list" in entry.checkpoints["edges2handbags"].hash_note
    directions = {tag: ck.config["direction"] for tag, ck in entry.checkpoints.items()}
    assert directions["facades_label2photo"] == directions["map2sat"] == directions["day2night"] == "BtoA"


def test_download_convert_translate_by_name(tmp_path, ganzoo_home):
    """`ganzoo download pix2pix.edges2shoes --url FILE` then `ganzoo translate pix2pix.edges2shoes`, as users run them."""
    sd = reference.unet_state(3, 3, 8, 2, norm="batch", seed=7)  # an 8-level U-Net as published, width 2
    path = tmp_path / "edges2shoes.pth"
    torch.save(OrderedDict(sd), path)  # as the reference saves a generator: a plain state dict
    env = {"GANZOO_HOME": str(ganzoo_home)}
    result = run_cli("download", "pix2pix.edges2shoes", "--url", path.as_uri(), env=env)
    assert result.returncode == 0, result.stderr
    converted = ganzoo_home / "weights" / "pix2pix.edges2shoes.safetensors"
    header = read_header(converted)
    assert header["kind"] == "weights" and header["nets"] == ["G"]
    model_config = header["config"]["model"]
    assert (model_config["generator"], model_config["ngf"], model_config["norm"]) == ("unet_256", 2, "batch")
    assert model_config["dropout"] is True and model_config["direction"] == "AtoB"
    assert header["notes"]["converted_from"] == "pix2pix-reference" and header["notes"]["dataset"] == "edges2shoes"

    edges = tmp_path / "edges"
    edges.mkdir()
    rng = np.random.default_rng(0)
    for name in ("shoe1.jpg", "shoe2.png"):
        Image.fromarray(rng.integers(0, 255, (60, 50, 3), dtype=np.uint8)).save(edges / name)
    shoes = tmp_path / "shoes"
    # --size 256: the model's image size (by default a fully convolutional generator keeps each image's size).
    result = run_cli("translate", "pix2pix.edges2shoes", "--input", str(edges), "--out", str(shoes),
                     "--mode", "eval", "--size", "256", env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in shoes.iterdir()) == ["shoe1.png", "shoe2.png"]
    out = np.asarray(Image.open(shoes / "shoe1.png").convert("RGB"), dtype=np.float32) / 127.5 - 1
    assert out.shape == (256, 256, 3)  # the model's image size
    # The same numbers as the reference network in evaluation mode, on the image as the CLI reads it.
    with Image.open(edges / "shoe1.jpg") as img:
        x = np.asarray(img.convert("RGB").resize((256, 256), Image.BICUBIC), dtype=np.float32) / 127.5 - 1.0
    x = torch.from_numpy(x).permute(2, 0, 1).unsqueeze(0)
    with torch.no_grad():
        expected = reference.unet_forward(sd, x, 8, norm="batch", batch_statistics=False).clamp(-1, 1)
    expected = expected[0].permute(1, 2, 0).numpy()
    assert np.abs(out - expected).max() <= 1.5 / 127.5  # PNG quantisation
