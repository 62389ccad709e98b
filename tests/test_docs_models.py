"""Model cards: the generated block of docs/models/NAME.md is up to date, and hand-written parts are kept.

`scripts/model_cards.py --write` rebuilds the block between the markers from the plugin's spec, its
config and registry.yaml; `--check` (run here) fails when any card is stale or missing.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ganzoo.catalogue import load
from ganzoo.testing import run_cli

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "model_cards.py"
CARDS = ROOT / "docs" / "models"


def cards_module():
    spec = importlib.util.spec_from_file_location("model_cards", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_catalogue_model_has_an_up_to_date_card():
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    for name in load().models:
        text = (CARDS / f"{name}.md").read_text(encoding="utf-8")
        assert text.count("<!-- ganzoo:generated:start -->") == 1 and text.count("<!-- ganzoo:generated:end -->") == 1


def test_update_keeps_every_hand_written_byte():
    cards = cards_module()
    block = f"{cards.START}\nNEW\n{cards.END}"
    hand = "# dcgan\n\nIntro by hand.\n\n{}\n\n## Measured\n\n| FID | 12.3 |\n\n![grid](img/dcgan.png)\n"
    old = hand.format(f"{cards.START}\nOLD | stale\n{cards.END}")
    assert cards.update(old, "dcgan", block) == hand.format(block)
    no_markers = "# dcgan\nFigures by hand.\n"
    assert cards.update(no_markers, "dcgan", block) == f"# dcgan\n\n{block}\nFigures by hand.\n"
    created = cards.update(None, "dcgan", block)
    assert created.startswith(f"# dcgan\n\n{block}\n") and cards.update(created, "dcgan", block) == created
    assert cards.update(cards.update(old, "dcgan", block), "dcgan", block) == hand.format(block)


@pytest.fixture(scope="module")
def written_cards(tmp_path_factory) -> Path:
    """Every card written afresh by the script (once for the module)."""
    folder = tmp_path_factory.mktemp("cards")
    subprocess.run([sys.executable, str(SCRIPT), "--write", "--cards", str(folder)], cwd=ROOT, check=True,
                   capture_output=True)
    return folder


@pytest.mark.parametrize("name", sorted(load().models))
def test_generated_block_lists_what_ganzoo_info_says(name, written_cards):
    text = (written_cards / f"{name}.md").read_text(encoding="utf-8")
    info = json.loads(run_cli("info", name, "--json", check=True).stdout)
    assert info["summary"] in text and f"`{info['plugin']}`" in text and f"`{info['default_data']}`" in text
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines() if line.startswith("| `--")}
    for field in info["config"]:
        flag = "--" + field["name"].replace("_", "-")
        assert flag in rows or f"{field['name']} (config only)" in text, f"{name}: {flag} missing"
        if flag in rows:
            assert field["help"].split()[0] in rows[flag]
    for ck in info["checkpoints"]:
        assert f"`{name}.{ck['tag']}`" in text
    # Every training default `ganzoo info` shows (all the plugin states, even values equal to the core's).
    assert info["train_defaults"], f"{name}: no training defaults shown"
    without = text.split("Without options: ")[1].splitlines()[0]
    assert set(without.rstrip(".").split(", ")) == set(cards_module().flags(info["train_defaults"]).split(", "))


GALLERY = ROOT / "docs" / "gallery.md"
MAX_PICTURE_BYTES = 400_000
MAX_PICTURE_SIDE = 1600


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG file"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_gallery_shows_a_small_png_sample_grid_of_every_model():
    text = GALLERY.read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, flags=re.MULTILINE | re.DOTALL))
    assert list(sections) == list(load().models), "one section per catalogue model, in catalogue order"
    missing = [name for name, body in sections.items() if "models/img/" not in body]
    assert not missing, f"no picture yet for: {', '.join(missing)} (commit one under docs/models/img/ and show it on the card)"
    for body in sections.values():
        for target in re.findall(r"\]\((models/img/[^)]+\.png)\)", body):
            path = ROOT / "docs" / target
            width, height = png_size(path)
            assert path.stat().st_size <= MAX_PICTURE_BYTES, f"{target}: {path.stat().st_size} bytes; keep pictures small"
            assert max(width, height) <= MAX_PICTURE_SIDE, f"{target}: {width}x{height} px"


@pytest.mark.parametrize("name", sorted(load().models))
def test_generated_block_names_the_extractor_ganzoo_eval_uses(name, written_cards):
    from ganzoo.metrics.catalog import DEFAULT_METRICS, default_extractor_for
    from ganzoo.registry import get_registry

    text = (written_cards / f"{name}.md").read_text(encoding="utf-8")
    measuring = text.split("### Measuring")[1].split("###")[0]
    spec = get_registry().resolve_model(name).spec
    assert all(f"`{metric}`" in measuring for metric in DEFAULT_METRICS)
    if spec.task in ("unconditional", "conditional"):
        assert f"the `{default_extractor_for(spec.default_data)}` extractor (the default for `--data {spec.default_data}`" in measuring
    else:
        assert "REF's default extractor" in measuring and "`inception-fid` otherwise" in measuring
    if default_extractor_for(spec.default_data) == "digits":
        assert "*judge FD*" in measuring and "the-test-suites-judge-is-another-network" in measuring


def test_mode_coverage_section_and_picture_from_measured_shares(tmp_path):
    cards = cards_module()
    uniform = [0.1] * 10
    skewed = [0.05, 0.15] + [0.1] * 8
    entry = {"command": "ganzoo train dcgan", "precision": "fp32", "samples": 1000,
             "seeds": {"0": {"judge": uniform, "second": uniform, "judge_fd": 20.0, "cpu_s": 150.0},
                       "1": {"judge": uniform, "second": skewed, "judge_fd": 21.5, "cpu_s": 151.0}}}
    lines = cards.coverage_lines("dcgan", {"dcgan": entry})
    rows = [line for line in lines if line.startswith("| 0 ") or line.startswith("| 1 ")]
    assert rows[0] == "| 0 | 10.0% | 0.000 | 10.0% | 0.000 | 20.0 | 150 s | met |"
    assert rows[1] == "| 1 | 10.0% | 0.000 | 5.0% | 0.050 | 21.5 | 151 s | **not met** |"
    assert lines[-1].endswith("(img/dcgan-classes.png)") and cards.coverage_lines("wgan", {"dcgan": entry}) == []
    out = tmp_path / "img" / "dcgan-classes.png"
    cards.draw_coverage("dcgan", entry, out)
    from PIL import Image

    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (840, 320)
    before = out.stat().st_mtime_ns
    cards.draw_coverage("dcgan", entry, out)  # unchanged figures: the file is left alone
    assert out.stat().st_mtime_ns == before
