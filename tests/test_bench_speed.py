"""ganzoo.engine.speed: the host allocator setting and fused optimizers (same maths, less work)."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from ganzoo.engine.speed import use_fused_optimizers

FAULTS = textwrap.dedent("""
    import json, resource, sys, torch
    from ganzoo.engine.speed import tune_host_allocator
    tuned = tune_host_allocator()
    first = torch.empty(6 * 2**20)  # a 24 MiB block: default glibc then serves smaller ones from its heap
    first.fill_(1.0)
    del first
    def churn():  # like a training step: activations allocated, then freed together
        for _ in range(6):
            blocks = [torch.ones(4 * 2**20) for _ in range(8)]  # 8 x 16 MiB, written
            del blocks
    churn()  # let the default allocator settle its thresholds
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    churn()
    print(json.dumps({"tuned": tuned, "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
""")


# glibc's documented static thresholds (128 KiB), set through its environment variables (mallopt(3)):
# with them, every 16 MiB block is mmapped and unmapped on free, so a process that does not keep its
# freed memory touches fresh pages at every churn. Setting them also turns off glibc's dynamic
# threshold, which otherwise decides by the process's address layout whether freed heap is kept.
RETURNING_GLIBC = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def _faults(flag: str, env: dict[str, str] | None = None) -> dict:
    env = {**os.environ, "GANZOO_TUNE_MALLOC": flag, "OMP_NUM_THREADS": "1", **(env or {})}
    proc = subprocess.run([sys.executable, "-c", FAULTS], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_tuned_allocator_keeps_freed_pages_in_the_process():
    import platform

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        assert _faults("1")["tuned"] is False  # only glibc has these settings
        return
    # 6 x 128 MiB written per churn: 6 * 8 * 4096 = 196 608 fresh pages when freed blocks go back to the
    # system each time. Without the tuning, a glibc set to return freed memory does exactly that ...
    returning = _faults("0", RETURNING_GLIBC)
    assert returning["tuned"] is False
    assert returning["faults"] > 6 * 128 * 256 // 2, returning
    # ... and the tuning overrides it (mallopt after start-up), as it does glibc's own default, so a
    # training step's freed activations stay in the process: almost no fresh pages.
    for env in (RETURNING_GLIBC, {}):
        tuned = _faults("1", env)
        assert tuned["tuned"] is True
        assert tuned["faults"] < returning["faults"] // 10, (env, tuned, returning)


def _nets(seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(seed)
    # (No bias feeding a batch norm: its gradient is float noise, which Adam would amplify to +-lr.)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 1))
    twin = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(8 * 6 * 6, 1))
    twin.load_state_dict(net.state_dict())
    return net, twin


def _train(net: torch.nn.Module, opt: torch.optim.Optimizer, steps: int = 5) -> None:
    generator = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(4, 3, 8, 8, generator=generator)
        opt.zero_grad(set_to_none=True)
        net(x).square().mean().backward()
        opt.step()


def test_fresh_adam_becomes_fused_and_computes_the_same_update():
    net, twin = _nets(0)
    plain = torch.optim.Adam(net.parameters(), lr=1e-2, betas=(0.5, 0.999))
    fused = torch.optim.Adam(twin.parameters(), lr=1e-2, betas=(0.5, 0.999))
    assert use_fused_optimizers({"D": fused}, torch.device("cpu")) == ["D"]
    assert fused.param_groups[0]["fused"] is True
    _train(net, plain)
    _train(twin, fused)
    moved = max((p - q).abs().max().item() for p, q in zip(net.parameters(), _nets(0)[0].parameters()))
    assert moved > 1e-2
    for p, q in zip(net.parameters(), twin.parameters()):
        assert torch.allclose(p, q, atol=1e-6, rtol=1e-5)
    state = fused.state_dict()
    assert state["param_groups"][0]["fused"] is True and state["state"][0]["step"].item() == 5


def test_explicit_choices_and_other_optimizers_are_left_alone():
    net, _ = _nets(0)
    params = list(net.parameters())
    chosen = torch.optim.Adam(params, foreach=False)
    sgd = torch.optim.SGD(params, lr=0.1)
    used = torch.optim.AdamW(params)
    _train(net, used, steps=1)  # has state: its implementation is already fixed
    fresh = torch.optim.AdamW(params)
    switched = use_fused_optimizers({"a": chosen, "b": sgd, "c": used, "d": fresh}, torch.device("cpu"))
    assert switched == ["d"]
    assert chosen.param_groups[0]["fused"] is None and used.param_groups[0]["fused"] is None
    assert use_fused_optimizers({"e": torch.optim.Adam(params)}, torch.device("meta")) == []


def test_a_checkpointed_unfused_optimizer_stays_unfused():
    """Resuming loads the saved settings over the fused switch, so old runs continue exactly."""
    net, twin = _nets(0)
    old = torch.optim.Adam(net.parameters(), lr=1e-2)
    _train(net, old, steps=2)
    resumed = torch.optim.Adam(twin.parameters(), lr=1e-2)
    twin.load_state_dict(net.state_dict())
    use_fused_optimizers({"G": resumed}, torch.device("cpu"))
    resumed.load_state_dict(copy.deepcopy(old.state_dict()))  # as if read back from a checkpoint file
    assert resumed.param_groups[0]["fused"] is None
    _train(net, old, steps=2)
    _train(twin, resumed, steps=2)
    for p, q in zip(net.parameters(), twin.parameters()):
        assert torch.equal(p, q)


def test_logs_summed_on_the_device_give_the_same_metrics_without_reading_back_per_step(toy_registry, monkeypatch):
    """The accelerator path (values stay on the device until logging), exercised on the CPU."""
    from ganzoo.bench.session import EngineSession

    runs = {}
    for every_step in (True, False):
        torch.manual_seed(0)
        session = EngineSession("toy", train_overrides={"log_every": 5, "batch_size": 16})
        session.trainer.read_logs_every_step = every_step
        reads = []
        original = torch.Tensor.item

        def item(tensor, reads=reads, original=original):
            reads.append(1)
            return original(tensor)

        monkeypatch.setattr(torch.Tensor, "item", item)
        session.run(10)
        monkeypatch.setattr(torch.Tensor, "item", original)
        runs[every_step] = (dict(session.trainer._last_logs), len(reads))
        session.close()
    (logs_host, reads_host), (logs_device, reads_device) = runs[True], runs[False]
    assert set(logs_host) == set(logs_device) and {"loss_d", "loss_g", "d_acc_real"} <= set(logs_host)
    for key, value in logs_host.items():
        assert logs_device[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key
    assert reads_host >= 10 * len(logs_host)  # every value of every step, read and checked
    assert reads_device == 0  # nothing read back with .item() inside the steps


def test_a_non_finite_loss_still_stops_training_when_logs_stay_on_the_device(toy_registry):
    from ganzoo.bench.session import EngineSession
    from ganzoo.errors import TrainingStopped

    session = EngineSession("toy", overrides={"explode_at": 3}, train_overrides={"log_every": 5})
    session.trainer.read_logs_every_step = False
    with pytest.raises(TrainingStopped, match="non-finite loss at step 5: loss_g=nan"):
        session.run(10)
    session.close()


def test_fused_optimizers_take_the_loss_scale_from_the_grad_scaler():
    """fp16's loss scaler: same steps, and a step with an infinite gradient is skipped, as unfused."""
    torch.manual_seed(0)
    w = torch.randn(10, requires_grad=True)
    twin = w.detach().clone().requires_grad_(True)
    plain, fused = torch.optim.Adam([w], lr=1e-2), torch.optim.Adam([twin], lr=1e-2)
    assert use_fused_optimizers({"G": fused}, torch.device("cpu")) == ["G"]
    assert fused._step_supports_amp_scaling
    scalers = torch.amp.GradScaler("cpu"), torch.amp.GradScaler("cpu")
    inputs = [torch.randn(10) for _ in range(4)] + [torch.full((10,), float("inf"))]
    for x in inputs:
        for param, opt, scaler in ((w, plain, scalers[0]), (twin, fused, scalers[1])):
            opt.zero_grad()
            scaler.scale((param * x).sum() ** 2).backward()
            scaler.step(opt)
            scaler.update()
    assert torch.equal(w, twin) and torch.isfinite(twin).all()
    assert scalers[0].get_scale() == scalers[1].get_scale() < 65536.0  # the inf step lowered the scale
