"""`ganzoo sample` and `ganzoo translate` as users run them (issues 16 and 17)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganzoo.testing.kit import run_cli


def make_run(name: str, folder: Path, **model: object) -> Path:
    """`folder/checkpoints/last.safetensors` holding untrained networks of model `name`; returns `folder`."""
    from ganzoo import configs
    from ganzoo.engine.checkpoint import save_checkpoint
    from ganzoo.engine.run import build_model
    from ganzoo.registry import get_registry
    from ganzoo.run_config import load_config_class, resolve

    spec = get_registry().resolve_model(name).spec
    fields = {f.name for f in configs.describe(load_config_class(spec))}
    extra = {k: v for k, v in {"num_classes": 10, "channels": 1, **model}.items() if k in fields}
    run = resolve(spec, extra_model=extra)
    built = build_model(spec, run.model, training=False)
    save_checkpoint(folder / "checkpoints" / "last.safetensors", kind="weights", name=spec.name, plugin=spec.plugin,
                    plugin_version=spec.plugin_version, config=run.to_dict(), step=3,
                    nets={n: net.state_dict() for n, net in built.nets.items()})
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {name: make_run(name, root / name) for name in ("dcgan", "cgan", "cyclegan", "pix2pix")}


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


# -- sample -----------------------------------------------------------------------------------------
def test_checkpoints_folder_works_like_the_run_folder(runs, tmp_path):
    run = runs["dcgan"]
    a = run_cli("sample", str(run), "--n", "4", "--out", str(tmp_path / "a.png"), check=True)
    b = run_cli("sample", str(run / "checkpoints"), "--n", "4", "--out", str(tmp_path / "b.png"), check=True)
    assert "Wrote a grid of 4 images" in a.stderr and "Wrote a grid of 4 images" in b.stderr
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))


def test_conditional_grid_gives_the_images_asked_for(runs, tmp_path):
    result = run_cli("sample", str(runs["cgan"]), "--n", "16", "--out", str(tmp_path / "g.png"), check=True)
    assert "Wrote a grid of 16 images" in result.stderr
    side = 32
    assert pixels(tmp_path / "g.png").shape[:2] == (4 * side + 5 * 2, 4 * side + 5 * 2)  # 4 x 4, 2 px padding
    run_cli("sample", str(runs["cgan"]), "--n", "20", "--out", str(tmp_path / "rows.png"), check=True)
    assert pixels(tmp_path / "rows.png").shape[:2] == (2 * side + 3 * 2, 10 * side + 11 * 2)  # a column per class
    one = run_cli("sample", str(runs["cgan"]), "--n", "1", "--out", str(tmp_path / "one"), check=True)
    assert "Wrote 1 image to" in one.stderr
    assert [p.name for p in (tmp_path / "one").iterdir()] == ["00000-label0.png"]
    folder = run_cli("sample", str(runs["cgan"]), "--n", "12", "--out", str(tmp_path / "many"), check=True)
    assert "Wrote 12 images" in folder.stderr
    labels = sorted(int(p.stem.split("label")[1]) for p in (tmp_path / "many").iterdir())
    assert labels == sorted([*range(10), 0, 1])


def test_task_errors_use_the_right_article_and_command(runs, tmp_path):
    sample = run_cli("sample", str(runs["cyclegan"]), "--out", str(tmp_path / "x.png"))
    assert sample.stderr.strip() == "Error: 'cyclegan' is an image-to-image model; use 'ganzoo translate'"
    translate = run_cli("translate", str(runs["dcgan"]), "--input", str(tmp_path), "--out", str(tmp_path / "t"))
    assert translate.stderr.strip() == ("Error: 'dcgan' is an unconditional model, not an image-to-image model; "
                                        "use 'ganzoo sample'")
    assert not (tmp_path / "t").exists()


def test_output_kind_follows_the_out_name(runs, tmp_path):
    jpg = run_cli("sample", str(runs["dcgan"]), "--n", "2", "--out", str(tmp_path / "s.jpg"))
    assert jpg.returncode != 0 and "use s.png for one grid" in jpg.stderr
    assert not (tmp_path / "s.jpg").exists()
    (tmp_path / "d.png").mkdir()
    taken = run_cli("sample", str(runs["dcgan"]), "--n", "2", "--out", str(tmp_path / "d.png"))
    assert taken.returncode != 0 and "is a folder" in taken.stderr
    (tmp_path / "file").write_text("x")
    clash = run_cli("sample", str(runs["dcgan"]), "--n", "2", "--out", str(tmp_path / "file"))
    assert clash.returncode != 0 and "is a file" in clash.stderr
    run_cli("sample", str(runs["dcgan"]), "--n", "2", "--out", str(tmp_path / "s.png"), check=True)
    assert (tmp_path / "s.png").is_file()


def test_sizes_beyond_memory_are_refused_before_allocating(runs, tmp_path):
    result = run_cli("sample", str(runs["dcgan"]), "--n", "1", "--size", "100000", "--out", str(tmp_path / "o"),
                     env={"GANZOO_MAX_MEMORY": "8G"})
    assert result.returncode != 0
    assert result.stderr.startswith("Error: --size 100000: one 100000x100000 image needs about 40.0 GB")
    assert not (tmp_path / "o").exists()
    grid = run_cli("sample", str(runs["dcgan"]), "--n", "100000000", "--out", str(tmp_path / "g.png"),
                   env={"GANZOO_MAX_MEMORY": "8G"})
    assert grid.returncode != 0 and "give --out a folder" in grid.stderr


def _peak_rss_mib(args: list[str], env: dict[str, str] | None = None) -> float:
    """Peak resident memory of `ganzoo ARGS` (a child of a fresh process, so nothing else counts)."""
    code = ("import resource, subprocess, sys\n"
            "r = subprocess.run([sys.executable, '-m', 'ganzoo', *sys.argv[1:]], capture_output=True, text=True)\n"
            "assert r.returncode == 0, r.stderr\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    return int(out.stdout.strip()) / 1024


@pytest.mark.slow
def test_many_images_stream_to_disk_in_bounded_memory(runs, tmp_path):
    run = str(runs["dcgan"])
    # 300 images at 512 x 512 are 900 MiB as float pictures: kept together they would show.
    few = _peak_rss_mib(["sample", run, "--n", "10", "--size", "512", "--batch-size", "10", "--out", str(tmp_path / "f")])
    many = _peak_rss_mib(["sample", run, "--n", "300", "--size", "512", "--batch-size", "10", "--out", str(tmp_path / "m")])
    assert len(list((tmp_path / "m").iterdir())) == 300
    assert many - few < 150, f"peak RSS {few:.0f} MiB for 10 images, {many:.0f} MiB for 300"


@pytest.mark.slow
def test_sample_reads_only_the_networks_it_uses(runs, tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    from ganzoo.engine.checkpoint import read_header

    source = runs["dcgan"] / "checkpoints" / "last.safetensors"
    raw_meta = {}
    from safetensors import safe_open

    with safe_open(str(source), framework="pt") as fh:
        raw_meta = dict(fh.metadata())
    tensors = load_file(str(source))
    tensors["net/D/extra_big"] = torch.ones(200 * 2**20 // 4)  # 200 MiB in a network sampling does not use
    big = tmp_path / "big.safetensors"
    save_file(tensors, str(big), metadata=raw_meta)
    read_header(big)  # still a valid ganzoo checkpoint
    small = _peak_rss_mib(["sample", str(source), "--n", "4", "--out", str(tmp_path / "a.png")])
    large = _peak_rss_mib(["sample", str(big), "--n", "4", "--out", str(tmp_path / "b.png")])
    assert np.array_equal(pixels(tmp_path / "a.png"), pixels(tmp_path / "b.png"))
    assert large - small < 60, f"peak RSS {small:.0f} MiB without the extra 200 MiB tensor, {large:.0f} MiB with it"


# -- translate --------------------------------------------------------------------------------------
@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (300, 451, 3), dtype=np.uint8)).save(folder / "photo.jpg")
    Image.fromarray(rng.integers(0, 255, (40, 50), dtype=np.uint8)).save(folder / "grey.png")
    return folder


@pytest.mark.parametrize("model", ["cyclegan", "pix2pix"])
def test_translate_keeps_each_image_size_and_says_what_changed(runs, photos, tmp_path, model):
    result = run_cli("translate", str(runs[model] / "checkpoints"), "--input", str(photos), "--out",
                     str(tmp_path / "out"), check=True)
    assert pixels(tmp_path / "out" / "photo.png").shape[:2] == (300, 451)
    assert pixels(tmp_path / "out" / "grey.png").shape[:2] == (40, 50)
    notes = [ln for ln in result.stderr.splitlines() if ln.startswith(("photo.jpg:", "grey.png:"))]
    assert notes == ["photo.jpg: colour converted to grey"], result.stderr  # the model is 1-channel
    assert "Wrote 2 images to" in result.stderr
    sized = run_cli("translate", str(runs[model]), "--input", str(photos), "--size", "64", "--out",
                    str(tmp_path / "s"), check=True)
    assert pixels(tmp_path / "s" / "photo.png").shape[:2] == (64, 64)
    assert "grey.png: resized from 50x40 to 64x64" in sized.stderr
    assert "photo.jpg: colour converted to grey; resized from 451x300 to 64x64" in sized.stderr


def test_translate_converts_grey_to_rgb_for_colour_models(tmp_path, photos):
    run = make_run("cyclegan", tmp_path / "rgb", channels=3)
    result = run_cli("translate", str(run), "--input", str(photos / "grey.png"), "--out", str(tmp_path / "o"),
                     check=True)
    assert "grey.png: grey converted to RGB" in result.stderr
    assert pixels(tmp_path / "o" / "grey.png").shape == (40, 50, 3)
    assert "Wrote 1 image to" in result.stderr


def test_a_refused_translate_leaves_no_output_folder(runs, photos, tmp_path):
    result = run_cli("translate", str(runs["pix2pix"]), "--input", str(photos), "--direction", "b2a",
                     "--out", str(tmp_path / "never"))
    assert result.returncode != 0 and "pix2pix has one generator" in result.stderr
    assert not (tmp_path / "never").exists()


def test_an_unreadable_or_oversized_input_is_refused_before_torch_and_before_writing(runs, photos, tmp_path):
    """Every header is read first: a bad file among good ones stops the command before any output."""
    (photos / "z-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    broken = run_cli("translate", str(runs["cyclegan"]), "--input", str(photos), "--out", str(tmp_path / "o1"))
    assert broken.returncode == 1 and broken.stderr.startswith("Error: cannot read image ")
    assert "z-broken.png" in broken.stderr and len(broken.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o1").exists()
    (photos / "z-broken.png").unlink()
    # 20000 x 10000 pixels (a 1-bit PNG of a few kB): beyond what PIL decodes without the bomb guard.
    Image.new("1", (20000, 10000)).save(photos / "z-huge.png")
    huge = run_cli("translate", str(runs["cyclegan"]), "--input", str(photos), "--out", str(tmp_path / "o2"))
    assert huge.returncode == 1, huge.stderr
    assert huge.stderr.strip().splitlines() == [
        f"Error: cannot read image {photos / 'z-huge.png'}: it is too large to decode safely (200 million pixels); "
        "shrink it with an image editor first"]
    assert not (tmp_path / "o2").exists()


def test_a_translation_beyond_memory_is_refused_with_the_size_that_fits(runs, tmp_path):
    from ganzoo.engine.inference import load

    big = tmp_path / "big"
    big.mkdir()
    Image.new("L", (2400, 2000), 128).save(big / "scan.png")
    per_pixel = load(str(runs["cyclegan"])).translation_bytes_per_pixel(channels=1)
    assert 200 < per_pixel < 8192  # the ResNet generator: tensors of 64 to 256 maps at 1 to 1/16 of the pixels
    env = {**os.environ, "GANZOO_MAX_MEMORY": str(int(per_pixel * 400 * 400))}  # room for about 400 x 400
    refused = run_cli("translate", str(runs["cyclegan"]), "--input", str(big), "--out", str(tmp_path / "o"), env=env)
    assert refused.returncode == 2, refused.stderr  # a usage error, like every ConfigError
    line = refused.stderr.strip()
    assert line.startswith("Error: scan.png at 2400x2000 needs about ") and "more than the" in line
    assert "pass --size 36" in line and "or set GANZOO_MAX_MEMORY to lift the limit" in line  # 360: 0.9 x the side that fits
    assert not (tmp_path / "o").exists()
    side = int(line.split("pass --size ")[1].split()[0])
    fits = run_cli("translate", str(runs["cyclegan"]), "--input", str(big), "--size", str(side), "--out",
                   str(tmp_path / "o"), env=env, check=True)
    assert pixels(tmp_path / "o" / "scan.png").shape == (side, side) and "Wrote 1 image" in fits.stderr

    # Four images that fit one at a time but not as one batch.
    for k in range(4):
        Image.new("L", (300, 300), 10 * k).save(big / f"tile{k}.png")
    (big / "scan.png").unlink()
    batch = run_cli("translate", str(runs["cyclegan"]), "--input", str(big), "--out", str(tmp_path / "b"), env=env)
    assert batch.returncode == 2
    assert batch.stderr.strip().startswith("Error: a batch of 4 300x300 images needs about ")
    assert "use --batch-size 1" in batch.stderr and not (tmp_path / "b").exists()
    run_cli("translate", str(runs["cyclegan"]), "--input", str(big), "--batch-size", "1", "--out", str(tmp_path / "b"),
            env=env, check=True)
    assert len(list((tmp_path / "b").glob("tile*.png"))) == 4
