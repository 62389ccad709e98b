"""Feature extractors: the FID Inception architecture and its weights policy, the shipped digits
classifier (accuracy, and the order it ranks known corruptions in), and timm models from local files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ganzoo.errors import GanzooError
from ganzoo.metrics.catalog import INCEPTION_WEIGHTS_FILE
from ganzoo.metrics.extractors import clear_cache, get_extractor


@pytest.fixture(autouse=True)
def _fresh_extractors():
    clear_cache()
    yield
    clear_cache()


# -- inception-fid -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def published_state() -> dict[str, torch.Tensor]:
    """A random state dict in the published layout, taken from pytorch-fid's own FID Inception."""
    import warnings

    from pytorch_fid import inception as pfi

    from ganzoo.metrics.extractors.inception import FIDInception

    torch.manual_seed(0)
    ours = FIDInception()
    state = ours.state_dict()
    for key, value in state.items():  # give batch norm statistics values that matter
        if key.endswith("running_mean"):
            value.normal_(0.0, 0.2)
        elif key.endswith("running_var"):
            value.uniform_(0.5, 2.0)
    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *args, **kwargs: state  # no download: the state dict built here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = pfi.fid_inception_v3()  # strict load into pytorch-fid's published architecture
    finally:
        pfi.load_state_dict_from_url = original
    return {k: v.clone() for k, v in full.state_dict().items()}


def test_inception_matches_pytorch_fid_key_names_shapes_and_features(published_state):
    import warnings

    from pytorch_fid import inception as pfi

    from ganzoo.metrics.extractors.inception import FIDInception, from_state_dict

    ours = {k: tuple(v.shape) for k, v in FIDInception().state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in published_state.items()}
    assert ours == theirs
    assert theirs["fc.weight"] == (1008, 2048)
    assert theirs["Mixed_7c.branch_pool.conv.weight"] == (192, 2048, 1, 1)

    extractor = from_state_dict(published_state)
    images = torch.rand(3, 3, 40, 40, generator=torch.Generator().manual_seed(1)) * 2 - 1
    feats, logits = extractor.extract(images)
    assert feats.shape == (3, 2048) and logits.shape == (3, 1008)

    original = pfi.load_state_dict_from_url
    pfi.load_state_dict_from_url = lambda *args, **kwargs: published_state
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = pfi.InceptionV3([3], resize_input=True, normalize_input=False).eval()
    finally:
        pfi.load_state_dict_from_url = original
    with torch.no_grad():
        expected = reference(images)[0].flatten(1).numpy()
    assert np.abs(feats - expected).max() <= 1e-4 * max(1.0, float(np.abs(expected).max()))
    assert float(np.std(feats)) > 0


def test_inception_refuses_offline_without_weights(ganzoo_home, tmp_path, monkeypatch):
    from ganzoo.paths import weights_dir

    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(GanzooError) as info:
        get_extractor("inception-fid")
    message = info.value.message
    assert "\n" not in message
    assert INCEPTION_WEIGHTS_FILE in message
    assert str(weights_dir() / INCEPTION_WEIGHTS_FILE) in message
    assert "--weights" in message


def test_inception_refuses_a_foreign_file_in_the_torch_cache(ganzoo_home, tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    cached = tmp_path / "torch" / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the inception weights")
    with pytest.raises(GanzooError, match="is not the FID Inception file"):
        get_extractor("inception-fid")


def _save_pth(state, path: Path) -> Path:
    torch.save(state, path)
    return path


def test_inception_weights_from_path_torch_cache_and_download(published_state, ganzoo_home, tmp_path, monkeypatch):
    import hashlib

    from ganzoo.metrics import weights as weights_mod
    from ganzoo.paths import weights_dir

    pth = _save_pth(published_state, tmp_path / "my-inception.pth")
    digest = hashlib.sha256(pth.read_bytes()).hexdigest()

    # --weights PATH: loaded as is, its hash stamped on results.
    ext = get_extractor("inception-fid", weights=str(pth))
    assert ext.weights_sha256 == digest and ext.protocol()["extractor_weights_sha256"] == digest

    # TORCH_HOME's hub cache (as left by pytorch-fid), accepted when its hash is the catalogued one.
    real_entry = weights_mod.inception_entry()
    fake_entry = replace(real_entry, url=pth.as_uri(), mirrors=(), sha256=digest, size=pth.stat().st_size)
    monkeypatch.setattr(weights_mod, "inception_entry", lambda: fake_entry)
    torch_home = tmp_path / "torch"
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    hub = torch_home / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    hub.parent.mkdir(parents=True)
    hub.write_bytes(pth.read_bytes())
    clear_cache()
    assert get_extractor("inception-fid").weights_path == str(hub)

    # Nothing cached: fetched through the download function (a file:// URL here) into GANZOO_HOME.
    hub.unlink()
    clear_cache()
    ext = get_extractor("inception-fid")
    assert Path(ext.weights_path) == weights_dir() / INCEPTION_WEIGHTS_FILE
    assert (weights_dir() / INCEPTION_WEIGHTS_FILE).read_bytes() == pth.read_bytes()


def test_inception_rejects_a_state_dict_of_another_network(tmp_path):
    state = {"conv.weight": torch.zeros(3, 3, 3, 3)}
    with pytest.raises(GanzooError, match="not the FID Inception weights"):
        get_extractor("inception-fid", weights=str(_save_pth(state, tmp_path / "other.pth")))


# -- digits ----------------------------------------------------------------------------------------
def _upsample(images01: np.ndarray, size: int = 32) -> torch.Tensor:
    x = torch.from_numpy(images01)[:, None]
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False) * 2 - 1


