"""Bad input gets one clear `Error:` line, never "(this is a bug in ganzoo)": forged checkpoint headers,
option values (NaN, out-of-range seeds, betas), config files, stored weight types, model and batch
sizes beyond the machine's memory, and the data-loader worker bound."""

from __future__ import annotations

import dataclasses
import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ganzoo import configs
from ganzoo.configs import betas_option, option
from ganzoo.engine.checkpoint import load_checkpoint, read_header
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.testing import isolated_registry, run_cli, smoke_train, toy_plugin


# -- helpers --------------------------------------------------------------------------------------
def ganzoo(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    """Run the real command line in this process; (exit code, stdout, stderr)."""
    from ganzoo.cli import main

    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return stop.value.code or 0, captured.out, captured.err


def one_error(code: int, err: str) -> str:
    """The single `Error:` line of a failed command (and nothing that looks like a crash)."""
    assert code != 0, err
    assert "Traceback" not in err and "this is a bug" not in err, err
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def toy_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real training checkpoint of the toy model (2 steps)."""
    out = tmp_path_factory.mktemp("toy") / "run"
    with isolated_registry(("ganzoo-toy", toy_plugin)):
        smoke_train("toy", out, steps=2)
    return out / "checkpoints" / "last.safetensors"


def forge(src: Path, dst: Path, *, tensors: Any = None, **meta: str | None) -> Path:
    """Copy a checkpoint, replacing header fields (None deletes one) and optionally its tensors."""
    with safe_open(str(src), framework="pt") as fh:
        header = dict(fh.metadata())
        data = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118
    for key, value in meta.items():
        if value is None:
            header.pop(key, None)
        else:
            header[key] = value
    save_file(tensors(data) if tensors else data, str(dst), metadata=header)
    return dst


def with_config(src: Path, **model: Any) -> str:
    config = read_header(src)["config"]
    config["model"].update(model)
    return json.dumps(config)


# -- checkpoint headers ---------------------------------------------------------------------------
def _state_with(src: Path, extra: Any) -> str:
    with safe_open(str(src), framework="pt") as fh:
        state = json.loads(fh.metadata()["state"])
    state["extra_forged"] = extra
    return json.dumps(state)


HEADERS = {
    "config as a list": ({"config": "[1, 2]"}, "field config: must be a JSON object, not a list"),
    "config model section as a list": ({"config": '{"model": [1], "train": {}}'}, "its model section must be"),
    "config option as an object": ({"config": '{"model": {"hidden": {"a": 1}}}'}, "model.'hidden' holds an object"),
    "nets as an int": ({"nets": "5"}, "field nets: must be a JSON list of network names, not a number"),
    "nets with a name it does not hold": ({"nets": '["G", "D", "X"]'}, "lists networks ['X']"),
    "nets twice": ({"nets": '["G", "G"]'}, "lists a network twice"),
    "ema it does not hold": ({"ema": '["G"]'}, "no ema/ tensors"),
    "deeply nested config": ({"config": "[" * 100_000 + "]" * 100_000}, "nested 100000 levels deep"),
    "deeply nested state": ({"state": '{"a": ' + "[" * 5000 + "]" * 5000 + "}"}, "nested 5001 levels deep"),
    "step as a float": ({"step": "1e3"}, "field step: '1e3' is not an integer"),
    "negative epoch": ({"epoch": "-4"}, "field epoch: -4 is out of range"),
    "huge step": ({"step": str(2**64)}, "is out of range"),
    "format version not a number": ({"format_version": "one"}, "field format_version: 'one' is not an integer"),
    "unknown kind": ({"kind": "weights-only"}, "field kind"),
    "name not a model name": ({"name": "../../etc"}, "field name"),
    "missing nets": ({"nets": None}, "incomplete ganzoo header (missing nets)"),
    "data_info as text": ({"data_info": '"x"'}, "field data_info: must be a JSON object, not text"),
    "not JSON": ({"notes": "{oops"}, "field notes: not valid JSON"),
    "long plugin version": ({"plugin_version": "9" * 10_000}, "field plugin_version: text of 10000 characters"),
}


@pytest.mark.parametrize("case", list(HEADERS), ids=lambda c: c.replace(" ", "-"))
def test_a_forged_header_field_is_one_line(case, toy_checkpoint, tmp_path, toy_registry, capsys):
    changes, message = HEADERS[case]
    path = forge(toy_checkpoint, tmp_path / "forged.safetensors", **changes)
    for reader in (read_header, load_checkpoint):
        with pytest.raises(CheckpointError, match=r"corrupt|incomplete") as err:
            reader(path)
        assert message in str(err.value) and str(path) in str(err.value)
    line = one_error(*ganzoo(capsys, "sample", path, "--n", 2, "--out", tmp_path / "s.png")[::2])
    assert message in line


@pytest.mark.parametrize(("extra", "message"), [
    ({"__tensor__": "state/nope"}, "refers to a tensor 'state/nope' that the file does not hold"),
    ({"__tensor__": "net/G/body.0.weight"}, "refers to a tensor 'net/G/body.0.weight'"),
    ({"__items__": [[1, 2, 3]]}, "__items__ must be a list of [key, value] pairs"),
    ({"__items__": [[[1], 2]]}, "__items__ has a key of type a list"),
    ({"__tuple__": 3}, "__tuple__ must be a list"),
    ({"__float__": "1.5"}, "__float__ must be 'nan', 'inf' or '-inf'"),
    ({"__tensor__": "state/x", "other": 1}, "has other keys too"),
])
def test_inconsistent_state_references_are_refused(extra, message, toy_checkpoint, tmp_path):
    path = forge(toy_checkpoint, tmp_path / "forged.safetensors", state=_state_with(toy_checkpoint, extra))
    with pytest.raises(CheckpointError, match="field state") as err:
        read_header(path)
    assert message in str(err.value)


def _no_stream(state: dict) -> str:
    del state["stream"]
    return "(KeyError: 'stream')"


def _null_step_count(state: dict) -> str:
    state["schedulers"]["G"]["_step_count"] = None
    return "(state/schedulers/G/_step_count is null, this run keeps a number there)"


def _text_offset(state: dict) -> str:
    state["stream"]["offset"] = "32"
    return "(state/stream/offset is text, this run keeps a number there)"


@pytest.mark.parametrize("forgery", [_no_stream, _null_step_count, _text_offset])
def test_a_forged_training_state_is_one_line_on_resume(forgery, toy_checkpoint, tmp_path, toy_registry, capsys):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(toy_checkpoint.parent.parent, run)
    with safe_open(str(toy_checkpoint), framework="pt") as fh:
        state = json.loads(fh.metadata()["state"])
    expected = forgery(state)
    forge(toy_checkpoint, run / "checkpoints" / "last.safetensors", state=json.dumps(state))
    line = one_error(*ganzoo(capsys, "train", "toy", "--device", "cpu", "--steps", 3, "--out", run)[::2])
    assert f"its training state does not fit this run {expected}" in line


def test_unknown_header_fields_are_kept_and_ignored(toy_checkpoint, tmp_path):
    path = forge(toy_checkpoint, tmp_path / "future.safetensors", future_field="[[[whatever")
    assert read_header(path)["future_field"] == "[[[whatever"
    assert load_checkpoint(path).step == 2


def test_forged_header_through_the_cli_subprocess(toy_checkpoint, tmp_path, toy_env):
    path = forge(toy_checkpoint, tmp_path / "forged.safetensors", config="[1, 2]")
    result = run_cli("sample", str(path), "--out", str(tmp_path / "s.png"), env=toy_env)
    line = one_error(result.returncode, result.stderr)
    assert "field config: must be a JSON object, not a list" in line


def test_header_config_values_are_validated_like_options(toy_checkpoint, tmp_path, toy_registry, capsys):
    path = forge(toy_checkpoint, tmp_path / "nan.safetensors",
                 config=with_config(toy_checkpoint, lr=float("nan")))
    line = one_error(*ganzoo(capsys, "sample", path, "--out", tmp_path / "s.png")[::2])
    assert str(path) in line and "lr: nan is not a finite number" in line


# -- option values ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["--seed", str(2**64)], "seed: 18446744073709551616 is above the maximum 18446744073709551615"),
    (["--seed", "-1"], "seed: -1 is below the minimum 0"),
    (["--set", "lr=nan"], "--set: lr: nan is not a finite number"),
    (["--lr", "inf"], "command line: lr: inf is not a finite number"),
    (["--set", "dropout=-inf"], "dropout: -inf is not a finite number"),
    (["--lr", "1e400"], "lr: inf is not a finite number"),
    (["--latent-dim", "1e400"], "latent_dim: '1e400' is not a valid int"),
    (["--set", f"hidden={10**30}"], "hidden: 1000000000000000000000000000000 is above the maximum"),
    (["--set", "hidden=" + "9" * 5000], "hidden: '99999999999999999999999999999999"),
    (["--set", "data=a\x00b"], "data: text with a NUL character is not allowed"),
])
def test_option_values_are_checked_fully(args, message, tmp_path, toy_registry, capsys):
    line = one_error(*ganzoo(capsys, "train", "toy", "--out", tmp_path / "run", *args)[::2])
    assert message in line
    assert not (tmp_path / "run").exists()


def test_a_batch_too_small_for_batch_norm_is_one_line(tmp_path, toy_registry, capsys):
    # the toy generator's BatchNorm1d sees one value per channel in a batch of one image
    code, _, err = ganzoo(capsys, "train", "toy", "--batch-size", 1, "--steps", 1, "--out", tmp_path / "run")
    started = f"Training toy in {tmp_path / 'run'} (new run)\n"  # the run folder is shown as training starts
    assert err.startswith(started)
    line = one_error(code, err.removeprefix(started))
    assert "a batch of 1 is too small for toy's batch normalisation" in line and "use a larger --batch-size" in line
    assert not (tmp_path / "run").exists()  # it failed at its first step: no run folder is left behind


@pytest.mark.parametrize("value", ["skip-d:nan", "skip-d:inf", "skip-d:-inf"])
def test_a_balance_threshold_must_be_finite(value, tmp_path, toy_registry, capsys):
    line = one_error(*ganzoo(capsys, "train", "toy", "--balance", value, "--steps", 1, "--out", tmp_path / "run")[::2])
    assert f"--balance skip-d needs a finite threshold, not {value.split(':')[1]}" in line


@pytest.mark.parametrize("value", ["1", "1.5"])
def test_an_ema_decay_of_one_or_more_is_refused_in_one_line(value, tmp_path, toy_registry, capsys):
    """An average that never moves is not an EMA (found by the deep option fuzzing: `--ema-decay 1`)."""
    line = one_error(*ganzoo(capsys, "train", "toy", "--ema-decay", value, "--steps", 1, "--out", tmp_path / "run")[::2])
    assert f"ema_decay: {float(value)} must be below 1" in line
    assert not (tmp_path / "run").exists()


@dataclasses.dataclass
class WithBetas:
    betas: tuple[float, ...] = betas_option((0.5, 0.999), "Adam betas.")
    maybe: tuple[float, ...] | None = betas_option(None, "Optional betas.")
    anything: float = option(0.0, "Takes nan and inf.", finite=False)


@pytest.mark.parametrize(("layer", "message"), [
    ({"betas": "2,3"}, "betas: 2.0 must be below 1"),
    ({"betas": "0.5,1"}, "betas: 1.0 must be below 1"),
    ({"betas": "-0.1,0.9"}, "betas: -0.1 is below the minimum 0"),
    ({"betas": "0.5"}, "betas needs 2 values, got 1"),
    ({"betas": [0.1, 0.2, 0.3]}, "betas needs 2 values, got 3"),
    ({"maybe": "nan,0.9"}, "maybe: nan is not a finite number"),
])
def test_declared_betas_constraint(layer, message):
    with pytest.raises(ConfigError, match="flags: ") as err:
        configs.build(WithBetas, [("flags", layer)])
    assert message in str(err.value)
    ok = configs.build(WithBetas, [("flags", {"betas": "0,0.99", "maybe": "none", "anything": "nan"})])
    assert ok.betas == (0.0, 0.99) and ok.maybe is None and ok.anything != ok.anything


def test_every_betas_field_of_the_installed_models_declares_the_constraint():
    from ganzoo.registry import get_registry
    from ganzoo.run_config import load_config_class

    seen = []
    for spec in get_registry().model_specs():
        for info in configs.describe(load_config_class(spec)):
            if info.name.startswith("beta"):
                seen.append(f"{spec.name}.{info.name}")
                assert info.minimum == 0 and info.below == 1, f"{spec.name}.{info.name} is not bounded to [0, 1)"
                if info.is_sequence:
                    assert info.length == 2, f"{spec.name}.{info.name} does not declare two values"
    assert {"dcgan.betas_g", "cgan.betas_d", "wgan_gp.betas_g", "progan.betas_d", "cyclegan.beta1", "pix2pix.beta1"} <= set(seen)


def test_betas_out_of_range_through_the_real_command(tmp_path):
    result = run_cli("train", "dcgan", "--betas-g", "2,3", "--out", str(tmp_path / "run"))
    assert "betas_g: 2.0 must be below 1" in one_error(result.returncode, result.stderr)
    assert result.returncode == 2


# -- config files ----------------------------------------------------------------------------------
CONFIG_FILES = {
    "random bytes": (random.Random(4).randbytes(400), "is not a text file"),
    "NUL bytes": (b"seed: 1\x00\x00", "is not a text file"),
    "a list": (b"- 1\n- 2\n", "must hold a mapping of options, not a list"),
    "text": (b"just words", "must hold a mapping of options, not text"),
    "model section as a list": (b"model: [1, 2]\n", "the model: section must be a mapping of options, not a list"),
    "number as option name": (b"1: 2\n", "option names are text, got 1"),
    "number as option name in a section": (b"train:\n  0: null\n", "option names in the train: section are text, got 0"),
    "list for text": (b"data: [a, b]\n", "data: <list of 2> is not a valid str or none"),
    "mapping for a number": (b"seed: {a: 1}\n", "seed: <dict of 1> is not a valid int"),
    "deep nesting": (b"a: " + b"[" * 3000 + b"]" * 3000, "nested too deeply"),
    "too large": (b"# " + b"x" * (1 << 20) + b"\n", "is larger than 1024 KiB"),
    "bad YAML": (b"a: [1, 2\n", "is not valid YAML"),
    "python tag": (b"a: !!python/object/apply:os.system [echo hi]\n", "is not valid YAML"),
    "nan seed": (b"train:\n  seed: .nan\n", "seed: nan is not a valid int"),
    "nan lr": (b"model:\n  lr: .nan\n", "lr: nan is not a finite number"),
}


@pytest.mark.parametrize("case", list(CONFIG_FILES), ids=lambda c: c.replace(" ", "-"))
def test_bad_config_files_are_one_line(case, tmp_path, toy_registry, capsys):
    content, message = CONFIG_FILES[case]
    file = tmp_path / "config.yaml"
    file.write_bytes(content)
    line = one_error(*ganzoo(capsys, "train", "toy", "--config", file, "--out", tmp_path / "run")[::2])
    assert message in line, line


def test_binary_config_through_the_cli_subprocess(tmp_path, toy_env):
    file = tmp_path / "config.yaml"
    file.write_bytes(os.urandom(64) + b"\xff\xfe")
    result = run_cli("train", "toy", "--config", str(file), "--out", str(tmp_path / "run"), env=toy_env)
    assert "is not a text file (UTF-8 YAML expected)" in one_error(result.returncode, result.stderr)


# -- stored weight types ---------------------------------------------------------------------------
def _retyped(dtype: torch.dtype):
    def change(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(dtype) if k.startswith("net/G/") and v.is_floating_point() else v for k, v in tensors.items()}
    return change


def test_int8_weights_are_refused(toy_checkpoint, tmp_path, toy_registry, capsys):
    path = forge(toy_checkpoint, tmp_path / "int8.safetensors", tensors=_retyped(torch.int8))
    line = one_error(*ganzoo(capsys, "sample", path, "--out", tmp_path / "s.png")[::2])
    assert "is stored as int8 (integer) where the model has float32" in line


def test_float64_weights_are_converted_with_one_warning(toy_checkpoint, tmp_path, toy_registry, capsys):
    path = forge(toy_checkpoint, tmp_path / "f64.safetensors", tensors=_retyped(torch.float64))
    code, _, err = ganzoo(capsys, "sample", path, "--n", 4, "--out", tmp_path / "s64.png")
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("Warning:")]
    assert len(warnings) == 1 and "float64 -> float32" in warnings[0] and "converted" in warnings[0], err
    code, _, err = ganzoo(capsys, "sample", toy_checkpoint, "--n", 4, "--out", tmp_path / "s32.png")
    assert code == 0 and "Warning" not in err
    # float32 -> float64 -> float32 is exact: the same pictures
    from PIL import Image

    assert Image.open(tmp_path / "s64.png").tobytes() == Image.open(tmp_path / "s32.png").tobytes()


def test_float_counters_where_integers_are_expected_are_refused(toy_checkpoint, tmp_path):
    from ganzoo.engine.checkpoint import load_module_state

    net = torch.nn.BatchNorm1d(3)
    state = {k: v.float() for k, v in net.state_dict().items()}
    with pytest.raises(CheckpointError, match=r"num_batches_tracked is stored as float32 .floating. where the model has int64"):
        load_module_state(net, state, what="D", source="x.safetensors")


# -- model and batch sizes beyond the machine ------------------------------------------------------
def test_a_model_too_large_to_train_is_refused_naming_the_option(tmp_path, toy_registry, capsys):
    line = one_error(*ganzoo(capsys, "train", "toy", "--hidden", 10**12, "--out", tmp_path / "run")[::2])
    assert line.startswith("Error: model toy with hidden=1000000000000 needs about")
    assert "PB to train (weights, gradients and optimizer moments), more than the" in line
    assert "use a smaller hidden (default 32)" in line
    assert "GANZOO_MAX_MEMORY" in line


@pytest.mark.parametrize(("command", "out"), [("sample", "s.png"), ("export", "w.safetensors"), ("eval", "e.json")])
def test_a_header_too_large_to_load_is_refused(command, out, toy_checkpoint, tmp_path, toy_registry, capsys):
    path = forge(toy_checkpoint, tmp_path / "huge.safetensors", config=with_config(toy_checkpoint, hidden=10**12))
    line = one_error(*ganzoo(capsys, command, path, "--out", tmp_path / out)[::2])
    assert "model toy with hidden=1000000000000 needs about" in line and "for its parameters" in line


def test_translate_refuses_an_image_to_image_header_too_large(tmp_path):
    from ganzoo.engine.checkpoint import save_checkpoint

    # the memory check comes before any weight is read: a stand-in tensor per listed network suffices
    path = save_checkpoint(tmp_path / "huge.safetensors", kind="weights", name="cyclegan", plugin="ganzoo-cyclegan",
                           plugin_version="0.1.0", config={"model": {"ngf": 10**6}, "train": {}}, step=1,
                           nets={"G_A": {"w": torch.zeros(1)}})
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "in.png")  # inputs are checked first, before torch is imported
    result = run_cli("translate", str(path), "--input", str(tmp_path / "in.png"), "--out", str(tmp_path / "out"))
    line = one_error(result.returncode, result.stderr)
    assert not (tmp_path / "out").exists()
    assert "model cyclegan with ngf=1000000 needs about" in line and "use a smaller ngf (default 64)" in line


def test_the_memory_limit_can_be_set_and_lifted(monkeypatch, toy_registry):
    from ganzoo.engine.run import build_model
    from ganzoo.run_config import resolve

    spec = toy_registry.resolve_model("toy").spec
    config = dataclasses.replace(resolve(spec, model_flags={"hidden": 4000}).model, channels=1)
    # G: 8*4000 + 4000, norm 2*4000 (+ 2*4000 float and one int64 buffers), 4000*64 + 64;
    # D: 64*4000 + 4000, 4000 + 1: (564065 + 8000) * 4 + 8 = 2288268 bytes, four times that to train
    monkeypatch.setenv("GANZOO_MAX_MEMORY", "1M")
    with pytest.raises(ConfigError, match=r"hidden=4000 needs about 9\.2 MB to train .* more than the 1\.0 MB of "
                                          r"memory GANZOO_MAX_MEMORY allows"):
        build_model(spec, config, training=True)
    monkeypatch.setenv("GANZOO_MAX_MEMORY", "64G")
    assert build_model(spec, config, training=True).nets["G"].body[0].out_features == 4000
    monkeypatch.setenv("GANZOO_MAX_MEMORY", "0")  # off
    build_model(spec, config, training=False)
    monkeypatch.setenv("GANZOO_MAX_MEMORY", "lots")
    with pytest.raises(ConfigError, match="GANZOO_MAX_MEMORY='lots' is not a size"):
        build_model(spec, config, training=False)


def test_the_estimate_leaves_the_random_streams_alone(toy_registry):
    import numpy as np

    from ganzoo.engine.run import build_model
    from ganzoo.run_config import resolve
    from ganzoo.testing.toy_model import build

    spec = toy_registry.resolve_model("toy").spec
    config = dataclasses.replace(resolve(spec).model, channels=1)
    states = []
    for make in (lambda: build_model(spec, config, training=True), lambda: build(config, training=True)):
        torch.manual_seed(3)
        random.seed(3)
        np.random.seed(3)
        model = make()
        states.append((model.nets["G"].state_dict(), torch.rand(1), random.random(), np.random.rand()))
    (g1, t1, p1, n1), (g2, t2, p2, n2) = states
    assert all(torch.equal(g1[k], g2[k]) for k in g1) and (t1, p1, n1) == (t2, p2, n2)


def test_a_batch_too_large_is_refused_before_reading_data(tmp_path, toy_registry, capsys):
    line = one_error(*ganzoo(capsys, "train", "toy", "--batch-size", 10**11, "--out", tmp_path / "run")[::2])
    assert line.startswith("Error: batch_size=100000000000: a batch of 8x8 images needs about")


# -- data-loader workers ---------------------------------------------------------------------------
def test_too_many_workers_are_refused_with_how_to_lift_the_bound(tmp_path, toy_registry, capsys, monkeypatch):
    from ganzoo.train_config import TrainConfig, check_limits, max_workers, usable_cpus

    line = one_error(*ganzoo(capsys, "train", "toy", "--num-workers", 100000, "--out", tmp_path / "run")[::2])
    assert f"num_workers=100000 is more than {2 * usable_cpus()} (2 per CPU, {usable_cpus()} CPUs here)" in line
    assert "set GANZOO_MAX_WORKERS=100000" in line
    assert not (tmp_path / "run").exists()
    check_limits(TrainConfig(num_workers=max_workers()))  # the bound itself is fine
    monkeypatch.setenv("GANZOO_MAX_WORKERS", "100000")
    check_limits(TrainConfig(num_workers=100000))
    monkeypatch.setenv("GANZOO_MAX_WORKERS", "many")
    with pytest.raises(ConfigError, match="GANZOO_MAX_WORKERS='many' is not a number"):
        check_limits(TrainConfig(num_workers=1))
