"""fast_style: the transformation network, training, exact resume, and the published weights' conversion."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from ganzoo_style.convert import clean_state_dict, convert
from ganzoo_style.fast import TransformNet

from ganzoo.engine.inference import load
from ganzoo.testing import check_model_spec, check_resume, run_cli, smoke_train

TINY = {"random_features": True, "image_size": 32}

# The key layout of the PyTorch examples' fast_neural_style files (without the running statistics).
PUBLISHED_KEYS = (
    [f"{m}.conv2d.{p}" for m in ("conv1", "conv2", "conv3") for p in ("weight", "bias")]
    + [f"in{i}.{p}" for i in (1, 2, 3) for p in ("weight", "bias")]
    + [f"res{r}.{m}.{p}" for r in range(1, 6)
       for m in ("conv1.conv2d", "in1", "conv2.conv2d", "in2") for p in ("weight", "bias")]
    + [f"{m}.conv2d.{p}" for m in ("deconv1", "deconv2", "deconv3") for p in ("weight", "bias")]
    + [f"in{i}.{p}" for i in (4, 5) for p in ("weight", "bias")]
)
STALE = [f"{m}.{s}" for m in [f"in{i}" for i in range(1, 6)] + [f"res{r}.in{k}" for r in range(1, 6) for k in (1, 2)]
         for s in ("running_mean", "running_var")]


def published_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in the published layout, with the instance-norm statistics old PyTorch versions saved."""
    torch.manual_seed(seed)
    state = dict(TransformNet().state_dict())
    for key in list(state):
        if key.endswith(".weight") and (key.startswith("in") or ".in" in key):
            state[key] = 1.0 + 0.1 * torch.randn_like(state[key])
            prefix = key[: -len("weight")]
            state[prefix + "running_mean"] = torch.zeros_like(state[key])
            state[prefix + "running_var"] = torch.ones_like(state[key])
    return state


def test_conformance() -> None:
    spec = check_model_spec("fast_style", overrides={"random_features": True})
    assert "fast-neural-style-examples" in spec.converters


def test_network_has_the_published_layout_and_keeps_sizes() -> None:
    net = TransformNet()
    assert sorted(net.state_dict()) == sorted(PUBLISHED_KEYS)
    assert net.conv1.conv2d.weight.shape == (32, 3, 9, 9) and net.deconv3.conv2d.weight.shape == (3, 32, 9, 9)
    for h, w in [(32, 32), (37, 50), (64, 21)]:
        assert net(torch.rand(1, 3, h, w) * 255).shape == (1, 3, h, w)


def test_trains_a_few_steps_and_the_loss_falls(tmp_path: Path) -> None:
    result = smoke_train("fast_style", tmp_path / "run", steps=12, overrides={**TINY, "lr": 1e-2},
                         train_overrides={"batch_size": 2, "log_every": 3, "sample_every": 12})
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in records if "loss" in r]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]
    assert (tmp_path / "run" / "samples" / "step-000012.png").exists()
    loaded = load(str(result.last_checkpoint))
    assert loaded.checkpoint.meta["notes"]["method"] == "fast_style"
    assert "random features" in loaded.checkpoint.meta["notes"]["degraded"]
    x = torch.rand(1, 3, 30, 44) * 2 - 1
    y = loaded.model.stylize(x, nets=loaded.nets)
    assert y.shape == x.shape and y.min() >= -1 and y.max() <= 1
    # Previews show different crops of the one content photograph.
    from ganzoo.data import resolve_data
    from ganzoo.data.source import DataOptions

    inputs = loaded.model.preview_inputs(64, torch.Generator().manual_seed(0),
                                         resolve_data("photos", DataOptions(image_size=32)))
    assert inputs.shape == (4, 3, 32, 32) and not torch.equal(inputs[0], inputs[1])


def test_resume_is_exact(tmp_path: Path) -> None:
    report = check_resume("fast_style", tmp_path, steps=4, split=2, overrides=TINY, train_overrides={"batch_size": 2})
    assert report.exact and report.compared > 100


