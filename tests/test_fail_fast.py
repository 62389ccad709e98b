"""Errors about arguments, paths and file formats come before torch is imported (issue 17).

Each refusal runs in a fresh process that reports whether torch was imported when it exited, and is
timed side by side with `python -c "import torch"` (medians): the target is under a quarter.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ganzoo.testing.kit import run_cli

PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('TORCH-IMPORTED' if 'torch' in sys.modules else 'TORCH-ABSENT', file=sys.stderr))\n"
         "from ganzoo.cli import main\n"
         "main(sys.argv[1:])\n")


def _refuse(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "200", **env}, timeout=300)
    return time.perf_counter() - started, result


def _import_torch() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=300)
    return time.perf_counter() - started


@pytest.fixture
def cases(tmp_path: Path) -> dict[str, tuple[list[str], str]]:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: {}\ntrain: {}\n")
    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (40, 30), (i * 40, 10, 200)).save(images / f"{i}.png")
    out = str(tmp_path / "out.png")
    return {
        "sample, folder without a checkpoint": (["sample", str(run), "--out", out], "holds no checkpoint"),
        "sample, config.yaml as checkpoint": (["sample", str(run / "config.yaml"), "--out", out], "is not a checkpoint"),
        "translate, config.yaml as checkpoint": (["translate", str(run / "config.yaml"), "--input", str(images),
                                                  "--out", str(tmp_path / "t")], "is not a checkpoint"),
        "eval, config.yaml as checkpoint": (["eval", str(run / "config.yaml")], "is not a checkpoint"),
        "eval, Inception weights missing": (["eval", str(images), "--data", str(images), "--metric", "fid"],
                                            "inception-fid needs its weights"),
        "bench, unknown option": (["bench", "dcgan", "--set", "no_such_option=1"], "unknown option"),
        "bench, NaN learning rate": (["bench", "dcgan", "--set", "lr_g=nan"], "not a finite number"),
    }


def _offline(tmp_path: Path) -> dict[str, str]:
    return {"GANZOO_OFFLINE": "1", "GANZOO_HOME": str(tmp_path / "home"), "TORCH_HOME": str(tmp_path / "torch")}


def _check(name: str, result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode != 0, (name, result.stderr)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert len(lines) == 1 and expected in lines[0], (name, result.stderr)
    assert "Traceback" not in result.stderr
    assert "TORCH-ABSENT" in result.stderr, f"{name}: torch was imported before the refusal"


def test_refusals_come_before_torch_is_imported(cases, tmp_path):
    for name, (args, expected) in cases.items():
        _check(name, _refuse(args, _offline(tmp_path))[1], expected)


@pytest.mark.slow
def test_refusals_take_under_a_quarter_of_import_torch(cases, tmp_path):
    times: dict[str, list[float]] = {name: [] for name in cases}
    torch_times = []
    for _ in range(3):  # side by side, so a busy machine slows both alike
        torch_times.append(_import_torch())
        for name, (args, expected) in cases.items():
            seconds, result = _refuse(args, _offline(tmp_path))
            _check(name, result, expected)
            times[name].append(seconds)
    torch_median = statistics.median(torch_times)
    slow = {name: statistics.median(t) for name, t in times.items() if statistics.median(t) >= torch_median / 4}
    assert not slow, f"slower than a quarter of import torch ({torch_median:.2f} s): {slow}"


def test_a_checkpoint_of_a_missing_plugin_names_the_plugin_to_install(tmp_path):
    import torch

    from ganzoo.engine.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "sngan.safetensors", kind="weights", name="sngan", plugin="ganzoo-sngan",
                           plugin_version="0.3.0", config={"model": {}, "train": {}}, step=7,
                           nets={"G": {"w": torch.zeros(2)}})
    for args in (["sample", str(path), "--out", str(tmp_path / "s.png")],
                 ["translate", str(path), "--input", str(tmp_path), "--out", str(tmp_path / "t")],
                 ["eval", str(path)]):
        result = run_cli(*args)
        assert result.returncode != 0
        assert result.stderr.strip() == (f"Error: {path} holds a 'sngan' model of the plugin ganzoo-sngan 0.3.0, which is "
                                         "not installed; install it with: pip install ganzoo-sngan"), result.stderr
    from ganzoo.engine.inference import load
    from ganzoo.errors import NotInstalledError

    with pytest.raises(NotInstalledError, match="pip install ganzoo-sngan"):
        load(str(path))


@pytest.mark.parametrize("args", [["train", "dcgan", "--steps", "1"], ["list"]])
def test_a_deleted_working_folder_is_one_line_not_an_mkl_abort(tmp_path, args):
    """A shell still in a folder that was deleted: torch's bundled MKL would abort `train` while it loads
    ("Intel oneMKL FATAL ERROR: Cannot load .../libtorch_cpu.so", exit 2). Every command, even one that
    needs no torch, says what to do in the same line, before torch is imported."""
    gone = tmp_path / "gone"
    gone.mkdir()
    enter_delete_run = 'cd "$0" && rmdir "$0" && exec "$@"'  # a shell, not preexec_fn: this process has threads
    result = subprocess.run(["sh", "-c", enter_delete_run, str(gone), sys.executable, "-c", PROBE, *args],
                            capture_output=True, text=True, timeout=300,
                            env={**os.environ, "GANZOO_HOME": str(tmp_path / "home")})
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines == ["Error: the current folder no longer exists; cd to one that exists and run the command again",
                     "TORCH-ABSENT"], result.stderr
