"""Checkpoint files: self-describing header, state round trip, atomic writes, one-line errors."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ganzoo.engine.checkpoint import (
    FORMAT_VERSION,
    flatten_state,
    load_checkpoint,
    read_header,
    save_checkpoint,
    unflatten_state,
)
from ganzoo.errors import CheckpointError
from ganzoo.testing import run_cli


def write_sample(path: Path, **extra) -> Path:
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    return save_checkpoint(
        path, kind="training", name="toy", plugin="ganzoo-toy", plugin_version="1.2.3",
        config={"name": "toy", "model": {"hidden": 3}, "train": {"seed": 0}}, step=7, epoch=1, data="toy-squares",
        nets={"G": net.state_dict()}, ema={"G": net.state_dict()},
        state={"optimizers": {"G": opt.state_dict()}, "note": "x"}, **extra,
    )


def test_state_round_trip_keeps_structure_types_and_tensors():
    state = {
        "ints": {0: {"t": torch.arange(3)}, 5: [1, 2.5, None]},
        "tuple": (1, "a", torch.ones(2)),
        "inf": float("inf"),
        "nested": {"a": {"b": [torch.zeros(1), {"c": True}]}},
    }
    structure, tensors = flatten_state(state)
    json.dumps(structure)  # JSON-able
    back = unflatten_state(json.loads(json.dumps(structure)), tensors)
    assert set(back["ints"]) == {0, 5}
    assert torch.equal(back["ints"][0]["t"], torch.arange(3))
    assert back["tuple"][0] == 1 and isinstance(back["tuple"], tuple)
    assert math.isinf(back["inf"])
    assert back["nested"]["a"]["b"][1]["c"] is True


def test_header_is_self_describing(tmp_path):
    path = write_sample(tmp_path / "ck.safetensors")
    header = read_header(path)
    for key in ("format", "format_version", "kind", "name", "plugin", "plugin_version", "ganzoo_version",
                "torch_version", "config", "step", "epoch", "data", "data_info", "nets", "ema", "created", "notes"):
        assert key in header, key
    assert header["format_version"] == FORMAT_VERSION
    assert header["config"]["model"] == {"hidden": 3}
    ck = load_checkpoint(path)
    assert ck.step == 7 and set(ck.nets) == {"G"} and set(ck.ema) == {"G"}
    opt_state = ck.state["optimizers"]["G"]
    assert set(opt_state["state"]) == {0, 1}  # integer keys survive
    assert opt_state["param_groups"][0]["betas"] == (0.9, 0.999)


def test_truncated_foreign_and_garbage_files_are_one_line_errors(tmp_path):
    good = write_sample(tmp_path / "good.safetensors")
    data = good.read_bytes()
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(os.urandom(1000))
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.ones(2)}, str(foreign))
    newer = tmp_path / "newer.safetensors"
    meta = dict(json.loads(json.dumps({k: v for k, v in _raw_meta(good).items()})))
    meta["format_version"] = str(FORMAT_VERSION + 1)
    save_file({"net/G/weight": torch.ones(1)}, str(newer), metadata=meta)
    cases = {
        truncated: "truncated or corrupt",
        garbage: "truncated or corrupt",
        foreign: "not a ganzoo checkpoint",
        newer: "newer ganzoo",
        tmp_path / "missing.safetensors": "no checkpoint at",
    }
    for path, message in cases.items():
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint(path)
        result = run_cli("sample", str(path), "--out", str(tmp_path / "x.png"))
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines


def _raw_meta(path: Path) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as fh:
        return fh.metadata()


WRITER = """
import sys, torch
from ganzoo.engine.checkpoint import save_checkpoint
path = sys.argv[1]
big = {"w": torch.randn(32, 1024, 1024)}
i = 0
while True:
    i += 1
    save_checkpoint(path, kind="weights", name="toy", plugin="p", plugin_version="1", config={}, step=i,
                    nets={"G": big})
    print(i, flush=True)
"""


def test_a_kill_during_save_leaves_the_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "last.safetensors"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(0.3)  # now it is in the middle of writing the next 128 MB
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    ck = load_checkpoint(path)
    assert ck.step >= 1 and ck.nets["G"]["w"].shape == (32, 1024, 1024)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "last.safetensors"]
    # Only the interrupted temporaries (ours end in .tmp; safetensors' own writer uses .tmpXXXXXX).
    assert all(name.startswith(".") and ".tmp" in name for name in leftovers), leftovers
