"""Test helpers: the reference CycleGAN generator's key layout and forward pass (`ganzoo.testing.translation_reference`)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture
def reference() -> SimpleNamespace:
    """`resnet_state(channels, ngf, n_blocks, seed=, stale_stats=)` and `resnet_forward(state, x, n_blocks)`."""
    from ganzoo.testing import translation_reference

    return SimpleNamespace(resnet_state=translation_reference.resnet_state,
                           resnet_forward=translation_reference.resnet_forward)