def test_converter_drops_running_statistics(tmp_path: Path) -> None:
    state = published_state_dict()
    kept, dropped = clean_state_dict(state)
    assert sorted(dropped) == sorted(STALE) and len(dropped) == 30
    assert sorted(kept) == sorted(PUBLISHED_KEYS)
    archive = tmp_path / "saved_models.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for tag in ("candy", "mosaic"):
            file = tmp_path / f"{tag}.pth"
            torch.save(published_state_dict(seed=1 if tag == "candy" else 2), file)
            zf.write(file, f"saved_models/{tag}.pth")

    class Entry:
        tag = "candy"

    converted = convert(archive, Entry())
    assert converted.notes["dropped_keys"] == 30
    net = TransformNet()
    net.load_state_dict(converted.nets["transform"], strict=True)
    expected = published_state_dict(seed=1)
    assert torch.equal(net.in3.weight, expected["in3.weight"])
    Entry.tag = "udnie"
    with pytest.raises(Exception, match=r"no single udnie\.pth"):
        convert(archive, Entry())


@pytest.mark.parametrize("zip_format", [True, False], ids=["torch>=1.6-zip", "legacy"])
def test_a_single_style_file_of_either_torch_format_converts(tmp_path: Path, zip_format: bool) -> None:
    single = tmp_path / "my_style.pth"
    torch.save(published_state_dict(seed=3), single, _use_new_zipfile_serialization=zip_format)
    assert zipfile.is_zipfile(single) == zip_format  # the new format is a zip, yet not the published archive

    class Entry:
        tag = "candy"  # the tag names a member of the published archive; a single file is that style

    converted = convert(single, Entry())
    net = TransformNet()
    net.load_state_dict(converted.nets["transform"], strict=True)
    assert torch.equal(net.in3.weight, published_state_dict(seed=3)["in3.weight"])


def test_the_published_archive_with_model_files_and_new_format_members(tmp_path: Path) -> None:
    archive = tmp_path / "saved_models.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for seed, name in ((1, "candy.model"), (2, "mosaic.pth")):
            file = tmp_path / name
            torch.save(published_state_dict(seed=seed), file)  # members in the zip format of torch >= 1.6
            zf.write(file, f"saved_models/{name}")

    class Entry:
        tag = "candy"

    converted = convert(archive, Entry())
    assert torch.equal(converted.nets["transform"]["in3.weight"], published_state_dict(seed=1)["in3.weight"])


def test_download_converts_and_stylize_uses_the_pretrained_style(tmp_path: Path) -> None:
    """`ganzoo download fast_style.candy` from a test-built archive, then `ganzoo stylize --style fast_style.candy`."""
    from PIL import Image

    state = published_state_dict(seed=5)
    pth = tmp_path / "candy.pth"
    torch.save(state, pth)
    archive = tmp_path / "saved_models.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(pth, "saved_models/candy.pth")
    env = {"GANZOO_HOME": str(tmp_path / "home"), "GANZOO_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    got = run_cli("download", "fast_style.candy", "--url", archive.as_uri(), env=env)
    assert got.returncode == 0, got.stderr
    content = tmp_path / "content.png"
    g = torch.Generator().manual_seed(0)
    Image.fromarray((torch.rand(36, 52, 3, generator=g) * 255).to(torch.uint8).numpy()).save(content)
    out = tmp_path / "candy.png"
    got = run_cli("stylize", "--style", "fast_style.candy", "--content", str(content), "--out", str(out), env=env)
    assert got.returncode == 0, got.stderr
    with Image.open(out) as img:
        assert img.size == (52, 36)
        text = dict(img.text)
        result = torch.from_numpy(__import__("numpy").asarray(img, dtype="float32").copy())
    assert text["ganzoo:method"] == "fast_style" and text["ganzoo:source"] == "fast_style.candy"
    assert text["ganzoo:converted_from"] == "fast-neural-style-examples"
    assert "ganzoo:degraded" not in text
    # The same forward pass in the published convention (RGB in [0, 255]) gives the same picture.
    net = TransformNet()
    net.load_state_dict(clean_state_dict(state)[0])
    with Image.open(content) as img:
        x = torch.from_numpy(__import__("numpy").asarray(img, dtype="float32").copy()).permute(2, 0, 1)[None]
    with torch.no_grad():
        expected = net(x).clamp(0, 255)[0].permute(1, 2, 0)
    assert (result - expected.round()).abs().max() <= 1.0


def test_resume_is_bit_exact_in_bf16_channels_last(tmp_path):
    """bf16 autocast, channels-last by default under it (what `--precision auto` picks on a CPU with bf16 units;
    emulated, so slower, elsewhere): trains, stays finite and resumes bit for bit."""
    report = check_resume("fast_style", tmp_path, steps=4, split=2, overrides=TINY,
                          train_overrides={"batch_size": 2, "precision": "bf16"})
    assert report.exact
