"""One torch thread for these tests: the machine they run on is shared, and spinning OpenMP threads
on a busy CPU cost several times the work they do (the code paths are the same with any count)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
