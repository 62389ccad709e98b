"""`ganzoo sample --seeds / --class / --interpolate / --truncation` (ganzoo.engine.sampling, cli/sample_extras)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.engine.sampling import parse_seeds, slerp, walk_latents
from ganzoo.errors import ConfigError
from ganzoo.testing import run_cli


def test_seed_lists_and_ranges() -> None:
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("5, 2,10-11") == [5, 2, 10, 11]
    for bad in ("3-1", "a", "1-", "", "0-99999999999"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_walk_visits_every_key_and_loops() -> None:
    keys = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    frames = walk_latents(keys, 4)
    assert frames.shape == (12, 8)
    assert torch.allclose(frames[0], keys[0]) and torch.allclose(frames[4], keys[1], atol=1e-6)
    assert torch.allclose(frames[8], keys[2], atol=1e-6)
    mid = slerp(keys[:1], keys[1:2], 0.5)
    # Spherical: the midpoint keeps a norm between the keys' (a straight line would shrink it).
    assert mid.norm() > 0.9 * min(keys[0].norm(), keys[1].norm())


@pytest.mark.slow  # several CLI processes
def test_seeds_walk_and_truncation_through_the_cli(toy_env, tmp_path) -> None:
    run = tmp_path / "run"
    assert run_cli("train", "toy", "--steps", "2", "--out", str(run), env=toy_env).returncode == 0
    ck = str(run / "checkpoints" / "last.safetensors")

    many = run_cli("sample", ck, "--seeds", "0-3", "--out", str(tmp_path / "many"), env=toy_env)
    one = run_cli("sample", ck, "--seeds", "2", "--batch-size", "1", "--out", str(tmp_path / "one"),
                  env=toy_env)
    assert many.returncode == 0 and one.returncode == 0, many.stderr + one.stderr
    names = sorted(p.name for p in (tmp_path / "many").glob("*.png"))
    assert names == [f"seed000{i}.png" for i in range(4)]
    a = np.asarray(Image.open(tmp_path / "many" / "seed0002.png"))
    b = np.asarray(Image.open(tmp_path / "one" / "seed0002.png"))
    assert np.array_equal(a, b)  # an image depends on its seed only
    assert not np.array_equal(a, np.asarray(Image.open(tmp_path / "many" / "seed0001.png")))

    walk = tmp_path / "walk.gif"
    done = run_cli("sample", ck, "--interpolate", "3", "--seeds", "0-2", "--out", str(walk), env=toy_env)
    assert done.returncode == 0, done.stderr
    with Image.open(walk) as gif:
        assert gif.n_frames == 9

    refused = run_cli("sample", ck, "--truncation", "0.7", "--out", str(tmp_path / "t.png"), env=toy_env)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert [line for line in refused.stderr.splitlines() if line.startswith("Error:")] == [
        "Error: 'toy' has no truncation trick; drop --truncation"]
    wrong = run_cli("sample", ck, "--seeds", "0-2", "--out", str(tmp_path / "x.gif"), env=toy_env)
    assert wrong.returncode != 0 and "--interpolate" in wrong.stderr
