"""`ganzoo report`: one picture of a real run folder (finished, running, stopped), PNG and HTML."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganzoo.report import load_run, write_report
from ganzoo.report.figure import PANELS, TIMELINES, draw, panel_titles
from ganzoo.testing import run_cli, smoke_train, toy_model

pytest_plugins = ["ganzoo.testing.fixtures"]



@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest (and share the machine best) on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory) -> Path:
    """A real toy run trained through the CLI: diagnostics every 5 steps, skip-d counting, grids every 10."""
    from ganzoo.testing.kit import install_entry_point

    tmp = tmp_path_factory.mktemp("report")
    env = install_entry_point(tmp / "site", "ganzoo-toy", "ganzoo.testing.toy_plugin", version="0.0.1")
    env["GANZOO_HOME"] = str(tmp / "home")
    out = tmp / "run"
    result = run_cli("train", "toy", "--out", str(out), "--steps", "40", "--diagnostics-every", "5",
                     "--balance", "skip-d:1.2", "--sample-every", "10", env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return out


def panel(fig, title):
    return next(ax for ax in fig.axes if ax.get_title(loc="left") == title)


def test_report_cli_writes_a_png_with_every_panel(toy_run, tmp_path):
    out = tmp_path / "report.png"
    result = run_cli("report", str(toy_run), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["panels"] == list(PANELS)
    assert summary["status"] == "finished" and summary["last_step"] == 40 and summary["samples"] == 4
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size == (1400, 1900)
        pixels = image.convert("L")
        assert pixels.getextrema()[0] < 60  # there are dark curves and text, not a blank canvas
    default = run_cli("report", str(toy_run))  # next to the run by default
    assert default.returncode == 0 and "Wrote" in default.stderr and (toy_run / "report.png").exists()


def test_every_panel_shows_the_run(toy_run):
    run = load_run(toy_run)
    fig = draw(run)
    assert panel_titles(fig) == list(PANELS)
    train = run.metrics
    assert [r["step"] for r in train] == [5, 10, 15, 20, 25, 30, 35, 40]  # the toy logs every 5 steps
    assert [h["step"] for h in run.health] == [5, 10, 15, 20, 25, 30, 35, 40]
    expected_lines = {
        "Losses": {"loss_d", "loss_g"},
        "Discriminator accuracy": {"on real", "on generated"},
        "Sample diversity (relative to real data)": {"pixels"},
        "Gradient norms": {"G", "D"},
        "Learning rates": {"G", "D"},
        "Skipped and extra discriminator updates": {"skipped_d (total)"},
    }
    for title, labels in expected_lines.items():
        ax = panel(fig, title)
        drawn = {line.get_label() for line in ax.get_lines()}
        assert labels <= drawn, (title, drawn)
    losses = panel(fig, "Losses").get_lines()[0]
    assert list(losses.get_xdata()) == [5, 10, 15, 20, 25, 30, 35, 40]
    assert list(losses.get_ydata()) == pytest.approx([r["loss_d"] for r in train])
    skipped = run.metrics[-1]["counters"]["skipped_d"]
    line = next(ln for ln in panel(fig, "Skipped and extra discriminator updates").get_lines())
    assert list(line.get_ydata())[-1] == skipped > 0
    samples = panel(fig, "Samples over time")
    assert len(samples.get_images()) == 1
    assert [t.get_text() for t in samples.get_xticklabels()] == ["step 10", "step 20", "step 30", "step 40"]
    warnings = panel(fig, "Warnings")
    assert any(t.get_text() == "no warnings" for t in warnings.texts)
    evaluations = panel(fig, "Periodic evaluation (--eval-every)")
    assert any("no periodic evaluations" in t.get_text() for t in evaluations.texts)
    augmentation = panel(fig, "Discriminator augmentation (--augment ada)")
    assert any("no adaptive augmentation in this run (--augment none)" in t.get_text() for t in augmentation.texts)
    shares = panel(fig, "Class shares of the samples")  # the toy data has no classifier
    assert any("no class shares" in t.get_text() for t in shares.texts)


def test_warnings_are_marked_on_the_timeline(toy_registry, tmp_path, monkeypatch):
    class IgnoresLatent(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, z):
            return self.inner(torch.zeros_like(z))

    original = toy_model.build

    def build(config, *, training=True):
        model = original(config, training=training)
        model.nets["G"] = IgnoresLatent(model.nets["G"])
        return model

    monkeypatch.setattr(toy_model, "build", build)
    out = tmp_path / "collapsed"
    smoke_train("toy", out, steps=16, train_overrides={"diagnostics_every": 4})
    run = load_run(out)
    [warning] = run.warnings
    assert warning["kind"] == "mode_collapse"
    fig = draw(run)
    for title in TIMELINES:
        marks = [ln for ln in panel(fig, title).get_lines() if list(ln.get_xdata()) == [warning["step"]] * 2]
        assert marks, title  # a vertical line at the warning's step
    strip = panel(fig, "Warnings")
    assert [t.get_text() for t in strip.get_yticklabels()] == ["mode collapse"]
    assert [list(ln.get_xdata()) for ln in strip.get_lines()] == [[warning["step"]]]
    assert "1 warning" in fig._suptitle.get_text()


def test_html_report_embeds_the_picture_and_tables(toy_run, tmp_path):
    out = tmp_path / "report.html"
    result = run_cli("report", str(toy_run / "checkpoints" / "last.safetensors"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    encoded = re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page).group(1)
    with Image.open(io.BytesIO(base64.b64decode(encoded))) as image:
        assert image.size == (1400, 1900)
    assert page.count("<table>") >= 4
    assert "<td>status</td><td>finished</td>" in page and "skip-d:1.2" in page
    assert "<td>diversity_pixel</td>" in page and "No warnings." in page


def test_report_of_a_run_still_being_written(toy_run, tmp_path):
    import shutil

    run_dir = tmp_path / "running"
    shutil.copytree(toy_run, run_dir)
    (run_dir / "checkpoints" / "last.safetensors").unlink()
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"step": 45, "epoch": 3, "loss_d": 0.6')  # a line being written right now
    (run_dir / "samples" / "step-000050.png").write_bytes(b"\x89PNG\r\n")  # a grid being written
    result = write_report(load_run(run_dir), tmp_path / "r.png")
    assert result.unreadable_lines == 1
    assert result.status == "running or interrupted at step 50" and result.panels == list(PANELS)
    assert result.samples == 5  # the unreadable grid is skipped when drawn, not fatal


def test_report_of_a_run_stopped_by_a_non_finite_loss(toy_env, tmp_path):
    out = tmp_path / "run"
    trained = run_cli("train", "toy", "--out", str(out), "--steps", "30", "--explode-at", "15", env=toy_env,
                      timeout=300)
    assert trained.returncode == 3
    result = run_cli("report", str(out), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "stopped at step 15 (non_finite)"
    run = load_run(out)
    assert [(e["type"], e["kind"], e["step"]) for e in run.events] == [("stop", "non_finite", 15)]
    strip = panel(draw(run), "Warnings")
    assert [t.get_text() for t in strip.get_yticklabels()] == ["non finite"]


def test_report_errors_are_one_line(tmp_path):
    missing = run_cli("report", str(tmp_path / "nope"))
    assert missing.returncode != 0 and missing.stderr.strip().startswith("Error:")
    assert "does not exist" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    not_run = run_cli("report", str(empty))
    assert not_run.returncode != 0 and "is not a run folder" in not_run.stderr
    (empty / "metrics.jsonl").write_text("")
    wrong = run_cli("report", str(empty), "--out", str(tmp_path / "r.jpg"))
    assert wrong.returncode != 0 and "written as .png or .html" in wrong.stderr


def test_report_reads_and_draws_without_torch(toy_run, tmp_path):
    code = (
        "import sys; from ganzoo.report import load_run, write_report; "
        f"r = write_report(load_run({str(toy_run)!r}), {str(tmp_path / 'r.png')!r}); "
        "print(r.last_step, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["40", "False"]


def test_class_shares_of_a_coverage_evaluation_and_of_a_health_check(toy_run, tmp_path):
    """The histogram shows the newest periodic `coverage` evaluation, else the newest health check's shares."""
    import shutil

    from ganzoo.data import DataOptions, resolve_data
    from ganzoo.metrics.evaluate import evaluate_batches
    from ganzoo.report.classes import run_class_shares

    run_dir = tmp_path / "run"
    shutil.copytree(toy_run, run_dir)
    shares = [0.05, 0.15] + [0.1] * 8
    health = {"class_coverage": 1.0, "class_fractions": shares, "class_samples": 64}
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:  # as the trainer logs a health check
        fh.write(json.dumps({"step": 41, "health": health}) + "\n")
    found = run_class_shares(load_run(run_dir))
    assert found.shares == shares and found.reference is None and "step 41, 64 samples" in found.source
    bars = panel(draw(load_run(run_dir)), "Class shares of the samples").patches
    assert [b.get_height() for b in bars] == pytest.approx(shares)

    digits = resolve_data("digits", DataOptions(image_size=32, channels=1))
    batch = digits.test.get_batch([(i, 0) for i in range(300)])
    result = evaluate_batches([(batch["image"], None)], digits, "coverage", extractor="digits")
    with open(run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:  # as the trainer logs --eval-metric coverage
        fh.write(json.dumps({"step": 42, "eval": result.to_json()}) + "\n")
    found = run_class_shares(load_run(run_dir))
    assert found.shares == pytest.approx([result.values[f"coverage/{k}"] for k in range(10)])
    assert found.reference == pytest.approx([result.values[f"coverage_ref/{k}"] for k in range(10)])
    fig = draw(load_run(run_dir))
    ax = panel(fig, "Class shares of the samples")
    assert [b.get_height() for b in ax.patches] == pytest.approx(found.shares)
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"reference data"}


