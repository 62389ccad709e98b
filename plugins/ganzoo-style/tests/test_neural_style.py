"""neural_style: conformance, exact resume (L-BFGS history, Adam, across scales) and the picture it makes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ganzoo.engine.checkpoint import load_checkpoint
from ganzoo.engine.inference import load
from ganzoo.errors import ConfigError
from ganzoo.testing import check_model_spec, check_resume, smoke_train

TINY = {"random_features": True, "image_size": 48}


def test_conformance() -> None:
    spec = check_model_spec("neural_style", overrides={"random_features": True})
    assert spec.task == "style-transfer" and spec.default_data == "photos"


@pytest.mark.parametrize(
    ("overrides", "steps", "split"),
    [
        ({}, 4, 2),  # L-BFGS history and line state
        ({"optimizer": "adam"}, 4, 2),
        ({"scales": 2, "scale_steps": 2}, 5, 2),  # resumed at the boundary: the switch happens after resuming
        ({"scales": 2, "scale_steps": 2}, 5, 3),  # resumed inside the finer scale: rebuilt from family state
    ],
    ids=["lbfgs", "adam", "scales-boundary", "scales-inside"],
)
def test_resume_is_exact(tmp_path: Path, overrides: dict, steps: int, split: int) -> None:
    report = check_resume("neural_style", tmp_path, steps=steps, split=split, overrides={**TINY, **overrides})
    assert report.exact and report.compared > 50


def test_run_writes_the_picture_previews_and_provenance(tmp_path: Path) -> None:
    result = smoke_train("neural_style", tmp_path / "run", steps=4, overrides={**TINY, "scales": 2},
                         train_overrides={"sample_every": 2})
    ck = load_checkpoint(result.last_checkpoint)
    assert ck.state["extra"] == {"scale": 1, "scale_steps": 2}
    notes = ck.meta["notes"]
    assert notes["method"] == "neural_style" and "random features" in notes["degraded"]
    assert notes["content_size"] == "640x427" and notes["style_sizes"] == "640x427"  # the built-in photos
    assert not any(name.startswith("features") for name in ck.nets["image"])  # the feature net is not saved
    samples = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert "step-000004.png" in samples and any("24px" in s for s in samples) and any("48px" in s for s in samples)
    loaded = load(str(result.last_checkpoint))
    picture = loaded.model.stylize(None, nets=loaded.nets)
    assert picture.shape == (1, 3, 32, 48)  # 640x427 scaled to a longest edge of 48
    assert picture.min() >= -1 and picture.max() <= 1
    # The picture moved away from the content it started from.
    content = loaded.nets["image"].content_image() * 2 - 1
    assert (picture - content).abs().mean() > 1e-3


def test_style_files_blend_init_and_colour_preservation(tmp_path: Path) -> None:
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    files = []
    for i, colour in enumerate([(200, 30, 30), (30, 30, 200)]):
        noise = (torch.rand(40, 60, 3, generator=g) * 50).to(torch.uint8).numpy()
        Image.fromarray(noise + torch.tensor(colour, dtype=torch.uint8).numpy()).save(tmp_path / f"s{i}.png")
        files.append(str(tmp_path / f"s{i}.png"))
    content = tmp_path / "c.png"
    Image.fromarray((100 + torch.rand(30, 30, 3, generator=g) * 60).to(torch.uint8).numpy()).save(content)
    overrides = {**TINY, "image_size": 32, "content": str(content), "style": tuple(files), "style_blend": (3.0, 1.0),
                 "init": "noise", "preserve_color": True}
    result = smoke_train("neural_style", tmp_path / "run", steps=3, overrides=overrides)
    loaded = load(str(result.last_checkpoint))
    assert loaded.model.config.style_blend == (3.0, 1.0)
    picture = (loaded.model.stylize(None, nets=loaded.nets) + 1) / 2
    assert picture.shape == (1, 3, 32, 32)
    from ganzoo_style.images import rgb_to_yiq

    canvas = loaded.nets["image"]
    chroma_out = rgb_to_yiq(picture)[:, 1:]
    chroma_content = rgb_to_yiq(canvas.content_image())[:, 1:]
    chroma_raw = rgb_to_yiq(canvas.image().clamp(0, 1))[:, 1:]
    # The colours are the content's (up to clamping to [0, 1]), not those of the optimised picture.
    assert (chroma_out - chroma_content).abs().mean() < 0.01 < (chroma_raw - chroma_content).abs().mean()
    with pytest.raises(ConfigError, match="style_blend has 1 weights for 2 style images"):
        smoke_train("neural_style", tmp_path / "bad", steps=1, overrides={**overrides, "style_blend": (1.0,)})


def test_too_small_for_the_deepest_layer_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="too small for its deepest feature layer"):
        smoke_train("neural_style", tmp_path / "run", steps=1, overrides={**TINY, "image_size": 20})


@pytest.mark.slow
def test_quality_with_random_features_measured_in_separate_networks(tmp_path: Path) -> None:
    """A 128 px run halves the style loss seen by independently initialised VGG19s, keeping the content.

    Three judge networks with their own random weights (seeds the run never uses) each measure the
    style loss (against flower.jpg's Gram matrices) and the content loss (against china.jpg).
    """
    import resource
    import time

    from ganzoo_style import images as img
    from ganzoo_style.features import FeatureSpec, build_feature_net
    from ganzoo_style.losses import content_loss, gram_matrix, style_loss

    from ganzoo.data import resolve_data

    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = smoke_train("neural_style", tmp_path / "run", steps=300, overrides={"random_features": True,
                                                                                "image_size": 128})
    wall = time.perf_counter() - start
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    loaded = load(str(result.last_checkpoint))
    picture = (loaded.model.stylize(None, nets=loaded.nets) + 1) / 2
    size = tuple(picture.shape[-2:])
    assert size == (85, 128)

    data = resolve_data("photos")
    content = img.resize(img.as_image(data.extras["content_images"][0]), size)
    style = img.resize(img.as_image(data.extras["style_images"][0]), size)
    cfg = loaded.model.config
    layers = (*cfg.style_layers, *cfg.content_layers)
    own = build_feature_net(FeatureSpec("vgg19", random_features=True, layers=layers))  # the run's network
    lines = []
    for seed in (101, 102, 103):
        judge = build_feature_net(FeatureSpec("vgg19", random_features=True, seed=seed, layers=layers))
        assert not torch.equal(judge.features[0].weight, own.features[0].weight)
        with torch.no_grad():
            style_grams = {k: gram_matrix(v) for k, v in judge(style, cfg.style_layers).items()}
            content_feats = judge(content, cfg.content_layers)

            def measure(x: torch.Tensor, judge=judge, style_grams=style_grams, content_feats=content_feats):
                feats = judge(x, layers)
                c = sum(content_loss(feats[k], content_feats[k]) for k in cfg.content_layers)
                return float(style_loss(feats, style_grams)), float(c)

            style_of_result, content_of_result = measure(picture)
            style_of_content, _ = measure(content)
            _, content_of_style = measure(style)
        lines.append(f"judge {seed}: style loss {style_of_result:.3e} vs content image's {style_of_content:.3e} "
                     f"(x{style_of_result / style_of_content:.3f}); content loss {content_of_result:.3e} vs "
                     f"style image's {content_of_style:.3e} (x{content_of_result / content_of_style:.3f})")
        assert style_of_result <= 0.5 * style_of_content, lines[-1]
        assert content_of_result < content_of_style, lines[-1]
    print(f"\nneural_style 128 px, 300 L-BFGS steps, {torch.get_num_threads()} thread: wall {wall:.1f} s, "
          f"cpu {cpu:.1f} s\n" + "\n".join(lines))
    assert cpu < 180  # one torch thread (see conftest.py): CPU time is the wall time on an idle machine
