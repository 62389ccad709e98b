"""Named downloads with a miniature horse2zebra.zip in the real layout, over file:// and a loopback server."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import types
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data import DataOptions, resolve_data
from ganzoo.data.catalog import CYCLEGAN_SETS, cache_state, cyclegan_urls, named_dir
from ganzoo.data.named import archive_path, ensure
from ganzoo.errors import DataError, DownloadError
from ganzoo.loopback import LoopbackServer
from ganzoo.plugins import Plugins
from ganzoo.registry import Registry, get_registry, set_registry
from ganzoo.specs import DatasetSpec

COUNTS = {"trainA": 5, "trainB": 6, "testA": 2, "testB": 3}


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GANZOO_OFFLINE", raising=False)
    return tmp_path / "home"


def make_zip(path, counts=COUNTS, extra: dict[str, bytes] | None = None, top="horse2zebra"):
    """A zip laid out like the real one: top/trainA/*.jpg ...; the first trainA image is grayscale."""
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w") as zf:
        for folder, n in counts.items():
            zf.writestr(f"{top}/{folder}/", b"")
            for i in range(n):
                array = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
                image = Image.fromarray(array)
                if folder == "trainA" and i == 0:
                    image = image.convert("L")
                import io

                buffer = io.BytesIO()
                image.save(buffer, "JPEG", quality=90)
                zf.writestr(f"{top}/{folder}/n0{i:04d}.jpg", buffer.getvalue())
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    data = path.read_bytes()
    return path, hashlib.sha256(data).hexdigest(), len(data)


def spec_for(name, urls, sha256, size, counts=COUNTS):
    return DatasetSpec(name, "a miniature horse2zebra", "unpaired", "ganzoo.data.named:load", size_bytes=size,
                       urls=tuple(urls), sha256=sha256, counts=counts)


@pytest.fixture
def register():
    previous = get_registry()

    def _register(*specs):
        plugins = Plugins()
        plugins.register(types.SimpleNamespace(ganzoo_register_datasets=lambda: list(specs)), "test-plugin")
        set_registry(Registry(plugins))

    yield _register
    set_registry(previous)


@pytest.fixture
def mini(tmp_path):
    (tmp_path / "served").mkdir()
    return make_zip(tmp_path / "served" / "mini2zebra.zip")


def test_named_set_download_verify_extract_count(mini, register, home):
    path, sha, size = mini
    spec = spec_for("mini2zebra", [path.as_uri()], sha, size)
    register(spec)
    assert cache_state(get_registry().dataset("mini2zebra")) == "not cached"
    source = resolve_data("mini2zebra", DataOptions(image_size=32, load_size=36, random_crop=True, flip=True))
    assert source.kind == "unpaired" and source.channels == 3
    assert len(source.train) == 6 and len(source.train.a) == 5 and len(source.train.b) == 6
    assert len(source.test) == 3
    item = source.train[(0, 3)]
    assert item["a"].shape == item["b"].shape == (3, 32, 32)
    gray = source.train.a[(0, 0)]["image"]
    assert torch.equal(gray[0], gray[1])  # the grayscale image came out as RGB
    folder = named_dir("mini2zebra")
    marker = json.loads((folder / ".ganzoo-complete.json").read_text())
    assert marker["sha256"] == sha and marker["counts"] == COUNTS and marker["root"] == "horse2zebra"
    assert not archive_path(spec).exists()  # extracted and counted: the archive is gone
    assert cache_state(get_registry().dataset("mini2zebra")) == "cached"
    fingerprint = source.fingerprint
    path.unlink()  # a second use needs nothing from the network
    again = resolve_data("mini2zebra", DataOptions(image_size=32, load_size=36, random_crop=True, flip=True))
    assert again.fingerprint == fingerprint
    assert torch.equal(again.train[(0, 3)]["a"], item["a"])


def test_http_mirror_fallback_and_resume(mini, register):
    path, sha, size = mini
    with LoopbackServer(path.parent) as server:
        server.fail["gone.zip"] = 404
        server.cut_after["mini2zebra.zip"] = size // 2
        spec = spec_for("mini2zebra", [server.url("gone.zip"), server.url("mini2zebra.zip")], sha, size)
        register(spec)
        with pytest.raises(DownloadError) as info:
            ensure(spec, progress=False)
        assert "HTTP 404" in str(info.value) and str(archive_path(spec)) in str(info.value)
        part = archive_path(spec).with_name(archive_path(spec).name + ".part")
        assert part.stat().st_size == size // 2
        root = ensure(spec, progress=False)
        assert server.requests[-1] == {"path": "mini2zebra.zip", "range": f"bytes={size // 2}-"}
    assert sorted(p.name for p in root.iterdir()) == ["testA", "testB", "trainA", "trainB"]
    assert not part.exists()


def test_count_mismatch_keeps_nothing_extracted(mini, register, capsys):
    path, sha, size = mini
    spec = spec_for("mini2zebra", [path.as_uri()], sha, size, counts={**COUNTS, "trainA": 6})
    register(spec)
    with pytest.raises(DataError) as info:
        resolve_data("mini2zebra")
    assert "trainA has 5 images, expected 6" in str(info.value) and "\n" not in str(info.value)
    folder = named_dir("mini2zebra")
    assert not (folder / "files").exists() and not (folder / ".ganzoo-complete.json").exists()
    assert archive_path(spec).is_file()  # the verified archive is kept: no second download
    root = ensure(spec, trust_hash_mismatch=True, progress=False)  # accepted knowingly, with a warning
    assert (root / "trainA").is_dir() and "Warning:" in capsys.readouterr().err


def test_hash_mismatch_leaves_no_archive(mini, register):
    path, _, size = mini
    spec = spec_for("mini2zebra", [path.as_uri()], "ab" * 32, size)
    register(spec)
    with pytest.raises(DownloadError, match="sha256"):
        resolve_data("mini2zebra")
    assert not any(p.suffix in (".zip", ".part") for p in named_dir("mini2zebra").iterdir())


def test_archive_with_parent_member_is_refused(tmp_path, register):
    path, sha, size = make_zip(tmp_path / "evil.zip", extra={"horse2zebra/../../escape.txt": b"boo"})
    spec = spec_for("evil2zebra", [path.as_uri()], sha, size)
    register(spec)
    with pytest.raises(DataError, match="refusing to extract"):
        resolve_data("evil2zebra")
    assert not (named_dir("evil2zebra") / "files").exists()
    assert not (tmp_path / "home" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()


def test_wrong_layout_is_refused(tmp_path, register):
    path, sha, size = make_zip(tmp_path / "onlya.zip", counts={"trainA": 2, "testA": 1})
    spec = spec_for("onlya", [path.as_uri()], sha, size, counts={})
    register(spec)
    with pytest.raises(DataError, match="no images in trainB"):
        resolve_data("onlya")
    assert not (named_dir("onlya") / "files").exists()


def test_cyclegan_records():
    assert set(CYCLEGAN_SETS) == {"horse2zebra", "apple2orange", "summer2winter_yosemite", "monet2photo",
                                  "cezanne2photo", "ukiyoe2photo", "vangogh2photo", "iphone2dslr_flower",
                                  "facades", "maps", "cityscapes"}
    spec = get_registry().dataset("horse2zebra")
    assert spec.size_bytes == 116867962
    assert spec.sha256 == "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1"
    assert dict(spec.counts) == {"trainA": 1067, "trainB": 1334, "testA": 120, "testB": 140}
    assert spec.urls == ("http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip",
                         "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip")
    for name in CYCLEGAN_SETS:
        record = get_registry().dataset(name)
        assert record.urls == cyclegan_urls(name) and record.kind == "unpaired"
        assert record.sha256 is None or len(record.sha256) == 64


# -- the command line ---------------------------------------------------------------------------
def _env(home, **extra):
    env = dict(os.environ, GANZOO_HOME=str(home), **extra)
    env.pop("GANZOO_OFFLINE", None) if "GANZOO_OFFLINE" not in extra else None
    return env


def _ganzoo(*args, home, **extra):
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                          env=_env(home, **extra), timeout=180)


CLI_WITH_SPEC = """
import json, sys, types
from ganzoo.plugins import Plugins
from ganzoo.registry import Registry, set_registry
from ganzoo.specs import DatasetSpec
spec = DatasetSpec(**json.loads(sys.argv[1]))
plugins = Plugins()
plugins.register(types.SimpleNamespace(ganzoo_register_datasets=lambda: [spec]), "test-plugin")
set_registry(Registry(plugins))
from ganzoo.cli import main
main(sys.argv[2:])
"""


def _ganzoo_with(spec_json, *args, home, **extra):
    return subprocess.run([sys.executable, "-c", CLI_WITH_SPEC, json.dumps(spec_json), *args], capture_output=True,
                          text=True, env=_env(home, **extra), timeout=180)


def test_offline_then_placed_by_hand_on_the_command_line(mini, home):
    path, sha, size = mini
    url = "http://efrosgans.invalid/cyclegan/datasets/mini2zebra.zip"
    spec = {"name": "mini2zebra", "summary": "mini", "kind": "unpaired", "loader": "ganzoo.data.named:load",
            "urls": [url], "sha256": sha, "size_bytes": size, "counts": COUNTS}
    result = _ganzoo_with(spec, "data", "info", "mini2zebra", home=home, GANZOO_OFFLINE="1")
    assert result.returncode == 1
    place = home / "data" / "mini2zebra" / "mini2zebra.zip"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and url in lines[0] and str(place) in lines[0]
    place.write_bytes(path.read_bytes())  # the user fetches the file and puts it where the message says
    result = _ganzoo_with(spec, "data", "info", "mini2zebra", "--json", home=home, GANZOO_OFFLINE="1")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["kind"] == "unpaired" and info["train_split"] == {"examples": 6, "a": 5, "b": 6}
    assert info["test_split"] == {"examples": 3, "a": 2, "b": 3}
    listing = json.loads(_ganzoo_with(spec, "data", "list", "--json", home=home).stdout)
    assert {r["name"]: r["cached"] for r in listing}["mini2zebra"] == "cached"


def test_download_command_with_url_override_still_checks_the_hash(mini, tmp_path, home):
    path, sha, size = mini
    spec = {"name": "mini2zebra", "summary": "mini", "kind": "unpaired", "loader": "ganzoo.data.named:load",
            "urls": ["http://127.0.0.1:9/mini2zebra.zip"], "sha256": sha, "size_bytes": size, "counts": COUNTS}
    other, _, _ = make_zip(tmp_path / "other.zip", counts={"trainA": 1, "trainB": 1})
    result = _ganzoo_with(spec, "data", "download", "mini2zebra", "--url", other.as_uri(), home=home)
    assert result.returncode == 1 and "bytes instead of" in result.stderr and "Traceback" not in result.stderr
    result = _ganzoo_with(spec, "data", "download", "mini2zebra", "--url", path.as_uri(), home=home)
    assert result.returncode == 0, result.stderr
    assert "mini2zebra is ready" in result.stdout and "trainA 5" in result.stdout


def test_real_horse2zebra_offline_message_and_wrong_file_by_hand(home):
    result = _ganzoo("data", "download", "horse2zebra", home=home, GANZOO_OFFLINE="1")
    place = home / "data" / "horse2zebra" / "horse2zebra.zip"
    assert result.returncode == 1 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("Error: ")
    assert "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip" in line and str(place) in line
    place.write_bytes(b"not the archive")
    result = _ganzoo("data", "download", "horse2zebra", home=home, GANZOO_OFFLINE="1")
    assert result.returncode == 1 and "expected 116867962" in result.stderr and place.is_file()
