"""torch.compile in training: the per-family default, explicit flags, resume and the fallback to eager."""

from __future__ import annotations

import pytest
import yaml

from ganzoo.engine.compile import choose_compile, recorded_compile
from ganzoo.testing import check_resume, compare_checkpoints, run_cli, smoke_train

FALLBACK = "torch.compile could not compile the networks"


def test_choice_explicit_then_recorded_then_default():
    assert choose_compile(False, True, recorded=True) == choose_compile(False, False)
    assert not choose_compile(False, True, recorded=True).enabled
    assert choose_compile(True, False).reason == "as asked"
    kept = choose_compile(None, True, recorded=False)
    assert not kept.enabled and kept.reason == "kept as this run recorded it"
    default = choose_compile(None, True)
    assert default.enabled and default.reason == "this model's default"
    assert not choose_compile(None, False).enabled
    assert recorded_compile({"config": {"train": {"compile": True}}}) is True
    assert recorded_compile({"config": {"train": {"compile": None}}}) is None
    assert recorded_compile({"config": {}}) is None


def test_fallback_backend_runs_the_graph_eagerly_said_once(tmp_path, monkeypatch, capsys):
    import torch
    import torch._inductor.config as inductor_config

    from ganzoo.engine import compile as compile_mod

    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))  # nothing cached to fall back on
    monkeypatch.setattr(compile_mod, "_fallback_said", False)
    torch.manual_seed(0)
    nets = {"a": torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh()),
            "b": torch.nn.Sequential(torch.nn.Linear(5, 2), torch.nn.Sigmoid())}
    x = torch.randn(4, 3)
    expected = nets["b"](nets["a"](x))
    with inductor_config.patch({"cpp.cxx": (str(tmp_path / "no-such-compiler"),), "fx_graph_cache": False}):
        compile_mod.compile_nets(nets)
        got = nets["b"](nets["a"](x))
    assert torch.equal(got, expected)
    err = capsys.readouterr().err
    assert err.count(FALLBACK) == 1 and "training eagerly instead" in err  # two graphs failed, said once
    assert list(nets["a"].state_dict()) == ["0.weight", "0.bias"]  # names unchanged: checkpoints fit eager runs


def test_resume_keeps_the_recorded_choice(toy_registry, tmp_path):
    out = tmp_path / "run"
    toy = {"compile_by_default": True}
    # Started eager against a compiling default; resumed without a flag: still eager (nothing compiles).
    smoke_train("toy", out, steps=2, overrides=toy, train_overrides={"compile": False})
    assert _config(out)["host"]["compile_reason"] == "as asked"
    smoke_train("toy", out, steps=4, overrides=toy)
    config = _config(out)
    assert config["train"]["compile"] is False and config["host"]["compile"] is False
    assert config["host"]["compile_reason"] == "kept as this run recorded it"
    # Without a record and without a flag, the family's default decides.
    smoke_train("toy", tmp_path / "plain", steps=1, overrides={"compile_by_default": False})
    assert _config(tmp_path / "plain")["host"]["compile_reason"] == "this model's default"


def _no_compiler(toy_env, tmp_path):
    """The toy plugin's environment with no usable C++ compiler for inductor and a fresh inductor cache."""
    return {**toy_env, "CXX": str(tmp_path / "no-such-compiler"), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor"),
            "TORCHINDUCTOR_COMPILE_THREADS": "1", "OMP_NUM_THREADS": "1", "GANZOO_THREADS": "1"}


def _train(env, out, *args):
    return run_cli("train", "toy", "--out", str(out), "--sample-every", "100", "--diagnostics-every", "0", *args,
                   env=env, timeout=300)


def _config(out):
    return yaml.safe_load((out / "config.yaml").read_text())


