"""ganzoo's training step against a plain reference loop, alternating in one process.

Each side first runs its warm-up steps (ganzoo's first one under the FLOP counter; the reference's
FLOPs are counted on one extra step). Then `rounds` rounds follow; a round runs `steps` steps of one
side, then `steps` of the other, and the order flips from one round to the next so that slow drifts
of the machine (other load, clock changes) hit both sides alike. A side's rate in a round is its
images divided by the wall time of its steps; the round's ratio is ganzoo's rate over the
reference's; the result reports the medians over rounds. The same ratio computed from process CPU
time instead of wall time (`cpu_ratio`) is reported too: on a machine shared with other work it is
the steadier of the two, on an idle machine the wall-time ratio is the one that counts.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from ganzoo.bench.flops import count_flops
from ganzoo.bench.session import EngineSession
from ganzoo.bench.stats import TimeStats, median


@dataclass
class SideResult:
    """One side over all rounds."""

    images_per_s: list[float]
    step_seconds: list[float]
    cpu_seconds: list[float]
    flops_per_step: int
    data_seconds: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        steps = TimeStats.of(self.step_seconds)
        return {
            "images_per_s_rounds": self.images_per_s,
            "images_per_s": median(self.images_per_s),
            "step_time": steps.to_json(),
            "cpu_seconds_per_step": sum(self.cpu_seconds) / len(self.cpu_seconds),
            "flops_per_step": self.flops_per_step,
            "gflops": self.flops_per_step / steps.median / 1e9,
            "data_share": (sum(self.data_seconds) / sum(self.step_seconds)) if self.data_seconds else None,
        }


@dataclass
class Comparison:
    """The outcome of alternating rounds: both sides and the per-round ratios."""

    name: str
    setting: dict[str, Any]
    ganzoo: SideResult
    reference: SideResult
    ratios: list[float]
    seconds: float
    cpu_ratios: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return median(self.ratios)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "setting": self.setting, "ratio": self.ratio, "ratios": self.ratios,
                "cpu_ratio": median(self.cpu_ratios), "cpu_ratios": self.cpu_ratios,
                "ganzoo": self.ganzoo.to_json(), "reference": self.reference.to_json(), "seconds": self.seconds}


class ReferenceSide:
    """A plain loop: `next_batch()` from its own data loader, then `update(batch)`; both timed."""

    def __init__(self, next_batch: Callable[[], Any], update: Callable[[Any], Any], batch_size: int) -> None:
        self.next_batch = next_batch
        self.update = update
        self.batch_size = batch_size

    def count_flops(self) -> int:
        batch = self.next_batch()
        return count_flops(lambda: self.update(batch))[1].total

    def run(self, steps: int) -> tuple[list[float], list[float]]:
        walls, cpus = [], []
        for _ in range(steps):
            wall, cpu = time.perf_counter(), time.process_time()
            self.update(self.next_batch())
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return walls, cpus


def compare(name: str, setting: dict[str, Any], session: EngineSession, reference: ReferenceSide, *,
            rounds: int, steps: int, warmup: int = 2, progress: Callable[[str], None] | None = None) -> Comparison:
    """Alternate `rounds` rounds of `steps` ganzoo steps and `steps` reference steps (see the module docstring)."""
    started = time.perf_counter()
    session.run(max(1, warmup), count_flops=True)
    ganzoo_flops = session.probe.flops.total if session.probe.flops else 0
    reference_flops = reference.count_flops()
    reference.run(max(1, warmup))
    g = SideResult([], [], [], ganzoo_flops)
    r = SideResult([], [], [], reference_flops)
    ratios, cpu_ratios = [], []
    for k in range(rounds):
        order = ("ganzoo", "reference") if k % 2 == 0 else ("reference", "ganzoo")
        rates: dict[str, float] = {}
        cpu_rates: dict[str, float] = {}
        for side in order:
            if side == "ganzoo":
                records = session.run(steps)
                walls = [rec.seconds for rec in records]
                g.step_seconds += walls
                g.cpu_seconds += [rec.cpu_seconds for rec in records]
                g.data_seconds += [rec.data_seconds for rec in records]
                rates[side] = sum(rec.images for rec in records) / sum(walls)
                cpu_rates[side] = sum(rec.images for rec in records) / sum(rec.cpu_seconds for rec in records)
                g.images_per_s.append(rates[side])
            else:
                walls, cpus = reference.run(steps)
                r.step_seconds += walls
                r.cpu_seconds += cpus
                rates[side] = steps * reference.batch_size / sum(walls)
                cpu_rates[side] = steps * reference.batch_size / sum(cpus)
                r.images_per_s.append(rates[side])
        ratios.append(rates["ganzoo"] / rates["reference"])
        cpu_ratios.append(cpu_rates["ganzoo"] / cpu_rates["reference"])
        if progress is not None:
            progress(f"{name} round {k + 1}/{rounds}: ganzoo {rates['ganzoo']:.2f} img/s, "
                     f"reference {rates['reference']:.2f} img/s, ratio {ratios[-1]:.3f}")
    return Comparison(name, setting, g, r, ratios, time.perf_counter() - started, cpu_ratios)


# -- the two comparisons of the issue ---------------------------------------------------------
def _endless(loader: DataLoader) -> Iterator[Any]:
    while True:
        yield from loader


def dcgan_pair(*, image_size: int, batch_size: int, width: int = 64, precision: str = "fp32",
               data: str = "digits") -> tuple[dict[str, Any], EngineSession, ReferenceSide]:
    """ganzoo's dcgan (3 channels) on `data`, and pytorch/examples' update on the same images."""
    from benchmarks.reference_dcgan import ReferenceDCGAN, copy_weights

    # The paper's update on both sides: no R1 (the digits demo's default adds it; pytorch/examples has none).
    overrides = {"image_size": image_size, "channels": 3, "g_width": width, "d_width": width, "r1_gamma": 0.0}
    session = EngineSession("dcgan", overrides=overrides,
                            train_overrides={"batch_size": batch_size, "precision": precision, "data": data})
    ref = ReferenceDCGAN(image_size=image_size, channels=3, width=width, precision=precision)
    copy_weights(session.model.nets["G"], ref.netG)
    copy_weights(session.model.nets["D"], ref.netD)
    images = _all_images(session)
    loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = _endless(loader)
    reference = ReferenceSide(lambda: next(batches)[0], ref.step, batch_size)
    setting = {"model": "dcgan", "image_size": image_size, "batch_size": batch_size, "precision": precision,
               "data": session.run_config.train.data, "width": width, "threads": torch.get_num_threads()}
    return setting, session, reference


class _Unaligned(Dataset):
    """Domain A in order, a random image of domain B with each (the reference's unaligned data set)."""

    def __init__(self, a: torch.Tensor, b: torch.Tensor) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.a[index], self.b[random.randrange(len(self.b))]


def cyclegan_pair(*, image_size: int, batch_size: int = 1, generator: str = "resnet_9blocks", ngf: int = 64,
                  ndf: int = 64, precision: str = "fp32",
                  data: str = "digits-invert") -> tuple[dict[str, Any], EngineSession, ReferenceSide]:
    """ganzoo's cyclegan (3 channels, reference losses and pools) and the plain reference update."""
    from benchmarks.reference_cyclegan import ReferenceCycleGAN

    overrides = {"image_size": image_size, "channels": 3, "generator": generator, "ngf": ngf, "ndf": ndf,
                 "lambda_identity": 0.5, "load_size": None, "flip": False, "pool_size": 50}
    session = EngineSession("cyclegan", overrides=overrides,
                            train_overrides={"batch_size": batch_size, "precision": precision, "data": data})
    ref = ReferenceCycleGAN(session.model.nets, precision=precision)
    train = session.data.train
    a, b = _domain_images(train.a), _domain_images(train.b)
    loader = DataLoader(_Unaligned(a, b), batch_size=batch_size, shuffle=True, drop_last=True)
    batches = _endless(loader)
    reference = ReferenceSide(lambda: next(batches), lambda batch: ref.step(*batch), batch_size)
    setting = {"model": "cyclegan", "image_size": image_size, "batch_size": batch_size, "precision": precision,
               "generator": generator, "ngf": ngf, "ndf": ndf, "data": session.run_config.train.data,
               "threads": torch.get_num_threads()}
    return setting, session, reference


def _all_images(session: EngineSession) -> torch.Tensor:
    """Every training image of an in-memory labelled data set, as one float tensor in [-1, 1]."""
    train = session.data.train
    keys = [(i, 0) for i in range(len(train))]
    return train.get_batch(keys)["image"]


def _domain_images(domain: Any) -> torch.Tensor:
    keys = [(i, 0) for i in range(len(domain))]
    return domain.get_batch(keys)["image"]
