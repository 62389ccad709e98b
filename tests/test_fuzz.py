"""Property-based fuzzing (Hypothesis) of what a user or a file can hand ganzoo.

The property, everywhere: the outcome is a success or exactly one `Error: ...` line with a non-zero
exit code (a `GanzooError`), never a traceback or "(this is a bug in ganzoo)". Fuzzed here:

- checkpoint headers: real toy checkpoints rewritten with forged metadata (wrong types, huge
  numbers, deep nesting, unknown names, missing fields, inconsistent tensor lists, other dtypes),
  through `ganzoo sample`;
- option values: through the real `ganzoo train toy` command, as flags and as `--set key=value`;
- YAML config files: random YAML documents and random bytes, through `ganzoo train toy --config`;
- archive member lists: zip and tar files with random member names (absolute, `..`, backslashes,
  deep, many), links in and out, hard links, FIFOs, sizes and damaged bytes, through
  `ganzoo.data.archive.extract_archive`.

The default run is fast (fixed seeds, bounded examples, about a minute in all); `-m slow` adds a
deeper, randomised pass of each.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import string
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ganzoo.errors import DataError
from ganzoo.testing import isolated_registry, smoke_train, toy_plugin

# Random member lists repeat names; zipfile warns about each duplicate it writes.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")

_COMMON = {
    "deadline": None,  # the machine is shared: wall time per example is not the property
    "database": None,  # nothing written into the repository
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                              HealthCheck.function_scoped_fixture],
}


def fast(examples: int) -> settings:
    """The default run: a fixed sequence of examples (the same every run), bounded in number."""
    return settings(derandomize=True, max_examples=examples, **_COMMON)


def deep(examples: int) -> settings:
    """The slow pass: fresh random examples every run."""
    return settings(derandomize=False, max_examples=examples, **_COMMON)


# -- running the command line in this process -------------------------------------------------------
def run_ganzoo(*args: Any) -> tuple[int, str, str]:
    """The real `ganzoo` entry point in this process: (exit code, stdout, stderr)."""
    from ganzoo.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
            code: Any = 0
        except SystemExit as stop:
            code = stop.code
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


def assert_clean_outcome(code: int, err: str) -> None:
    """Success, or one `Error:` line (warnings and the run's start line allowed); never a crash."""
    assert "Traceback" not in err, err
    assert "this is a bug" not in err, err
    if code == 0:
        return
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, err
    # A run that fails at its first step has already said where it runs ("Training toy in RUN (new run)").
    said = ("Error: ", "Warning: ", "Training ", "Resuming ", "Taking over run folder ")
    others = [line for line in lines if not line.startswith(said)]
    assert not others, err


@contextlib.contextmanager
def toy_cli(tmp: Path) -> Iterator[None]:
    """The toy plugin only, an own cache, offline, a small memory limit, and an empty working folder.

    The memory limit (256 MB) keeps any fuzzed model or batch small on a shared machine; the empty
    working folder keeps random `--data` text from naming a real folder.
    """
    env = {"GANZOO_HOME": str(tmp / "home"), "GANZOO_OFFLINE": "1", "GANZOO_MAX_MEMORY": "256M"}
    saved = {k: os.environ.get(k) for k in env}
    cwd = os.getcwd()
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    os.environ.update(env)
    os.chdir(work)
    try:
        with isolated_registry(("ganzoo-toy", toy_plugin)):
            yield
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def fresh(root: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=root))


# -- checkpoint headers ------------------------------------------------------------------------------
class ToyFiles(dict):
    """The toy checkpoint files by kind (shown briefly in Hypothesis's reports)."""

    def __repr__(self) -> str:
        return f"<toy checkpoint files: {', '.join(self)}>"


