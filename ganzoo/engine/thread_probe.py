"""Choosing a CPU run's thread count by timing its own training steps, on a throwaway twin of the model.

Whether a second OpenMP thread helps depends on the machine, the model and what else is running: on
a 2-core KVM host (AMD EPYC, Zen 5) one thread stepped the default digits demos of dcgan, wgan and
cyclegan 1.3 to 2.7 times faster than two sleeping-while-waiting threads on an idle machine, while
bigger steps on other hosts gain from the second core; beside another CPU-bound process two threads
made a whole dcgan run 3.8 times slower than one (docs/benchmarks.md, "Threads and wait policy").
No fixed rule survives all three, so a fresh CPU run whose thread count nobody chose measures it:

- `candidate_counts(cpus)`: 1, half the CPUs and all of them (distinct, ascending).
- `probe_threads(...)` builds a twin of the run's model (the run's own is not touched) and steps it
  through a real `Trainer` (no run folder) in blocks, the candidates taking turns: a block is one
  untimed step (the first after a change of count pays for it) and BLOCK timed ones. A count whose
  steps take over 1.5 times the best one's after a round is timed no more, one whose first step
  alone takes 4 times as long is not timed at all; about a second in all for the digits demos.
- A step that fails in the probe (a non-finite loss, say) ends it: with a timed step per candidate
  it chooses from those, else the run keeps all usable CPUs; the run meets the failure itself.
- `choose_threads(times)` takes the candidate with the lowest median step time; one within 5% of a
  smaller count's loses to it (fewer threads leave more of a shared machine to others).

The choice is recorded in the run (`train.threads` in config.yaml and every checkpoint) and kept on
resume, since the thread count changes the arithmetic's rounding and a resume must continue the run
bit-exactly. `--threads`, `GANZOO_THREADS` or `OMP_NUM_THREADS` skip the probe.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.threads import AUTO_PREFIX, HOST_SOURCE

#: A larger count must be this much faster (median step time) than a smaller one to be chosen.
MARGIN = 0.05
#: Rounds of blocks: each candidate in turn runs one untimed step then BLOCK timed ones; at most
#: MAX_ROUNDS rounds, fewer once every candidate has MIN_STEPS timed steps and BUDGET_S seconds passed.
BLOCK, MIN_STEPS, MAX_ROUNDS, BUDGET_S = 2, 4, 4, 4.0
#: After a round, a count whose median step is over this many times the best one's is timed no more;
#: one whose first (untimed) step already takes HOPELESS_RATIO times as long is not timed at all.
DROP_RATIO, HOPELESS_RATIO = 1.5, 4.0


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count a probe chose, the median step time per candidate (s), the chosen count's timed steps
    and a one-line reason."""

    threads: int
    medians: dict[int, float]
    steps: int
    reason: str


def recorded_thread_count(header: Mapping[str, Any]) -> int | None:
    """The thread count a training checkpoint's run recorded in its config (`train.threads`), if any."""
    from ganzoo.engine.header import recorded

    value = recorded(header, "config", "train", "threads", allowed=int)
    return value if value is not None and not isinstance(value, bool) and value >= 1 else None


