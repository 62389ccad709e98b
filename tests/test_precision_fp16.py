"""fp16 with its loss scaler when an optimizer steps more than once per training step."""

from __future__ import annotations

from ganzoo.engine.checkpoint import read_header
from ganzoo.testing.kit import run_cli


def test_fp16_with_two_discriminator_updates_per_step_trains(tmp_path) -> None:
    """The scaler allows one step per optimizer per update: the second D update first updates the scale
    (found by the option fuzzer: `--precision fp16 --d-steps 2` failed with a PyTorch error)."""
    out = tmp_path / "run"
    run_cli("train", "dcgan", "--steps", "3", "--precision", "fp16", "--d-steps", "2", "--image-size", "16",
            "--batch-size", "8", "--set", "g_width=8", "--set", "d_width=8", "--sample-every", "3",
            "--diagnostics-every", "0", "--out", str(out), env={"GANZOO_HOME": str(tmp_path / "home")}, check=True)
    header = read_header(out / "checkpoints" / "last.safetensors")
    assert header["step"] == 3 and header["config"]["train"]["precision"] == "fp16"