@pytest.fixture(scope="module")
def toy_files(fuzz_root: Path) -> dict[str, tuple[dict[str, str], dict[str, Any]]]:
    """A training checkpoint and an exported weights file of the toy model: (header, tensors) each."""
    from safetensors import safe_open

    with toy_cli(fuzz_root):
        run = fuzz_root / "toy-run"
        smoke_train("toy", run, steps=2)
        code, _, err = run_ganzoo("export", run, "--out", fuzz_root / "weights.safetensors")
        assert code == 0, err
    files = ToyFiles()
    for kind, path in (("training", run / "checkpoints" / "last.safetensors"),
                       ("weights", fuzz_root / "weights.safetensors")):
        with safe_open(str(path), framework="pt") as fh:
            files[kind] = (dict(fh.metadata()), {k: fh.get_tensor(k) for k in fh.keys()})  # noqa: SIM118
    return files


HEADER_FIELDS = ["format", "format_version", "kind", "name", "plugin", "plugin_version", "ganzoo_version",
                 "torch_version", "config", "step", "epoch", "data", "data_info", "nets", "ema", "state",
                 "created", "notes"]

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def nested(n: int, opener: str = "[") -> str:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return '{"a":' * n + "1" + "}" * n
    return opener * n + closer * n


header_text = st.one_of(
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.text(max_size=40),
    st.integers(min_value=0, max_value=6000).map(nested),
    st.integers(min_value=0, max_value=6000).map(lambda n: nested(n, "{")),
    st.sampled_from(["", "1e3", "-1", str(2**64), "9" * 5000, "NaN", "[]", "{}", "null", '"G"',
                     '["G", "G"]', '["G", "D", "X"]', '{"model": [1]}', '{"model": {"hidden": 1e400}}',
                     '{"__tensor__": "state/nope"}', '{"a": {"__items__": [[1, 2, 3]]}}', "training", "weights",
                     "ganzoo.checkpoint", "toy", "2"]),
)
option_values = st.one_of(json_scalars, st.lists(json_scalars, max_size=3), st.dictionaries(st.text(max_size=4),
                                                                                             json_scalars, max_size=2))
TOY_OPTIONS = ["image_size", "channels", "num_classes", "latent_dim", "hidden", "loss", "lr", "dropout", "schedule",
               "explode_at", "unknown_option"]


def replace_node(draw: st.DrawFn, structure: Any) -> Any:
    """`structure` with one node, found by walking down random keys and indices, replaced by a random value."""
    if not isinstance(structure, (dict, list)) or not structure or draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    if isinstance(structure, dict):
        key = draw(st.sampled_from(sorted(structure)))
        return {**structure, key: replace_node(draw, structure[key])}
    index = draw(st.integers(0, len(structure) - 1))
    return [*structure[:index], replace_node(draw, structure[index]), *structure[index + 1:]]