def test_evaluations_and_ada_probability_of_runs_side_by_side(toy_registry, tmp_path):
    """The evaluation panel draws every periodic FD, the augmentation panel ADA's p and r_t as logged; a
    compared run adds its own curves, each labelled by its folder."""
    common = {"eval_every": 4, "eval_metric": "fid", "eval_n": 64, "eval_extractor": "digits", "log_every": 2,
              "diagnostics_every": 0}
    smoke_train("toy", tmp_path / "ada", steps=8, train_overrides={**common, "augment": "ada:kimg=0.05,interval=1"})
    smoke_train("toy", tmp_path / "none", steps=8, train_overrides=common)
    ada, none = load_run(tmp_path / "ada"), load_run(tmp_path / "none")
    p_steps, p_values = zip(*[(r["step"], r["augment_p"]) for r in ada.metrics], strict=True)
    assert p_steps == (2, 4, 6, 8) and max(p_values) > 0  # p moved within the run

    fig = draw(ada, compare=[none])
    lines = {ln.get_label(): ln for ln in panel(fig, "Periodic evaluation (--eval-every)").get_lines()}
    assert set(lines) == {"ada: fid", "none: fid"}
    for name, run in (("ada", ada), ("none", none)):
        assert list(lines[f"{name}: fid"].get_xdata()) == [4, 8]
        assert list(lines[f"{name}: fid"].get_ydata()) == pytest.approx([r["eval"]["values"]["fid"] for r in run.evals])
    ax = panel(fig, "Discriminator augmentation (--augment ada)")
    curves = {ln.get_label(): ln for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    assert set(curves) == {"ada: p", "ada: r_t (overfitting heuristic)"}  # the run without ADA has no p
    assert list(curves["ada: p"].get_ydata()) == pytest.approx(p_values)
    assert list(curves["ada: r_t (overfitting heuristic)"].get_ydata()) == pytest.approx(
        [r["augment_rt"] for r in ada.metrics])
    assert any(list(ln.get_ydata()) == [0.6, 0.6] for ln in ax.get_lines())  # the r_t target
    for title in TIMELINES:  # one time axis for both runs
        assert panel(fig, title).get_xlim() == (0, 8)

    alone = panel(draw(none), "Discriminator augmentation (--augment ada)")
    assert any("--augment none" in t.get_text() for t in alone.texts)
    result = run_cli("report", str(tmp_path / "ada"), "--compare", str(tmp_path / "none"), "--out",
                     str(tmp_path / "both.png"), "--dpi", "30", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["panels"] == list(PANELS)
