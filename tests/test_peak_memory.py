"""ganzoo.engine.peak_memory: the most bytes a computation's tensors hold at once."""

from __future__ import annotations

import torch

from ganzoo.engine.peak_memory import peak_tensor_bytes

MIB = 1 << 20


def test_peak_counts_live_tensors_once_and_forgets_freed_ones() -> None:
    def work() -> torch.Tensor:
        a = torch.ones(MIB // 4)       # 1 MiB of float32
        b = a * 2                      # 2 MiB live
        view = b[:10]                  # a view: no new storage
        del a                          # 1 MiB live
        c = b + 1                      # 2 MiB live again
        del b, view
        return c.sum()                 # 1 MiB + 4 bytes

    result, peak = peak_tensor_bytes(work)
    assert float(result) == 3 * (MIB // 4)
    assert 2 * MIB <= peak < 2 * MIB + 4096


def test_inputs_made_before_the_call_are_not_counted() -> None:
    x = torch.zeros(MIB)  # 4 MiB, not ours
    _, peak = peak_tensor_bytes(lambda: x[::2].contiguous())  # 2 MiB
    assert peak == 2 * MIB


def test_a_network_peak_grows_with_its_input_pixels() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 3, 3, padding=1))
    with torch.inference_mode():
        _, small = peak_tensor_bytes(lambda: net(torch.zeros(1, 3, 32, 32)))
        _, large = peak_tensor_bytes(lambda: net(torch.zeros(1, 3, 128, 128)))
    assert small >= 16 * 32 * 32 * 4  # at least the 16-map activation
    assert 12 < large / small <= 16.5  # 16 times the pixels
