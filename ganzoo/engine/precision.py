"""Device choice and arithmetic precision: fp32, bf16 autocast, fp16 autocast with a loss scaler."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import torch

from ganzoo.errors import ConfigError


def resolve_device(name: str) -> torch.device:
    """`auto` picks cuda, then mps, then cpu; an unavailable explicit choice is an error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but no CUDA device is available; use --device cpu or auto")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps was asked for but MPS is not available; use --device cpu or auto")
    if name.startswith("cuda:"):
        return torch.device(name)
    return torch.device(name)


#: The values of `--precision`.
MODES = ("auto", "fp32", "bf16", "fp16")


@dataclass
class Precision:
    """How forward passes are computed and losses scaled on one device."""

    mode: str
    device: torch.device
    channels_last: bool = False
    scaler: Any = field(default=None)
    #: What was asked for: a mode, or "auto" (then `mode` is what `auto` resolved to).
    requested: str = ""
    #: Optimizers the loss scaler has stepped since its last update (each may step once per update).
    stepped: set[str] = field(default_factory=set)
    #: Small convolutions take the matrix-product weight gradient (`ganzoo.engine.conv_grad`); recorded in
    #: checkpoints so that a resume computes the same gradients.
    product_weight_grads: bool = False

    @classmethod
    def create(cls, mode: str, device: torch.device, *, channels_last: bool = False) -> Precision:
        """`mode` is fp32, bf16, fp16 or auto (resolved by `ganzoo.engine.auto_precision.choose_precision`)."""
        if mode not in MODES:
            raise ConfigError(f"--precision must be auto, fp32, bf16 or fp16, got {mode!r}")
        requested = mode
        if mode == "auto":
            from ganzoo.engine.auto_precision import choose_precision

            mode = choose_precision(device).mode
        scaler = None
        if mode == "fp16":
            scaler = torch.amp.GradScaler(device.type)
        return cls(mode, device, channels_last, scaler, requested)

    @property
    def dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.mode)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def full_precision(self) -> contextlib.AbstractContextManager:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, enabled=False)

    def penalty_precision(self) -> contextlib.AbstractContextManager:
        """The region of a gradient penalty: bf16 autocast in bf16 runs (bf16 keeps fp32's range, and the
        penalty's gradients are taken with respect to fp32 inputs, as PyTorch's AMP recipe computes them),
        with convolutions that can be differentiated twice; fp16, whose unscaled inner gradients can
        underflow, computes in fp32."""
        if self.mode != "bf16":
            return self.full_precision()
        from ganzoo.engine.conv_grad import twice_differentiable

        stack = contextlib.ExitStack()
        stack.enter_context(self.autocast())
        stack.enter_context(twice_differentiable())
        return stack

    def step(self, name: str, optimizer: Any) -> None:
        """Step `optimizer` through the loss scaler; a second step of the same optimizer within one training
        step (e.g. `--d-steps 2`) first updates the scale, as the scaler allows one step per update."""
        if name in self.stepped:
            self.scaler.update()
            self.stepped.clear()
        self.scaler.step(optimizer)
        self.stepped.add(name)

    def end_step(self) -> None:
        """Called once after every training step (updates the loss scale)."""
        if self.scaler is not None:
            self.scaler.update()
            self.stepped.clear()

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "scaler": self.scaler.state_dict() if self.scaler is not None else {},
                "product_weight_grads": self.product_weight_grads}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the loss scale; a run asked for `auto` keeps the mode its checkpoint recorded."""
        recorded = state.get("mode")
        if self.requested == "auto" and recorded in ("fp32", "bf16", "fp16") and recorded != self.mode:
            self.mode = recorded
            self.scaler = torch.amp.GradScaler(self.device.type) if recorded == "fp16" else None
        if self.scaler is not None and state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
