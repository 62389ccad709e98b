"""The benchmark's plain reference loops compute the same update as ganzoo's engine (so the ratio is fair)."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _capture_batches(session) -> list[dict]:
    """Record every batch the engine hands to train_step (the real StepContext, wrapped by the probe)."""
    seen: list[dict] = []
    wrapped = session.trainer.ctx.next_batch

    def next_batch():
        batch = wrapped()
        seen.append({k: v.clone() for k, v in batch.items() if isinstance(v, torch.Tensor)})
        return batch

    session.trainer.ctx.next_batch = next_batch
    return seen


def _largest_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert len(sa) == len(sb)
    return max((x.float() - y.float()).abs().max().item() for x, y in zip(sa.values(), sb.values()))


def test_reference_dcgan_has_ganzoo_layers_and_takes_the_same_steps():
    from benchmarks.reference_dcgan import ReferenceDCGAN, copy_weights
    from ganzoo.bench.session import EngineSession

    session = EngineSession("dcgan", overrides={"image_size": 32, "channels": 3, "g_width": 16, "d_width": 16,
                                                "r1_gamma": 0.0},  # the paper's update, as the reference's
                            train_overrides={"batch_size": 8, "precision": "fp32"})  # the reference's arithmetic
    try:
        G, D = session.model.nets["G"], session.model.nets["D"]
        ref = ReferenceDCGAN(image_size=32, channels=3, width=16)
        assert [p.shape for p in G.parameters()] == [p.shape for p in ref.netG.parameters()]
        assert [p.shape for p in D.parameters()] == [p.shape for p in ref.netD.parameters()]
        copy_weights(G, ref.netG)
        copy_weights(D, ref.netD)
        batches = _capture_batches(session)
        for step in range(3):
            torch.manual_seed(100 + step)  # ganzoo draws its latents from the global generator
            z = torch.randn(8, 100)
            torch.manual_seed(100 + step)
            session.run(1)
            ref.step(batches[-1]["image"], noise=z)
        # Three Adam steps of 2e-4 each: the two sides agree to float rounding.
        assert _largest_difference(G, ref.netG) < 2e-5
        assert _largest_difference(D, ref.netD) < 2e-5
        moved = max((p - q).abs().max().item() for p, q in zip(G.state_dict().values(),
                                                                 ReferenceDCGAN(image_size=32, channels=3,
                                                                                width=16).netG.state_dict().values()))
        assert moved > 1e-3  # the weights really changed
    finally:
        session.close()


def test_reference_cyclegan_takes_the_same_steps_with_its_pools():
    from benchmarks.reference_cyclegan import ReferenceCycleGAN
    from ganzoo.bench.session import EngineSession

    overrides = {"image_size": 32, "channels": 3, "generator": "resnet_6blocks", "ngf": 8, "ndf": 8,
                 "lambda_identity": 0.5, "load_size": None, "flip": False, "pool_size": 2}
    session = EngineSession("cyclegan", overrides=overrides,
                            train_overrides={"batch_size": 2, "precision": "fp32"})  # the reference's arithmetic
    try:
        ref = ReferenceCycleGAN(session.model.nets, pool_size=2)
        g_a_before = copy.deepcopy(session.model.nets["G_A"])
        batches = _capture_batches(session)
        for step in range(3):  # the pools (2 images) are full from the second step on: swaps happen
            random.seed(step)
            session.run(1)
            random.seed(step)
            ref.step(batches[-1]["a"], batches[-1]["b"])
        # Compare what the networks compute: a convolution bias followed by instance norm has a
        # gradient that is float noise (the norm removes it), which Adam turns into +-lr steps, so those
        # biases differ between any two implementations without changing any output.
        probe = torch.Generator().manual_seed(9)
        x = torch.rand(2, 3, 32, 32, generator=probe) * 2 - 1
        with torch.no_grad():
            for name, mine in (("G_A", ref.G_A), ("G_B", ref.G_B), ("D_A", ref.D_A), ("D_B", ref.D_B)):
                ours, theirs = session.model.nets[name](x), mine(x)
                assert (ours - theirs).abs().max().item() < 1e-4 * max(1.0, theirs.abs().max().item()), name
            moved = (session.model.nets["G_A"](x) - g_a_before(x)).abs().max().item()
        assert moved > 1e-3  # three steps really changed the generator
        for pool, mine in ((session.model.pools["fake_b"], ref.pool_a), (session.model.pools["fake_a"], ref.pool_b)):
            assert len(pool.images) == len(mine.stored) == 2
            for x, y in zip(pool.images, mine.stored):
                assert (x - y).abs().max().item() < 1e-4
    finally:
        session.close()


def test_report_section_replaces_only_the_generated_part(tmp_path):
    from benchmarks.report import BEGIN, END, write_section

    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Title\n\nhand-written\n\n{BEGIN}\nold numbers\n{END}\n\n## After\nmore text\n")
    write_section(doc, f"{BEGIN}\nnew numbers\n{END}")
    text = doc.read_text()
    assert "old numbers" not in text and "new numbers" in text
    assert text.startswith("# Title\n\nhand-written\n\n") and text.endswith("\n\n## After\nmore text\n")
    assert not list(tmp_path.glob("*.tmp"))
    (tmp_path / "plain.md").write_text("no markers")
    with pytest.raises(SystemExit):
        write_section(tmp_path / "plain.md", "x")


def test_the_docs_have_a_generated_section():
    from benchmarks.report import BEGIN, END

    text = (ROOT / "docs" / "benchmarks.md").read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1 and text.index(BEGIN) < text.index(END)


@pytest.mark.slow
def test_quick_benchmark_run_produces_every_section(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=3000, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["profile"] == "quick" and results["rounds"] == 2
    assert results["peak"]["gflops"] > 0
    for key in ("dcgan", "cyclegan"):
        c = results[key]
        assert len(c["ratios"]) == 2 and c["ratio"] > 0 and c["cpu_ratio"] > 0
        assert c["ganzoo"]["flops_per_step"] > 0 and c["reference"]["flops_per_step"] > 0
    # The example computes D's weight gradients in the generator update; ganzoo freezes D there.
    assert results["dcgan"]["reference"]["flops_per_step"] > results["dcgan"]["ganzoo"]["flops_per_step"]
    assert results["dcgan"]["peak_fraction"] > 0
    labels = [d["label"] for d in results["data"]]
    assert len(labels) == 4 and sum("folder" in label for label in labels) == 2
    assert all(0 <= d["data_share"] < 1 for d in results["data"])
    sample, translate = results["inference"]["sample"], results["inference"]["translate"]
    assert sample["n"] == 32 and sample["cli_images_per_s"] > 0 and len(sample["generate_images_per_s"]) == 4
    assert translate["n"] == 4 and translate["cli_images_per_s"] > 0 and len(translate["translate_images_per_s"]) == 4
    scale = results["scale"]
    assert [p["image_size"] for p in scale["by_size"]] == [16, 32]
    assert [p["batch_size"] for p in scale["by_batch"]] == [2, 4]
    assert scale["by_size"][1]["flops_per_step"] > 4 * scale["by_size"][0]["flops_per_step"]  # 4x pixels, one more layer
    assert scale["by_batch"][1]["flops_per_step"] == 2 * scale["by_batch"][0]["flops_per_step"]
    png = out / "bench-scaling.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ratio" in proc.stdout and "targets" in proc.stdout

    from benchmarks.report import BEGIN, END, markdown

    section = markdown(results, plot_path="img/bench-scaling.png")
    assert section.startswith(BEGIN) and section.endswith(END)
    assert "### ganzoo against the plain reference loop" in section and "### Scaling" in section