@st.composite
def forged_checkpoints(draw: st.DrawFn, files: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    kind = draw(st.sampled_from(sorted(files)))
    header, tensors = dict(files[kind][0]), dict(files[kind][1])
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        action = draw(st.sampled_from(["set", "set", "delete", "add", "config", "config", "tensors", "dtype",
                                       "state", "state"]))
        if action == "state":  # one node of the real state structure replaced
            try:
                header["state"] = json.dumps(replace_node(draw, json.loads(header.get("state", "{}"))),
                                             allow_nan=True)
            except (ValueError, RecursionError):  # an earlier mutation may have nested it deeply
                header["state"] = draw(header_text)
        elif action == "set":
            header[draw(st.sampled_from(HEADER_FIELDS))] = draw(header_text)
        elif action == "delete":
            header.pop(draw(st.sampled_from(HEADER_FIELDS)), None)
        elif action == "add":
            header[draw(st.text(min_size=1, max_size=10))] = draw(header_text)
        elif action == "config":
            try:
                config = json.loads(header.get("config", "{}"))
            except (ValueError, RecursionError):  # an earlier mutation may have nested it deeply
                config = {}
            if isinstance(config, dict) and isinstance(config.get("model"), dict):
                section = draw(st.sampled_from(["model", "train"]))
                key = draw(st.sampled_from([*TOY_OPTIONS, "seed", "batch_size", "ema_decay", "data"]))
                if isinstance(config.get(section), dict):
                    config[section][key] = draw(option_values)
            header["config"] = json.dumps(config, allow_nan=True)
        elif action == "tensors":
            names = sorted(tensors)
            victim = draw(st.sampled_from(names)) if names else None
            change = draw(st.sampled_from(["drop", "rename", "extra"]))
            if change == "drop" and victim:
                del tensors[victim]
            elif change == "rename" and victim:
                tensors[draw(st.sampled_from(["net/", "ema/", "state/", ""])) + draw(st.text(
                    alphabet=string.ascii_letters + "/._", min_size=1, max_size=12))] = tensors.pop(victim)
            else:
                import torch

                tensors[draw(st.sampled_from(["net/G/extra", "ema/G/body.0.weight", "state/x", "net/Z/w"]))] = \
                    torch.zeros(draw(st.integers(min_value=0, max_value=3)))
        else:
            import torch

            names = [n for n in tensors if n.startswith(("net/", "ema/"))]
            if names:
                name = draw(st.sampled_from(names))
                dtype = draw(st.sampled_from([torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.int64,
                                              torch.bool, torch.uint8]))
                tensors[name] = tensors[name].to(dtype)
    return header, tensors


def _check_forged_header(files: dict[str, Any], data: st.DataObject, root: Path) -> None:
    from safetensors.torch import save_file

    header, tensors = data.draw(forged_checkpoints(files))
    tmp = fresh(root)
    path = tmp / "forged.safetensors"
    save_file(tensors, str(path), metadata=header)
    with toy_cli(tmp):
        code, _, err = run_ganzoo("sample", path, "--n", 3, "--out", tmp / "grid.png")
    assert_clean_outcome(code, err)
    shutil.rmtree(tmp, ignore_errors=True)


def test_the_unforged_files_sample(toy_files, fuzz_root):
    """The harness itself: the files the header fuzz starts from are good."""
    from safetensors.torch import save_file

    for header, tensors in toy_files.values():
        tmp = fresh(fuzz_root)
        save_file(tensors, str(tmp / "good.safetensors"), metadata=header)
        with toy_cli(tmp):
            code, _, err = run_ganzoo("sample", tmp / "good.safetensors", "--n", 3, "--out", tmp / "grid.png")
        assert code == 0 and (tmp / "grid.png").is_file(), err


@fast(120)
@given(data=st.data())
def test_forged_checkpoint_headers(toy_files, fuzz_root, data):
    _check_forged_header(toy_files, data, fuzz_root)


def _check_forged_resume(files: dict[str, Any], data: st.DataObject, root: Path) -> None:
    """A forged last.safetensors in a run folder, resumed by the same command."""
    from safetensors.torch import save_file

    header, tensors = data.draw(forged_checkpoints({"training": files["training"]}))
    tmp = fresh(root)
    (tmp / "run" / "checkpoints").mkdir(parents=True)
    save_file(tensors, str(tmp / "run" / "checkpoints" / "last.safetensors"), metadata=header)
    with toy_cli(tmp):
        code, _, err = run_ganzoo("train", "toy", "--device", "cpu", "--steps", 3, "--out", tmp / "run")
    assert_clean_outcome(code, err)
    shutil.rmtree(tmp, ignore_errors=True)


@fast(40)
@given(data=st.data())
def test_forged_checkpoint_headers_on_resume(toy_files, fuzz_root, data):
    _check_forged_resume(toy_files, data, fuzz_root)


@pytest.mark.slow
@deep(400)
@given(data=st.data())
def test_forged_checkpoint_headers_on_resume_deep(toy_files, fuzz_root, data):
    _check_forged_resume(toy_files, data, fuzz_root)


@pytest.mark.slow
@deep(1500)
@given(data=st.data())
def test_forged_checkpoint_headers_deep(toy_files, fuzz_root, data):
    _check_forged_header(toy_files, data, fuzz_root)


# -- option values -------------------------------------------------------------------------------------
#: Options fuzzed through `ganzoo train toy` (run length and evaluation options stay fixed: a fuzzed
#: `--steps 10**9` is a valid, long run, not a validation problem).
FUZZED_OPTIONS = ["image_size", "channels", "latent_dim", "hidden", "loss", "lr", "dropout", "schedule", "explode_at",
                  "batch_size", "seed", "device", "precision", "keep", "log_every", "sample_every", "ema_decay",
                  "num_workers", "balance", "d_steps", "data", "diagnostics_every", "channels_last"]

value_texts = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-3, max_value=40).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "-nan", "inf", "-inf", "1e400", "-0", "none", "", "true", "false", "0x10", "1_000", "1e3",
                     "0.5,0.9", "2,3", ",,,", "\x00", "cpu", "cuda", "mps", "fp16", "bf16", "skip-d:nan",
                     "skip-d:inf", "skip-d:0.1", "adaptive:0.2:0.1", "adaptive:x", "adaptive:0:1", "toy-squares",
                     "digits", "no-such-data", "lsgan", "hinge", str(2**64), str(2**63), "99999"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-_:., ", max_size=20),
)


