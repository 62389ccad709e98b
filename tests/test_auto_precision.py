"""`--precision auto`: a measured, cached choice per host; explicit modes win; a resumed run keeps its mode."""

from __future__ import annotations

import json

import pytest
import torch
import yaml

from ganzoo.engine import auto_precision
from ganzoo.engine.checkpoint import read_header
from ganzoo.engine.precision import Precision
from ganzoo.testing.kit import smoke_train


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANZOO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv(auto_precision.PROBE_ENV, raising=False)
    auto_precision._choose.cache_clear()
    yield tmp_path / "home" / "cache" / auto_precision.CACHE_NAME
    auto_precision._choose.cache_clear()


def test_the_probe_measures_this_host_and_its_verdict_is_cached_under_the_host_key(fresh_cache, monkeypatch):
    first = auto_precision.choose_precision("cpu")
    assert first.mode == ("bf16" if first.speedup >= auto_precision.MIN_SPEEDUP else "fp32")
    assert first.speedup > 0 and not first.cached and "measured" in first.reason
    stored = json.loads(fresh_cache.read_text())
    assert stored[auto_precision.host_key(torch.device("cpu"))]["mode"] == first.mode
    auto_precision._choose.cache_clear()  # a new process: the file answers, the probe does not run
    monkeypatch.setattr(auto_precision, "probe", lambda device: pytest.fail("probed again"))
    again = auto_precision.choose_precision("cpu")
    assert again.cached and again.mode == first.mode and again.speedup == pytest.approx(first.speedup, abs=1e-3)


def test_another_cpu_or_torch_is_probed_again(fresh_cache, monkeypatch):
    verdicts = iter([(2.5, "conv 2.50x, matmul 2.50x"), (0.5, "conv 0.50x, matmul 0.50x")])
    monkeypatch.setattr(auto_precision, "probe", lambda device: next(verdicts))
    monkeypatch.setattr(auto_precision, "host_key", lambda device: "host-a")
    assert auto_precision.choose_precision("cpu").mode == "bf16"
    auto_precision._choose.cache_clear()
    monkeypatch.setattr(auto_precision, "host_key", lambda device: "host-b")
    assert auto_precision.choose_precision("cpu").mode == "fp32"
    assert {k: v["mode"] for k, v in json.loads(fresh_cache.read_text()).items()} == {"host-a": "bf16", "host-b": "fp32"}


def test_explicit_modes_win_and_auto_resolves(fresh_cache, monkeypatch):
    monkeypatch.setenv(auto_precision.PROBE_ENV, "bf16")
    auto = Precision.create("auto", torch.device("cpu"))
    assert (auto.mode, auto.requested, auto.dtype) == ("bf16", "auto", torch.bfloat16)
    assert Precision.create("fp32", torch.device("cpu")).mode == "fp32"
    assert not fresh_cache.exists()  # a fixed answer never probes


def test_a_resumed_auto_run_keeps_the_mode_it_recorded(fresh_cache, monkeypatch, toy_registry, tmp_path):
    out = tmp_path / "run"
    monkeypatch.setenv(auto_precision.PROBE_ENV, "bf16")
    smoke_train("toy", out, steps=2, registry=toy_registry)
    last = out / "checkpoints" / "last.safetensors"
    assert read_header(last)["state_structure"]["precision"]["mode"] == "bf16"
    monkeypatch.setenv(auto_precision.PROBE_ENV, "fp32")  # e.g. resumed on a host without bf16
    smoke_train("toy", out, steps=4, registry=toy_registry)
    assert read_header(last)["step"] == 4
    assert read_header(last)["state_structure"]["precision"]["mode"] == "bf16"
    host = yaml.safe_load((out / "config.yaml").read_text())["host"]
    assert host["precision"] == "bf16" and "kept as this run recorded it" in host["precision_reason"]


def test_channels_last_follows_the_precision_unless_asked_and_a_resume_keeps_it(fresh_cache, monkeypatch,
                                                                                toy_registry, tmp_path):
    from ganzoo.engine.layout import choose_channels_last

    assert choose_channels_last(None, "bf16", "cpu").channels_last
    assert choose_channels_last(None, "fp16", "cuda").channels_last
    assert not choose_channels_last(None, "fp32", "cpu").channels_last
    assert not choose_channels_last(None, "bf16", "mps").channels_last
    assert not choose_channels_last(False, "bf16", "cpu").channels_last  # explicit wins
    assert choose_channels_last(True, "fp32", "cpu").reason == "as asked"
    assert not choose_channels_last(None, "bf16", "cpu", recorded=False).channels_last

    out = tmp_path / "run"
    monkeypatch.setenv(auto_precision.PROBE_ENV, "bf16")
    smoke_train("toy", out, steps=2, registry=toy_registry)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["channels_last"] is True and config["host"]["channels_last"] is True
    assert read_header(out / "checkpoints" / "last.safetensors")["config"]["train"]["channels_last"] is True
    monkeypatch.setenv(auto_precision.PROBE_ENV, "fp32")
    smoke_train("toy", out, steps=4, registry=toy_registry)
    host = yaml.safe_load((out / "config.yaml").read_text())["host"]
    assert host["channels_last"] is True and "kept as this run recorded it" in host["channels_last_reason"]
