"""Exponential moving averages of network weights (used for samples and exports when present)."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn


class EMA:
    """Averaged copies of some networks: p_ema <- decay * p_ema + (1 - decay) * p after every step."""

    def __init__(self, nets: Mapping[str, nn.Module], decay: float) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError("EMA decay must be in [0, 1)")
        self.decay = decay
        self.sources = dict(nets)
        self.copies: dict[str, nn.Module] = {}
        for name, net in self.sources.items():
            twin = copy.deepcopy(net)
            twin.eval()
            twin.requires_grad_(False)
            self.copies[name] = twin

    @torch.no_grad()
    def update(self) -> None:
        weight = 1.0 - self.decay
        for name, net in self.sources.items():
            twin = self.copies[name]
            ema_params = [p for p in twin.parameters()]
            params = [p.detach() for p in net.parameters()]
            floats = [(e, p) for e, p in zip(ema_params, params) if e.dtype.is_floating_point]
            if floats:
                torch._foreach_lerp_([e for e, _ in floats], [p for _, p in floats], weight)
            for e_buf, buf in zip(twin.buffers(), net.buffers()):
                e_buf.copy_(buf)

    def state_dict(self) -> dict[str, dict[str, torch.Tensor]]:
        return {name: twin.state_dict() for name, twin in self.copies.items()}

    def load_state_dict(self, states: Mapping[str, Mapping[str, torch.Tensor]]) -> None:
        from ganzoo.engine.checkpoint import load_module_state

        for name, twin in self.copies.items():
            if name in states:
                load_module_state(twin, states[name], what=f"EMA of {name}", source="checkpoint")

    def to(self, device: torch.device) -> None:
        for twin in self.copies.values():
            twin.to(device)