small_floats = st.floats(min_value=0.0, max_value=1.0).map(repr)
#: A value each fuzzed option could plausibly take, so that combinations also succeed and train.
PLAUSIBLE = {
    "image_size": st.sampled_from(["8", "16"]), "channels": st.sampled_from(["1", "3", "none"]),
    "latent_dim": st.integers(1, 64).map(str), "hidden": st.integers(1, 128).map(str),
    "loss": st.sampled_from(["bce", "lsgan", "hinge", "wasserstein"]), "lr": small_floats, "dropout": small_floats,
    "schedule": st.sampled_from(["true", "false", "yes", "0"]), "explode_at": st.integers(0, 3).map(str),
    "batch_size": st.integers(1, 64).map(str), "seed": st.integers(0, 2**64 - 1).map(str),
    "device": st.sampled_from(["cpu", "auto"]), "precision": st.sampled_from(["fp32", "bf16", "fp16"]),
    "keep": st.integers(0, 3).map(str), "log_every": st.integers(1, 5).map(str),
    "sample_every": st.integers(1, 5).map(str), "ema_decay": st.one_of(st.just("none"), small_floats),
    "num_workers": st.just("0"), "d_steps": st.integers(1, 3).map(str), "data": st.just("toy-squares"),
    "balance": st.one_of(st.sampled_from(["none", "adaptive"]), small_floats.map(lambda v: f"skip-d:{v}"),
                         st.tuples(small_floats, small_floats).map(lambda t: f"adaptive:{t[0]}:{t[1]}")),
    "diagnostics_every": st.integers(0, 3).map(str), "channels_last": st.sampled_from(["true", "false"]),
}


@st.composite
def option_args(draw: st.DrawFn) -> list[str]:
    args: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        name = draw(st.sampled_from(FUZZED_OPTIONS) if draw(st.integers(0, 9)) else st.just("nonsense"))
        wild = draw(st.integers(0, 2)) == 0 or name not in PLAUSIBLE
        value = draw(value_texts if wild else PLAUSIBLE[name])
        how = draw(st.sampled_from(["flag", "set", "set-prefixed"]))
        if how == "flag":
            args += ["--" + name.replace("_", "-"), value]
        elif how == "set":
            args += ["--set", f"{name}={value}"]
        else:
            section = "model" if name in PLAUSIBLE and name in TOY_OPTIONS else "train"
            args += ["--set", f"{section if draw(st.integers(0, 4)) else 'model'}.{name}={value}"]
    return args


def _check_options(args: list[str], root: Path) -> None:
    tmp = fresh(root)
    with toy_cli(tmp):
        code, _, err = run_ganzoo("train", "toy", "--device", "cpu", *args, "--steps", 1, "--out", tmp / "run")
    assert_clean_outcome(code, err)
    shutil.rmtree(tmp, ignore_errors=True)