def test_shipped_digits_extractor_accuracy_on_the_held_out_half():
    from safetensors import safe_open

    from ganzoo.data.digits_split import digits_arrays
    from ganzoo.metrics.extractors.digits import shipped_weights

    ext = get_extractor("digits")
    assert Path(ext.weights_path) == shipped_weights()
    assert ext.feature_dim == 64 and ext.num_classes == 10
    images, labels = digits_arrays("test")
    _, logits = ext.extract(_upsample(images))
    accuracy = float((logits.argmax(1) == labels).mean())
    with safe_open(str(shipped_weights()), "pt") as fh:
        meta = fh.metadata()
    assert accuracy >= 0.98
    assert accuracy == pytest.approx(float(meta["test_accuracy_32px_bilinear"]), abs=1.5e-3)
    assert "train half" in meta["train_split"]
    by_path = json.loads(meta["test_accuracy_by_path"])
    assert min(by_path.values()) >= 0.98


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = round(3 * sigma)
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    w = torch.exp(-(t ** 2) / (2 * sigma ** 2))
    w = w / w.sum()
    c = x.shape[1]
    x = F.pad(x, (radius,) * 4, mode="replicate")
    x = F.conv2d(x, w.view(1, 1, 1, -1).repeat(c, 1, 1, 1), groups=c)
    return F.conv2d(x, w.view(1, 1, -1, 1).repeat(c, 1, 1, 1), groups=c)


@pytest.fixture(scope="module")
def digits_source():
    from ganzoo.data import DataOptions, resolve_data

    return resolve_data("digits", DataOptions(image_size=32, channels=1))


def test_digits_extractor_ranks_known_corruptions(digits_source, ganzoo_home):
    """FID and KID against the training half: held-out < +noise 0.1 < +noise 0.3 < blurred < uniform noise,
    and a one-class (mode-collapsed) set is worse than the held-out digits."""
    from ganzoo.metrics.evaluate import evaluate_batches

    batch = digits_source.test.get_batch([(i, 0) for i in range(len(digits_source.test))])
    held_out, labels = batch["image"], batch["label"].numpy()
    g = torch.Generator().manual_seed(0)
    # Noise levels are standard deviations in [0, 1] intensity units (x2 in [-1, 1]); the blur is a
    # Gaussian of sigma 3 pixels at 32 x 32 (3/4 of an original 8 x 8 digit pixel).
    cases = {
        "held-out": held_out,
        "noise 0.1": (held_out + 0.2 * torch.randn(held_out.shape, generator=g)).clamp(-1, 1),
        "noise 0.3": (held_out + 0.6 * torch.randn(held_out.shape, generator=g)).clamp(-1, 1),
        "blurred": _gaussian_blur(held_out, 3.0),
        "uniform noise": torch.rand(held_out.shape, generator=g) * 2 - 1,
    }
    threes = held_out[torch.from_numpy(labels == 3)]
    cases["one class"] = threes.repeat(len(held_out) // len(threes) + 1, 1, 1, 1)[: len(held_out)]
    scores = {}
    for name, images in cases.items():
        result = evaluate_batches([(images, None)], digits_source, ["fid", "kid"], extractor="digits")
        scores[name] = result.values
    print({k: {m: round(v, 4) for m, v in s.items()} for k, s in scores.items()})
    order = ["held-out", "noise 0.1", "noise 0.3", "blurred", "uniform noise"]
    for metric in ("fid", "kid"):
        values = [scores[name][metric] for name in order]
        assert values == sorted(values), (metric, values)
        assert scores["one class"][metric] > 5 * scores["held-out"][metric] + 1e-3
    assert scores["held-out"]["fid"] < 1.0


# -- timm ------------------------------------------------------------------------------------------
def test_timm_model_from_a_local_file(tmp_path):
    import timm
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = timm.create_model("test_vit", num_classes=0)
    path = tmp_path / "test_vit.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    ext = get_extractor("timm:test_vit", weights=str(path))
    feats, logits = ext.extract(torch.rand(2, 1, 28, 28) * 2 - 1)
    assert feats.shape == (2, net.num_features) and logits is None
    with torch.no_grad():
        direct = net.eval()(ext.prepare(torch.rand(1, 3, 8, 8)))
    assert direct.shape == (1, net.num_features)
    proto = ext.protocol()
    assert proto["extractor"] == "timm:test_vit" and "bicubic" in proto["resizer"]

    with pytest.raises(GanzooError, match="needs its pretrained weights from a local file"):
        get_extractor("timm:test_vit")
    with pytest.raises(GanzooError, match="timm has no model"):
        get_extractor("timm:no_such_model_xyz", weights=str(path))
