"""Converting StyleGAN2-ADA network pickles: small files in the release format written here, read without
running any code, and a crafted malicious pickle refused."""

from __future__ import annotations

import os
import pickle
import sys
from pathlib import Path

import pytest
import torch
from ganzoo_stylegan.config import StyleGAN2Config
from ganzoo_stylegan.convert import convert
from ganzoo_stylegan.model import build
from ganzoo_stylegan.safe_pickle import read_network_pickle
from PIL import Image

from ganzoo.errors import CheckpointError
from ganzoo.testing import run_cli

sys.path.insert(0, str(Path(__file__).parent))
from stylegan_reference_pickle import random_networks, write_reference_pickle

D_KWARGS = {"c_dim": 0, "img_resolution": 16, "img_channels": 3, "architecture": "resnet", "channel_base": 128,
            "channel_max": 32, "conv_clamp": 256, "num_fp16_res": 4, "mapping_kwargs": {"num_layers": 2},
            "epilogue_kwargs": {"mbstd_group_size": 4}}


def small_pickle(tmp_path: Path, *, c_dim: int = 0, marker: Path | None = None, name: str = "net.pkl"):
    G, D, G_ema = random_networks(c_dim=c_dim)
    path = write_reference_pickle(tmp_path / name, G, D, G_ema, d_kwargs={**D_KWARGS, "c_dim": c_dim}, marker=marker)
    return path, (G, D, G_ema)


@pytest.mark.parametrize("c_dim", [0, 5])
def test_a_release_pickle_converts_to_the_same_networks(tmp_path: Path, c_dim: int) -> None:
    marker = tmp_path / "ran.txt"
    path, (G, D, G_ema) = small_pickle(tmp_path, c_dim=c_dim, marker=marker)
    assert "torch_utils.persistence" not in sys.modules and "dnnlib" not in sys.modules
    converted = convert(path, None)
    assert not marker.exists()  # the module source in the file was never run
    assert set(converted.nets) == {"G", "D", "G_ema"}
    assert converted.model == {"image_size": 16, "channels": 3, "classes": c_dim, "z_dim": 16, "w_dim": 16,
                               "mapping_layers": 2, "channel_base": 128, "channel_max": 32, "conv_clamp": 256.0,
                               "d_architecture": "resnet", "d_mapping_layers": 2, "mbstd_group": 4}
    model = build(StyleGAN2Config(**converted.model), training=False).eval()
    for name, net in (("G", G), ("D", D), ("G_ema", G_ema)):
        model.nets[name].load_state_dict(converted.nets[name])  # strict: every key and shape
        for key, value in net.state_dict().items():
            assert torch.equal(converted.nets[name][key], value), key
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(1))
    labels = torch.arange(4) % c_dim if c_dim else None
    with torch.no_grad():
        for psi in (1.0, 0.7):
            ours = model.nets["G_ema"](z, labels, truncation_psi=psi, noise_mode="const")
            assert torch.equal(ours, G_ema.eval()(z, labels, truncation_psi=psi, noise_mode="const"))
        images = torch.randn(4, 3, 16, 16)
        assert torch.equal(model.nets["D"](images, labels), D.eval()(images, labels))


def test_generator_only_files_convert(tmp_path: Path) -> None:
    G, D, G_ema = random_networks()
    path = tmp_path / "g.pkl"
    write_reference_pickle(path, G, D, G_ema, d_kwargs=D_KWARGS)
    data = read_network_pickle(path)
    assert {k for k, v in data.items() if v is not None} == {"training_set_kwargs", "G", "D", "G_ema"}
    assert data["G_ema"].init_kwargs["mapping_kwargs"] == {"num_layers": 2}  # EasyDict read as a plain dict


class _System:
    """Pickles as a call of os.system (what a malicious network file would do)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_a_malicious_pickle_is_refused_in_one_line_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({"G_ema": _System(f"touch {marker}")}, f)
    with pytest.raises(CheckpointError) as info:
        convert(path, None)
    message = info.value.message
    assert "\n" not in message and "refused global" in message and "system" in message
    assert "nothing in it was run" in message
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1+1'\ntR.",  # eval of a string
    b"csubprocess\ncheck_output\n((S'true'\nltR.",  # a process
    b"\x80\x04cnumpy\nload\n.",  # an unknown NumPy function
])
def test_any_global_outside_the_allow_list_is_refused(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(payload)
    with pytest.raises(CheckpointError, match="refused global"):
        read_network_pickle(path)


def test_options_ganzoo_does_not_compute_are_refused(tmp_path: Path) -> None:
    G, D, G_ema = random_networks()
    path = tmp_path / "odd.pkl"
    write_reference_pickle(path, G, D, G_ema, d_kwargs={**D_KWARGS, "block_kwargs": {}, "architecture": "skip"})
    with pytest.raises(CheckpointError, match="architecture"):
        convert(path, None)


@pytest.mark.slow  # two CLI processes
def test_sample_downloads_converts_and_samples_a_catalogued_pickle(tmp_path: Path) -> None:
    path, _ = small_pickle(tmp_path, name="ffhq.pkl")
    env = {"GANZOO_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    done = run_cli("download", "stylegan2.ffhq", "--url", path.as_uri(), env=env)
    assert done.returncode == 0, done.stderr
    faces = tmp_path / "faces.png"
    done = run_cli("sample", "stylegan2.ffhq", "--truncation", "0.7", "--n", "4", "--out", str(faces), env=env)
    assert done.returncode == 0, done.stderr
    assert Image.open(faces).size == (2 * 16 + 3 * 2, 2 * 16 + 3 * 2) or Image.open(faces).size[0] > 16