@pytest.mark.slow  # two CLI runs, one tracing the networks for inductor: about 18 s of CPU
def test_failed_compile_trains_eagerly_said_once(toy_env, tmp_path):
    env = _no_compiler(toy_env, tmp_path)
    res = _train(env, tmp_path / "compiled", "--steps", "3", "--set", "compile_by_default=true")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count(FALLBACK) == 1, res.stderr  # G and D both fail; said once
    assert "Traceback" not in res.stderr
    config = _config(tmp_path / "compiled")
    assert config["train"]["compile"] is True
    assert config["host"]["compile"] is True and config["host"]["compile_reason"] == "this model's default"
    # The fallback runs the captured graphs eagerly: the same numbers as an eager run.
    res = _train(env, tmp_path / "eager", "--steps", "3", "--set", "compile_by_default=true", "--no-compile")
    assert res.returncode == 0, res.stderr
    assert FALLBACK not in res.stderr  # nothing was compiled
    config = _config(tmp_path / "eager")
    assert config["train"]["compile"] is False and config["host"]["compile_reason"] == "as asked"
    ck = "checkpoints/last.safetensors"
    assert compare_checkpoints(tmp_path / "compiled" / ck, tmp_path / "eager" / ck).exact


@pytest.mark.slow  # three CLI runs: about 24 s of CPU
def test_cli_resume_keeps_the_recorded_choice(toy_env, tmp_path):
    env = _no_compiler(toy_env, tmp_path)
    out = tmp_path / "run"
    # Started eager against a compiling default; resumed without a flag: still eager.
    res = _train(env, out, "--steps", "2", "--set", "compile_by_default=true", "--no-compile")
    assert res.returncode == 0, res.stderr
    res = _train(env, out, "--steps", "4", "--set", "compile_by_default=true")
    assert res.returncode == 0, res.stderr
    assert FALLBACK not in res.stderr
    config = _config(out)
    assert config["train"]["compile"] is False
    assert config["host"]["compile_reason"] == "kept as this run recorded it"
    # An explicit flag on resume wins over the record.
    res = _train(env, out, "--steps", "5", "--set", "compile_by_default=true", "--compile")
    assert res.returncode == 0, res.stderr
    assert res.stderr.count(FALLBACK) == 1
    assert _config(out)["train"]["compile"] is True


def test_train_help_shows_the_compile_flag(toy_env):
    res = run_cli("train", "toy", "--help", env=toy_env, check=True)
    assert "--compile / --no-compile" in res.stdout


@pytest.mark.slow  # inductor compiles the toy networks with the C++ compiler three times (about a minute)
def test_compiled_run_resumes_bit_exact(toy_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    report = check_resume("toy", tmp_path, steps=6, split=3, train_overrides={"compile": True})
    assert report.exact and report.compared > 20


def test_gradient_penalty_runs_a_compiled_critic_eagerly():
    import torch

    from ganzoo.losses import gradient_penalty

    torch.manual_seed(0)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    reference = [p.detach().clone() for p in critic.parameters()]
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)

    def penalty_grads(generator_seed: int) -> list[torch.Tensor]:
        critic.zero_grad()
        gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(generator_seed)).backward()
        # The last bias does not move the scores' gradient: it gets none.
        return [torch.zeros(()) if p.grad is None else p.grad.clone() for p in critic.parameters()]

    eager = penalty_grads(1)
    # aot_eager: the same autograd machinery as inductor (no double backward), without a C++ build.
    critic.compile(backend="aot_eager")
    x = torch.randn(4, 3, 2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"double backward|create_graph"):  # as torch words it, by its state
        (g,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
        g.square().sum().backward()
    compiled = penalty_grads(1)
    assert all(torch.equal(a, b) for a, b in zip(eager, compiled))
    assert all(torch.equal(a, b) for a, b in zip(reference, critic.parameters()))


def test_eager_graphs_is_a_no_op_context_on_a_torch_without_compiler_stances(monkeypatch) -> None:
    """requirements allow torch >= 2.4; compiler stances came in 2.6: gradient penalties must still run."""
    import torch

    from ganzoo.engine.compile import eager_graphs
    from ganzoo.losses import gradient_penalty

    monkeypatch.delattr(torch.compiler, "set_stance", raising=False)
    critic = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1))
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    with eager_graphs():
        pass
    penalty = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(penalty) and penalty.requires_grad