def test_plausible_options_train(fuzz_root):
    """The harness itself: plausible values of every fuzzed option train."""
    args = ["--device", "cpu", "--image-size", "16", "--channels", "3", "--latent-dim", "4", "--hidden", "7", "--loss", "hinge",
            "--lr", "0.01", "--dropout", "0.5", "--no-schedule", "--explode-at", "0", "--batch-size", "5",
            "--seed", str(2**64 - 1), "--precision", "bf16", "--keep", "0", "--log-every", "1", "--sample-every", "1",
            "--ema-decay", "0.9", "--num-workers", "0", "--balance", "adaptive:0.1:0.9", "--d-steps", "2",
            "--data", "toy-squares", "--diagnostics-every", "1", "--channels-last"]
    assert {a[2:].replace("-", "_").removeprefix("no_") for a in args if a.startswith("--")} == set(FUZZED_OPTIONS)
    tmp = fresh(fuzz_root)
    with toy_cli(tmp):
        code, _, err = run_ganzoo("train", "toy", *args, "--steps", 1, "--out", tmp / "run")
    assert code == 0 and (tmp / "run" / "checkpoints" / "last.safetensors").is_file(), err


@fast(80)
@given(args=option_args())
@example(args=["--set", "lr=nan"])
@example(args=["--seed", str(2**64)])
@example(args=["--balance", "skip-d:nan"])
@example(args=["--set", "data=a\x00b"])
@example(args=["--d-steps", "1000000000"])
@example(args=["--hidden", "100000000"])
@example(args=["--batch-size", "1"])
def test_option_values_through_the_train_command(fuzz_root, args):
    _check_options(args, fuzz_root)


@pytest.mark.slow
@deep(600)
@given(args=option_args())
def test_option_values_through_the_train_command_deep(fuzz_root, args):
    _check_options(args, fuzz_root)


# -- YAML config files ---------------------------------------------------------------------------------
CONFIG_KEYS = [*FUZZED_OPTIONS, "name", "plugin", "model", "train", "ganzoo_version", "unknown"]
yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
                         st.sampled_from(["toy", "cpu", "lsgan", "none", ".nan", "1e400", "skip-d:0.1"]))
yaml_keys = st.one_of(st.sampled_from(CONFIG_KEYS), st.sampled_from([f"model.{k}" for k in TOY_OPTIONS]),
                      st.text(max_size=8), st.integers(min_value=-5, max_value=5), st.booleans())
yaml_documents = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(yaml_keys, inner, max_size=5)),
    max_leaves=16,
)


@st.composite
def config_files(draw: st.DrawFn) -> bytes:
    how = draw(st.sampled_from(["document", "document", "mapping", "bytes", "text", "deep"]))
    if how == "bytes":
        return draw(st.binary(max_size=300))
    if how == "text":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    if how == "deep":
        n = draw(st.integers(min_value=1, max_value=5000))
        return ("a: " + draw(st.sampled_from(["[", "{a: "])) * n).encode()
    if how == "mapping":
        document: Any = draw(st.dictionaries(st.sampled_from(CONFIG_KEYS), yaml_documents, max_size=6))
    else:
        document = draw(yaml_documents)
    return yaml.safe_dump(document, allow_unicode=draw(st.booleans())).encode("utf-8", "surrogatepass")


def _check_config_file(content: bytes, root: Path) -> None:
    tmp = fresh(root)
    file = tmp / "config.yaml"
    file.write_bytes(content)
    with toy_cli(tmp):
        code, _, err = run_ganzoo("train", "toy", "--config", file, "--device", "cpu", "--steps", 1,
                                  "--out", tmp / "run")
    assert_clean_outcome(code, err)
    shutil.rmtree(tmp, ignore_errors=True)


def test_a_plain_config_file_trains(fuzz_root):
    """The harness itself: a valid config file trains."""
    _check_config_file(b"model:\n  hidden: 5\ntrain:\n  seed: 3\nlr: 0.01\n", fuzz_root)
    tmp = fresh(fuzz_root)
    (tmp / "c.yaml").write_text("model:\n  hidden: 5\n")
    with toy_cli(tmp):
        code, _, err = run_ganzoo("train", "toy", "--config", tmp / "c.yaml", "--steps", 1, "--out", tmp / "run")
    assert code == 0, err


@fast(80)
@given(content=config_files())
@example(content=b"\x80\x81\x82")
@example(content=b"a: " + b"[" * 3000 + b"]" * 3000)
@example(content=b"1: 2\n")
@example(content=b"model: [1, 2]\n")
@example(content=b"train: {seed: .nan}\n")
@example(content=b"data: {a: 1}\n")
@example(content=b"train:\n  0: null\n")
def test_config_files_through_the_train_command(fuzz_root, content):
    _check_config_file(content, fuzz_root)


