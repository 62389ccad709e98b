"""`ganzoo stylize` as users run it: both methods, metadata of how a picture was made, and the refusal."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from ganzoo_style.weights import file_sha256
from PIL import Image

from ganzoo.testing import run_cli, smoke_train


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """An empty ganzoo cache and torch hub cache, offline: no pretrained VGG is available."""
    return {"GANZOO_HOME": str(tmp_path / "home"), "TORCH_HOME": str(tmp_path / "torch"), "GANZOO_OFFLINE": "1",
            "OMP_NUM_THREADS": "1"}


def test_without_weights_refuses_in_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "x.png"
    got = run_cli("stylize", "--size", "32", "--steps", "2", "--out", str(out), env=env)
    assert got.returncode != 0
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: neural_style needs pretrained VGG19 weights")
    assert "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth" in lines[0]
    assert str(tmp_path / "home" / "weights" / "vgg19-dcbb9e9d.pth") in lines[0]
    assert "--random-features" in lines[0] and "Traceback" not in got.stderr
    assert not out.exists() and not list(tmp_path.glob(".x.png*"))


def test_neural_style_with_random_features_records_degraded(tmp_path: Path, env: dict[str, str]) -> None:
    out = tmp_path / "result.png"
    got = run_cli("stylize", "--random-features", "--size", "48", "--steps", "3", "--out", str(out), env=env)
    assert got.returncode == 0, got.stderr
    assert "degraded" in got.stderr
    with Image.open(out) as img:
        assert img.size == (48, 32)
        text = dict(img.text)
    assert text["ganzoo:method"] == "neural_style" and text["ganzoo:steps"] == "3"
    assert text["ganzoo:size"] == "48x32" and text["ganzoo:content_size"] == "640x427"
    assert "random features" in text["ganzoo:features"] and "random features" in text["ganzoo:degraded"]
    assert json.loads(text["ganzoo:config"])["random_features"] is True
    assert "photos" in text["ganzoo:content"] and "photos" in text["ganzoo:style"]
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary file left behind


def test_neural_style_with_a_weights_file_records_its_hash(tmp_path: Path, env: dict[str, str]) -> None:
    from torchvision.models import vgg

    # A file in torchvision's VGG19 layout holding the first convolutions (all these layers need).
    torch.manual_seed(0)
    features = vgg.make_layers(vgg.cfgs["E"])[:7]
    weights = tmp_path / "vgg19-first-layers.pth"
    torch.save({f"features.{k}": v for k, v in features.state_dict().items()}, weights)
    content, style = tmp_path / "content.jpg", tmp_path / "style.png"
    g = torch.Generator().manual_seed(1)
    Image.fromarray((torch.rand(40, 30, 3, generator=g) * 255).to(torch.uint8).numpy()).save(content)
    Image.fromarray((torch.rand(20, 20, 3, generator=g) * 255).to(torch.uint8).numpy()).save(style)
    out = tmp_path / "result.jpg"
    run_dir = tmp_path / "run"
    args = ["stylize", "--content", str(content), "--style", str(style), "--weights", str(weights),
            "--size", "32", "--steps", "2", "--set", "content_layers=relu2_1",
            "--set", "style_layers=relu1_1,relu2_1", "--run-dir", str(run_dir), "--out", str(out)]
    got = run_cli(*args, env=env)
    assert got.returncode == 0, got.stderr
    with Image.open(out) as img:
        assert img.size == (24, 32)
        meta = json.loads(img.info["comment"])
        assert json.loads(img.getexif()[0x010E]) == meta
    assert meta["ganzoo:feature_weights_sha256"] == file_sha256(weights)
    assert str(weights) in meta["ganzoo:features"] and "ganzoo:degraded" not in meta
    assert meta["ganzoo:style"] == str(style) and meta["ganzoo:style_sizes"] == "20x20"
    assert (run_dir / "checkpoints" / "last.safetensors").exists()
    # Rerunning with more steps resumes the kept run folder.
    got = run_cli(*[a if a != "2" else "4" for a in args], env=env)
    assert got.returncode == 0, got.stderr
    assert "Resuming neural_style from step 2" in got.stderr
    with Image.open(out) as img:
        assert json.loads(img.info["comment"])["ganzoo:steps"] == "4"


def test_fast_style_checkpoint_is_one_forward_pass(tmp_path: Path, env: dict[str, str]) -> None:
    from ganzoo.engine.inference import load

    result = smoke_train("fast_style", tmp_path / "fs", steps=2, overrides={"random_features": True, "image_size": 32},
                         train_overrides={"batch_size": 2})
    content = tmp_path / "content.png"
    g = torch.Generator().manual_seed(2)
    Image.fromarray((torch.rand(30, 45, 3, generator=g) * 255).to(torch.uint8).numpy()).save(content)
    out = tmp_path / "styled.png"
    got = run_cli("stylize", "--style", str(tmp_path / "fs"), "--content", str(content), "--out", str(out), env=env)
    assert got.returncode == 0, got.stderr
    with Image.open(out) as img:
        assert img.size == (45, 30)
        text = dict(img.text)
        pixels = np.asarray(img, dtype=np.float32)
    assert text["ganzoo:method"] == "fast_style" and text["ganzoo:steps"] == "2"
    assert "random features" in text["ganzoo:degraded"]  # trained with random features: still degraded
    assert text["ganzoo:content_size"] == "45x30" and text["ganzoo:size"] == "45x30"
    loaded = load(str(result.last_checkpoint))
    with Image.open(content) as img:
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        expected = ((loaded.model.stylize(x, nets=loaded.nets)[0] + 1) * 127.5).round().permute(1, 2, 0).numpy()
    assert np.abs(pixels - expected).max() <= 1.0
    # Options of the optimisation make no sense with a trained model: one clear line.
    got = run_cli("stylize", "--style", str(tmp_path / "fs"), "--steps", "5", "--out", str(out), env=env)
    assert got.returncode != 0 and got.stderr.strip().startswith("Error: --steps applies to")
    got = run_cli("stylize", "--style", "fast_style", "--out", str(out), env=env)
    assert got.returncode != 0 and "fast_style.candy" in got.stderr


def test_a_decompression_bomb_is_refused_in_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    """200 million pixels in a PNG of a few kB: PIL's guard stops it, and the user reads one line."""
    huge = tmp_path / "huge.png"
    Image.new("1", (20000, 10000)).save(huge)
    out = tmp_path / "x.png"
    got = run_cli("stylize", "--style", str(huge), "--content", str(huge), "--random-features", "--size", "32",
                  "--steps", "2", "--out", str(out), env=env)
    assert got.returncode == 1
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: an image is too large to decode safely (")
    assert "200000000 pixels" in lines[0] and lines[0].endswith("shrink it first")
    assert not out.exists()