def candidate_counts(cpus: int) -> list[int]:
    """The thread counts worth timing on `cpus` usable CPUs: 1, half of them and all of them."""
    return sorted({1, max(1, cpus // 2), max(1, cpus)})


def choose_threads(times: Mapping[int, Sequence[float]], margin: float = MARGIN) -> ThreadChoice:
    """The candidate with the lowest median step time; a larger count must beat smaller ones by `margin`."""
    medians = {count: statistics.median(values) for count, values in sorted(times.items()) if values}
    if not medians:
        raise ValueError("no step times to choose a thread count from")
    best = min(medians)  # the fewest threads
    for count, median in medians.items():
        if median < medians[best] * (1 - margin):
            best = count
    steps = len(times[best])
    if len(medians) == 1:
        return ThreadChoice(best, medians, steps, f"{AUTO_PREFIX} the only count measured")
    measured = ", ".join(f"{_ms(median)} ms with {count}" for count, median in medians.items())
    counts = sorted({len(times[c]) for c in medians})
    of = f"median of {counts[0]}" if len(counts) == 1 else \
        "medians of " + " and ".join(str(len(times[c])) for c in medians) + " steps"
    return ThreadChoice(best, medians, steps, f"{AUTO_PREFIX} a step took {measured}, {of}")


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:.0f}" if ms >= 10 else f"{ms:.1f}"


def twin_factory(spec: Any, run: Any, device: torch.device, precision: str,
                 product_grads: bool) -> Callable[[], Any]:
    """`make_model` for `probe_threads`: builds the run's model again and sets it up as the run set up its
    own (device, layout, the weight-gradient path taken, fused optimizers), eagerly."""
    def make_model() -> Any:
        from ganzoo.engine.run import build_model
        from ganzoo.engine.speed import speed_up_bf16_convs, use_fused_optimizers

        twin = build_model(spec, run.model, training=True)
        twin.to(device, channels_last=run.train.channels_last)
        speed_up_bf16_convs(twin, precision, device, False, product_grads)
        use_fused_optimizers(twin.optimizers, device)
        return twin

    return make_model


def probe_threads(run: Any, make_model: Callable[[], Any], data: Any, device: torch.device,
                  candidates: Sequence[int], *, budget_s: float = BUDGET_S) -> ThreadChoice:
    """Time training steps of a model from `make_model()` at each of `candidates` thread counts, choose one.

    `make_model` builds a twin of the run's model as the run built its own (same options, device,
    layout and weight-gradient path); the twin is trained a few steps and thrown away, so nothing of
    the run's model is shared or touched. The global random number generators and torch's thread
    count are left as they were (the caller sets the count).
    """
    from ganzoo.bench.probe import StepProbe
    from ganzoo.engine import rng
    from ganzoo.engine.trainer import Interrupted, Trainer

    before = torch.get_num_threads()
    rng_state = rng.capture()
    twin = make_model()
    steps_wanted = MAX_ROUNDS * len(candidates) * (BLOCK + 1)
    probe_run = run.replace_train(steps=steps_wanted, epochs=None, diagnostics_every=0)
    trainer = Trainer(probe_run, twin, data, None, device=device, progress=False)
    probe = StepProbe(trainer)
    times: dict[int, list[float]] = {count: [] for count in candidates}
    try:
        trainer.begin()

        def steps(count: int, n: int) -> list[float]:
            torch.set_num_threads(count)
            probe.clear()
            trainer.total_steps = trainer.step + n
            trainer.fit()
            return [record.seconds for record in probe.records]

        def block(count: int) -> list[float]:
            # The first step after a change pays for it (oneDNN makes its kernels for a thread count): untimed,
            # unless it alone shows the count hopeless against one already timed (then it is all we time).
            first = steps(count, 1)
            timed = [statistics.median(v) for c, v in times.items() if v and c != count]
            if timed and first[0] > HOPELESS_RATIO * min(timed):
                return first
            return steps(count, BLOCK)

        start = time.perf_counter()
        racing = list(candidates)
        for _ in range(MAX_ROUNDS):
            for count in racing:
                times[count].extend(block(count))
            # A count whose steps take far longer than the best one's is out: no need to time it again.
            best = min(statistics.median(times[c]) for c in racing)
            racing = [c for c in racing if statistics.median(times[c]) <= DROP_RATIO * best]
            if min(len(times[c]) for c in racing) >= MIN_STEPS and (
                    len(racing) == 1 or time.perf_counter() - start > budget_s):
                break
    except Interrupted as stop:  # Ctrl-C or SIGTERM while measuring: stop as during any other set-up
        if stop.exit_code == 130:
            raise KeyboardInterrupt from None
        raise SystemExit(stop.exit_code) from None
    except Exception:
        # A step that fails here (a non-finite loss, a batch the model cannot use) fails the same way in
        # the run itself, which reports it; the probe chooses from what it timed, if anything.
        pass
    finally:
        probe.detach()
        trainer.stream.close()
        torch.set_num_threads(before)
        rng.restore(rng_state)
    if not all(times.values()):
        return ThreadChoice(max(candidates), {}, 0, HOST_SOURCE)
    return choose_threads(times)