@pytest.mark.slow
@deep(600)
@given(content=config_files())
def test_config_files_through_the_train_command_deep(fuzz_root, content):
    _check_config_file(content, fuzz_root)


# -- archive member lists ----------------------------------------------------------------------------
segments = st.one_of(st.sampled_from(["a", "b", "dir", "..", ".", "", "x.png", "C:", "\\", "a\\..\\..", "~"]),
                     st.text(alphabet=string.ascii_letters + string.digits + "._-\\", min_size=1, max_size=8))


@st.composite
def member_names(draw: st.DrawFn) -> str:
    how = draw(st.sampled_from(["plain", "plain", "plain", "absolute", "deep", "long"]))
    if how == "deep":
        return "/".join(["d"] * draw(st.sampled_from([3, 20, 33, 120, 1100]))) + "/f"
    if how == "long":
        return "n" * draw(st.integers(min_value=200, max_value=5000))
    name = "/".join(draw(st.lists(segments, min_size=1, max_size=5)))
    return "/" + name if how == "absolute" else name


@st.composite
def members(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["file", "file", "file", "dir", "symlink", "hardlink", "fifo"]))
    member: dict[str, Any] = {"name": draw(member_names()), "kind": kind}
    if kind == "file":
        member["size"] = draw(st.sampled_from([0, 1, 100, 4096, 0, 1, 100, 4096, 1 << 20]))
    if kind in ("symlink", "hardlink"):
        member["target"] = draw(st.one_of(member_names(), st.sampled_from(
            [".", "..", "../..", "/etc/passwd", "a", "a/../..", "d/../../x", "self"])))
    return member


@st.composite
def archives(draw: st.DrawFn) -> dict[str, Any]:
    many = draw(st.integers(min_value=0, max_value=9)) == 0
    listed = draw(st.lists(members(), min_size=0, max_size=40 if not many else 0))
    if many:  # many small members
        listed = [{"name": f"m/{i}.txt", "kind": "file", "size": 1} for i in range(draw(st.integers(200, 1000)))]
    return {
        "format": draw(st.sampled_from(["zip", "tar", "tar.gz"])),
        "members": listed,
        "damage": draw(st.sampled_from([None, None, None, "truncate", "flip", "size"])),
        "at": draw(st.floats(min_value=0.0, max_value=1.0)),
    }


def _write_zip(path: Path, listed: list[dict[str, Any]]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for m in listed:
            if m["kind"] == "dir":
                zf.writestr(zipfile.ZipInfo(m["name"].rstrip("/") + "/"), b"")
            elif m["kind"] in ("symlink", "hardlink", "fifo"):
                info = zipfile.ZipInfo(m["name"])
                info.create_system = 3
                mode = stat.S_IFLNK if m["kind"] != "fifo" else stat.S_IFIFO
                info.external_attr = (mode | 0o777) << 16
                zf.writestr(info, m.get("target", "").replace("self", m["name"]))
            else:
                zf.writestr(m["name"], b"\0" * m["size"])


def _write_tar(path: Path, listed: list[dict[str, Any]], mode: str) -> None:
    with tarfile.open(path, mode, format=tarfile.GNU_FORMAT) as tf:
        for m in listed:
            info = tarfile.TarInfo(m["name"])
            if m["kind"] == "file":
                info.size = m["size"]
                tf.addfile(info, io.BytesIO(b"\0" * m["size"]))
                continue
            info.type = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                         "fifo": tarfile.FIFOTYPE}[m["kind"]]
            info.linkname = m.get("target", "").replace("self", m["name"])
            tf.addfile(info)


def _damage(path: Path, how: str | None, at: float) -> None:
    if how is None:
        return
    data = bytearray(path.read_bytes())
    if not data:
        return
    i = min(len(data) - 1, int(at * len(data)))
    if how == "truncate":
        del data[i:]
    elif how == "flip":
        data[i] ^= 0xFF
    else:  # a tar header's size field (or a zip's) rewritten to claim far more than is there
        data[124:136] = b"77777777777\0" if len(data) > 136 else data[124:136]
    path.write_bytes(bytes(data))


