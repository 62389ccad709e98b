"""Whether a training run compiles its networks with `torch.compile`, and compiling them with a way back.

- `choose_compile(run, model, recorded)`: `--compile/--no-compile` when given, else what a resumed run
  recorded, else the family's default (`Model.default_compile`: on only where compiling was measured
  to win over the family's default run after its compile time, docs/benchmarks.md#compilation).
- `compile_nets(nets)`: compiles every network in place (state dict keys unchanged, so checkpoints are
  the same as an eager run's) with the inductor backend; a graph that inductor cannot compile (e.g.
  no working C++ compiler on the machine) runs eagerly instead, said once on stderr.
- `eager_graphs()`: a context in which compiled networks run eagerly. A compiled graph's backward
  cannot itself be differentiated (torch.compile has no double backward), so gradient penalties
  (`torch.autograd.grad(..., create_graph=True)` through a network) run their network calls in it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ganzoo.engine.header import recorded

_fallback_said = False


@dataclass(frozen=True)
class CompileChoice:
    """Whether to compile, and why (for the start line and config.yaml's `host:`)."""

    enabled: bool
    reason: str

    def describe(self) -> str:
        return f"{'compiled' if self.enabled else 'eager'} ({self.reason})"


def choose_compile(requested: bool | None, default: bool, recorded: bool | None = None) -> CompileChoice:
    """The explicit choice, else the resumed run's recorded one, else the family's default."""
    if requested is not None:
        return CompileChoice(bool(requested), "as asked")
    if recorded is not None:
        return CompileChoice(bool(recorded), "kept as this run recorded it")
    return CompileChoice(bool(default), "this model's default")


def recorded_compile(header: Mapping[str, Any]) -> bool | None:
    """The compile choice a training checkpoint's run recorded in its config, if any."""
    return recorded(header, "config", "train", "compile")


def _say_fallback(exc: BaseException) -> None:
    global _fallback_said
    if _fallback_said:
        return
    _fallback_said = True
    why = " ".join(str(exc).split())[:160] or type(exc).__name__
    print(f"torch.compile could not compile the networks ({type(exc).__name__}: {why}); training eagerly instead",
          file=sys.stderr, flush=True)


def inductor_or_eager(gm: Any, example_inputs: list[Any]) -> Callable[..., Any]:
    """A torch.compile backend: inductor's compiled graph, or the graph run eagerly if inductor fails."""
    from torch._inductor.compile_fx import compile_fx

    try:
        return compile_fx(gm, example_inputs)
    except Exception as exc:  # any compiler failure falls back to eager
        _say_fallback(exc)
        return gm.forward


def compile_nets(nets: Mapping[str, nn.Module]) -> None:
    """Compile every network in place (see the module docstring)."""
    for net in nets.values():
        net.compile(backend=inductor_or_eager)


def eager_graphs() -> Any:
    """A context manager: compiled networks called inside it run eagerly (see the module docstring).

    torch before 2.6 has no compiler stances: there it changes nothing (eager networks need nothing)."""
    set_stance = getattr(torch.compiler, "set_stance", None)
    return set_stance("force_eager") if set_stance is not None else contextlib.nullcontext()
