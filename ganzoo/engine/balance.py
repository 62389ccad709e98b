"""Balance between discriminator and generator updates, for every adversarial family.

Policies (`--balance`):
  none              exactly `d_steps` discriminator updates per generator update
  skip-d:THRESHOLD  skip a discriminator update while its last loss is below THRESHOLD
  adaptive[:LO:HI]  adjust discriminator updates per generator update to keep the discriminator's
                    accuracy on real and fake within [LO, HI] (default 0.6..0.8)

Skipped and extra updates are counted (`skipped_d`, `extra_d`) and reported in metrics.jsonl.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import ConfigError


@dataclass
class BalancePolicy:
    """Decides how many discriminator updates each step makes and whether each one runs."""

    kind: str = "none"
    d_steps: int = 1
    threshold: float = 0.0
    low: float = 0.6
    high: float = 0.8
    ratio: float = 1.0
    credit: float = 0.0
    accuracy: float | None = None
    last_d_loss: float | None = None
    adjust_every: int = 10
    _since_adjust: int = 0

    @classmethod
    def parse(cls, text: str, d_steps: int) -> BalancePolicy:
        text = (text or "none").strip().lower()
        if text == "none":
            return cls("none", d_steps)
        if text.startswith("skip-d"):
            _, _, value = text.partition(":")
            try:
                threshold = float(value)
            except ValueError:
                raise ConfigError("--balance skip-d needs a threshold, e.g. skip-d:0.1") from None
            if not math.isfinite(threshold):  # nan would never skip, inf always
                raise ConfigError(f"--balance skip-d needs a finite threshold, not {value}")
            return cls("skip-d", d_steps, threshold=threshold)
        if text.startswith("adaptive"):
            parts = text.split(":")[1:]
            low, high = 0.6, 0.8
            if parts:
                try:
                    low, high = float(parts[0]), float(parts[1])
                except (ValueError, IndexError):
                    raise ConfigError("--balance adaptive takes an optional band, e.g. adaptive:0.6:0.8") from None
            if not 0.0 <= low < high <= 1.0:
                raise ConfigError("--balance adaptive band must satisfy 0 <= LO < HI <= 1")
            return cls("adaptive", d_steps, low=low, high=high)
        raise ConfigError(f"unknown --balance {text!r}; use none, skip-d:THRESHOLD or adaptive")

    @property
    def observes(self) -> bool:
        """True when the policy needs the discriminator's loss and accuracy every step."""
        return self.kind != "none"

    def plan(self) -> int:
        """How many discriminator updates (batches) the coming step makes."""
        if self.kind != "adaptive":
            return self.d_steps
        self.credit += self.ratio * self.d_steps
        n = math.floor(self.credit + 1e-9)
        self.credit -= n
        return n

    def allow_d_update(self) -> bool:
        """False when `skip-d` says the discriminator is already winning."""
        if self.kind == "skip-d" and self.last_d_loss is not None:
            return self.last_d_loss >= self.threshold
        return True

    def observe(self, d_loss: float | None = None, acc_real: float | None = None, acc_fake: float | None = None) -> None:
        """Feed the latest discriminator loss and accuracies."""
        if d_loss is not None:
            self.last_d_loss = d_loss
        if acc_real is not None and acc_fake is not None:
            acc = 0.5 * (acc_real + acc_fake)
            self.accuracy = acc if self.accuracy is None else 0.9 * self.accuracy + 0.1 * acc
        if self.kind == "adaptive" and self.accuracy is not None:
            self._since_adjust += 1
            if self._since_adjust >= self.adjust_every:
                self._since_adjust = 0
                if self.accuracy > self.high:
                    self.ratio = max(0.25, self.ratio * 0.8)
                elif self.accuracy < self.low:
                    self.ratio = min(4.0, self.ratio * 1.25)

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ratio": self.ratio,
            "credit": self.credit,
            "accuracy": self.accuracy,
            "last_d_loss": self.last_d_loss,
            "since_adjust": self._since_adjust,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != self.kind:
            return  # the user changed policy on resume: start the new one fresh
        self.ratio = float(state["ratio"])
        self.credit = float(state["credit"])
        self.accuracy = state["accuracy"]
        self.last_d_loss = state["last_d_loss"]
        self._since_adjust = int(state.get("since_adjust", 0))