def _check_archive(spec: dict[str, Any], root: Path) -> None:
    from ganzoo.data.archive import extract_archive

    tmp = fresh(root)
    suffix = {"zip": ".zip", "tar": ".tar", "tar.gz": ".tar.gz"}[spec["format"]]
    archive = tmp / f"in{suffix}"
    try:
        if spec["format"] == "zip":
            _write_zip(archive, spec["members"])
        else:
            _write_tar(archive, spec["members"], "w:gz" if spec["format"] == "tar.gz" else "w")
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    _damage(archive, spec["damage"], spec["at"])
    dest = tmp / "out" / "data"
    try:
        extract_archive(archive, dest)
    except DataError as exc:
        assert "\n" not in str(exc), str(exc)
        assert not dest.exists(), "a refused extraction left its target behind"
        leftovers = [p.name for p in (tmp / "out").iterdir()] if (tmp / "out").exists() else []
        assert not leftovers, f"a refused extraction left {leftovers}"
    else:
        real = os.path.realpath(dest)
        for folder, dirs, files in os.walk(dest):  # links are not followed: each one is checked itself
            for entry in dirs + files:
                path = os.path.join(folder, entry)
                mode = os.lstat(path).st_mode
                assert not stat.S_ISFIFO(mode), f"{path} is a FIFO"
                if stat.S_ISLNK(mode):
                    resolved = os.path.realpath(path)
                    assert resolved == real or resolved.startswith(real + os.sep), f"{path} escapes to {resolved}"
        leftovers = [p.name for p in (tmp / "out").iterdir() if p.name != "data"]
        assert not leftovers, f"extraction left {leftovers}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_a_plain_archive_extracts(fuzz_root):
    """The harness itself: ordinary members extract."""
    from ganzoo.data.archive import extract_archive

    for fmt in ("zip", "tar", "tar.gz"):
        tmp = fresh(fuzz_root)
        archive = tmp / f"a.{fmt}"
        listed = [{"name": "dir/x.txt", "kind": "file", "size": 3}, {"name": "dir/sub", "kind": "dir"},
                  {"name": "dir/link", "kind": "symlink", "target": "x.txt"}]
        if fmt == "zip":
            _write_zip(archive, listed)
        else:
            _write_tar(archive, listed, "w:gz" if fmt == "tar.gz" else "w")
        out = extract_archive(archive, tmp / "out")
        assert (out / "dir" / "x.txt").read_bytes() == b"\0\0\0" and (out / "dir" / "link").is_symlink()


@fast(80)
@given(spec=archives())
@example(spec={"format": "tar", "members": [{"name": "/".join(["d"] * 1100) + "/f", "kind": "file", "size": 1}],
               "damage": None, "at": 0.0})
@example(spec={"format": "zip", "members": [{"name": "a", "kind": "symlink", "target": "a"}], "damage": None,
               "at": 0.0})
@example(spec={"format": "tar", "members": [{"name": "l", "kind": "symlink", "target": "self"},
                                            {"name": "l/x", "kind": "file", "size": 1}], "damage": None, "at": 0.0})
@example(spec={"format": "tar", "members": [{"name": "a", "kind": "file", "size": 100}], "damage": "size", "at": 0.0})
@example(spec={"format": "tar.gz", "members": [], "damage": "truncate", "at": 0.5})
@example(spec={"format": "zip", "members": [{"name": "", "kind": "file", "size": 0}], "damage": None, "at": 0.0})
@example(spec={"format": "zip", "members": [{"name": f"m/{i}.txt", "kind": "file", "size": 1} for i in range(200)],
               "damage": "flip", "at": 0.75})
def test_archive_member_lists(fuzz_root, spec):
    _check_archive(spec, fuzz_root)


@pytest.mark.slow
@deep(1500)
@given(spec=archives())
def test_archive_member_lists_deep(fuzz_root, spec):
    _check_archive(spec, fuzz_root)
