"""`ganzoo bench` and the measuring code in ganzoo.bench: real steps through the engine, checked numbers."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch

from ganzoo.bench.model_bench import FIELDS
from ganzoo.bench.stats import TimeStats, percentile
from ganzoo.testing import run_cli


def toy_step_flops(batch: int, latent: int, hidden: int, pixels: int) -> int:
    """FLOPs of one toy GAN step from its layer sizes (each linear layer: 2 B in out per product).

    The generator's forward pass is reused by the generator update (one G forward), the
    discriminator runs on real, fake (D update) and fake (G update, parameters frozen: no weight
    gradients there), and no gradient is computed for inputs that do not need one.
    """
    g1, g2 = 2 * batch * latent * hidden, 2 * batch * hidden * pixels
    d1, d2 = 2 * batch * pixels * hidden, 2 * batch * hidden
    forward = (g1 + g2) + 3 * (d1 + d2)
    d_update = 2 * (d1 + 2 * d2)  # weight grads of both layers, input grad of the last, for real and fake
    g_update = (d1 + d2) + (2 * g2 + g1)  # input grads through D, then G's weights and its hidden input
    return forward + d_update + g_update


def test_percentile_matches_numpy():
    rng = np.random.default_rng(0)
    values = rng.random(37).tolist()
    for q in (0, 10, 50, 90, 100):
        assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    stats = TimeStats.of([3.0, 1.0, 2.0])
    assert (stats.n, stats.median, stats.min, stats.max, stats.mean) == (3, 2.0, 1.0, 3.0, 2.0)
    assert stats.p90 == pytest.approx(2.8)


def test_matmul_peak_is_the_median_rate_of_its_timings():
    from ganzoo.bench.peak import matmul_peak

    peak = matmul_peak("cpu", "fp32", size=256, repeats=5, warmup=1)
    assert len(peak.seconds) == 5 and peak.size == 256 and peak.dtype == "fp32"
    assert peak.gflops == pytest.approx(2 * 256**3 / float(np.median(peak.seconds)) / 1e9)
    assert peak.gflops > 0.1
    bf16 = matmul_peak("cpu", "bf16", size=128, repeats=3, warmup=1)
    assert bf16.dtype == "bf16" and bf16.gflops > 0


def test_peak_rss_sees_a_large_allocation_and_resets():
    from ganzoo.bench.memory import current_rss_bytes, peak_rss_bytes, reset_peak_rss

    assert reset_peak_rss()
    before = peak_rss_bytes()
    block = torch.ones(64 * 2**20 // 4)  # 64 MiB, written (so resident)
    grown = peak_rss_bytes()
    assert grown - before >= 48 * 2**20
    del block
    assert reset_peak_rss()
    assert peak_rss_bytes() < grown - 32 * 2**20
    assert peak_rss_bytes() >= (current_rss_bytes() or 0) - 2**20


def test_session_records_every_step_its_images_and_its_data_wait(toy_registry):
    from ganzoo.bench.session import EngineSession

    session = EngineSession("toy", train_overrides={"batch_size": 16})
    try:
        records = session.run(3, count_flops=True)
        assert len(records) == 2  # the counted step is not timed
        cfg = session.run_config.model
        assert session.probe.flops.total == toy_step_flops(16, cfg.latent_dim, cfg.hidden, cfg.image_size ** 2)
        # A data set that takes 30 ms per batch: the probe must see the wait inside the step.
        dataset = session.trainer.stream.dataset
        slow_batch = dataset.get_batch

        def get_batch(keys):
            time.sleep(0.03)
            return slow_batch(keys)

        dataset.get_batch = get_batch
        session.trainer.stream.load_state_dict(session.trainer.stream.state_dict())  # restart its iterator
        started = time.perf_counter()
        records = session.run(4)
        elapsed = time.perf_counter() - started
        assert len(records) == 4 and session.trainer.step == 7
        for record in records:
            assert record.images == 16
            assert 0.03 <= record.data_seconds < record.seconds
            assert record.cpu_seconds > 0
        assert sum(r.seconds for r in records) <= elapsed
    finally:
        session.close()
    assert "train_step" not in vars(session.model)  # the instance wrappers are gone


def _bench_json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow  # ganzoo bench runs: over 10 s on an idle 2-core machine
def test_bench_cli_reports_every_field_on_the_toy_model(toy_env):
    result = run_cli("bench", "toy", "--steps", "4", "--warmup", "1", "--peak-size", "256", "--json", env=toy_env,
                     timeout=600)
    data = _bench_json(result)
    assert set(FIELDS) <= set(data)
    assert data["model"] == "toy" and data["plugin"] == "ganzoo-toy" and data["data"] == "toy-squares"
    assert data["steps"] == 4 and data["warmup"] == 1 and data["batch_size"] == 16 and data["device"] == "cpu"
    t = data["step_time"]
    assert t["n"] == 4 and 0 < t["min"] <= t["median"] <= t["p90"] <= t["max"]
    assert data["images_per_step"] == 16
    assert data["images_per_s"] == pytest.approx(16 / t["median"])
    assert data["flops_per_step"] == toy_step_flops(16, 8, 32, 64)
    assert data["gflops"] == pytest.approx(data["flops_per_step"] / t["median"] / 1e9)
    peak = data["matmul_peak"]
    # The peak is measured in the step's arithmetic: fp32, or bf16 where `auto` picks it (a CPU with bf16 units).
    assert data["precision"] in ("fp32", "bf16") and peak["dtype"] == data["precision"]
    assert peak["size"] == 256 and peak["gflops"] > 0
    assert data["peak_fraction"] == pytest.approx(data["gflops"] / peak["gflops"])
    assert 0 < data["data_share"] < 1 and data["data_seconds"]["n"] == 4
    assert data["peak_rss_bytes"] > 100 * 2**20  # python + torch are resident
    assert data["device_peak_bytes"] is None
    assert data["cpu_seconds_per_step"] > 0 and data["seconds"] > 0
    assert data["machine"]["cores"] >= 1 and data["machine"]["torch"] == torch.__version__

    table = run_cli("bench", "toy", "--steps", "2", "--warmup", "1", "--no-peak", env=toy_env, timeout=600)
    assert table.returncode == 0, table.stderr
    for row in ("step time", "images/s", "FLOPs per step", "achieved", "data loading", "peak memory"):
        assert row in table.stdout
    assert "matmul peak" not in table.stdout


@pytest.mark.slow  # ganzoo bench runs: over 10 s on an idle 2-core machine
def test_bench_cli_errors_are_one_line(toy_env):
    result = run_cli("bench", "toy", "--set", "nonsense=1", env=toy_env)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1
    missing = run_cli("bench", "no-such-model", env=toy_env)
    assert missing.returncode != 0 and missing.stderr.strip().startswith("Error: ")


def test_flop_count_of_a_step_with_a_gradient_penalty():
    """A penalty differentiates the critic with respect to a leaf tensor (`torch.autograd.grad`), which the
    counter must allow; its double backward is counted like any other convolution."""
    from ganzoo.bench.flops import count_flops
    from ganzoo.losses import r1_penalty

    conv = torch.nn.Conv2d(1, 4, 3)

    def penalty() -> torch.Tensor:
        x = torch.randn(2, 1, 8, 8, requires_grad=True)
        value = r1_penalty(conv(x).sum(dim=(1, 2, 3)), x)
        value.backward()
        return value

    value, plain = count_flops(lambda: conv(torch.randn(2, 1, 8, 8)))
    value, count = count_flops(penalty)
    assert value > 0 and conv.weight.grad is not None
    assert plain.total == 2 * 2 * 4 * 9 * 36  # 2 FLOPs per product: batch 2, 4 maps, 3 x 3 kernel, 6 x 6 outputs
    # Forward, the input gradient, its own backward and the weight gradient: at least three times the forward.
    assert count.total >= 3 * plain.total and count.by_op["convolution_backward"] > 0


@pytest.mark.slow  # two bench runs at the demos' sizes
def test_bench_cli_runs_the_penalty_families():
    for name in ("wgan_gp", "stylegan2"):
        got = run_cli("bench", name, "--steps", "1", "--warmup", "1", "--batch-size", "4", "--no-peak", "--json",
                      timeout=900)
        assert got.returncode == 0, got.stderr[-2000:]
        assert _bench_json(got)["flops_per_step"] > 0


@pytest.mark.slow
def test_bench_dcgan_at_tiny_size_counts_flops_that_scale_with_the_batch():
    common = ("bench", "dcgan", "--steps", "2", "--warmup", "1", "--image-size", "16", "--set", "g_width=8",
              "--set", "d_width=8", "--peak-size", "128", "--json")
    four = _bench_json(run_cli(*common, "--batch-size", "4", timeout=900))
    eight = _bench_json(run_cli(*common, "--batch-size", "8", timeout=900))
    for data in (four, eight):
        assert set(FIELDS) <= set(data)
        assert data["model"] == "dcgan" and data["data"] == "digits" and data["image_size"] == 16
        assert data["flops_by_op"]["convolution"] > 0 and data["flops_by_op"]["convolution_backward"] > 0
        assert 0 <= data["data_share"] < 1 and data["peak_fraction"] > 0
    assert eight["flops_per_step"] == 2 * four["flops_per_step"]
    assert (four["images_per_step"], eight["images_per_step"]) == (4, 8)
