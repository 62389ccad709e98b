"""Quality measures for models trained on the built-in digits (used by the plugins' quality tests).

    from ganzoo.testing.quality import digits_classifier, frechet_to_heldout, noise_baseline, class_fractions

    clf = digits_classifier(32)                   # trained once per process and image size
    clf.accuracy(images, labels)                  # e.g. does a conditional model draw the digit it was asked for
    fd = frechet_to_heldout(samples, clf)         # Fréchet distance to the held-out half in clf's features
    fd < noise_baseline(clf)                      # closer than real training digits with noise of sigma 0.3
    class_fractions(samples, clf).min() >= 0.04   # no digit class (mode) missing

    report = judge_generator("runs/dcgan-.../")     # all of the above for a trained checkpoint
    run = timed_cli("train", "dcgan", "--out", d)   # a CLI run with its wall and CPU time

The judge is a small CNN trained on the HELD-OUT half of `digits` (`ganzoo.data.digits_split`), which
no model trains on, with the preprocessing `resolve_data("digits", DataOptions(image_size=...))`
uses. Training is deterministic (fixed seed, its own generators; the global RNG state is restored
afterwards). Its accuracy on the training half, which it never sees, is `DigitsClassifier.check_accuracy`.
Features are the 64 pre-activation units of its penultimate layer; Fréchet distances (the model cards'
*judge FD*, not `ganzoo eval`'s FID with its `digits` extractor, a different network) use the core's
`ganzoo.metrics.frechet_distance`.

Images are N x C x H x W in [-1, 1] with 1 or 3 channels (colour is averaged to gray) at any size;
they are resized to the classifier's working size (the image size, at most 16: the digits are 8 x 8 scans) with anti-aliased
bilinear interpolation.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CLASSIFIER_SEED = 20240605
FEATURE_DIM = 64
NUM_CLASSES = 10
MAX_WORKING_SIZE = 16
EPOCHS = 40
BATCH_SIZE = 64
NOISE_SEED = 1234


class _DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * 4 * 4, FEATURE_DIM)
        self.fc2 = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.adaptive_avg_pool2d(x, 4)
        hidden = self.fc1(torch.flatten(x, 1))
        return hidden, self.fc2(self.dropout(F.relu(hidden)))


class DigitsClassifier:
    """A digits classifier (eval mode) with feature, prediction and accuracy helpers."""

    def __init__(self, net: nn.Module, image_size: int) -> None:
        self.net = net.eval()
        self.image_size = image_size
        self.working_size = min(image_size, MAX_WORKING_SIZE)
        self.check_accuracy: float = float("nan")
        """Accuracy on the training half of digits (never seen by the classifier)."""
        self._heldout_stats: tuple[np.ndarray, np.ndarray] | None = None

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """N x 1 x working_size x working_size gray float32 in [-1, 1]."""
        x = images.detach().to("cpu", torch.float32)
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"images must be N x 1 or 3 x H x W, got shape {tuple(x.shape)}")
        if x.shape[1] == 3:
            x = x.mean(dim=1, keepdim=True)
        if x.shape[-2:] != (self.working_size, self.working_size):
            x = F.interpolate(x, size=(self.working_size, self.working_size), mode="bilinear",
                              align_corners=False, antialias=True)
        return x

    @torch.no_grad()
    def _run(self, images: torch.Tensor, batch: int = 500) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.prepare(images)
        feats, logits = [], []
        for start in range(0, len(x), batch):
            f, y = self.net(x[start:start + batch])
            feats.append(f)
            logits.append(y)
        return torch.cat(feats), torch.cat(logits)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """N x 64 penultimate-layer features (before the ReLU)."""
        return self._run(images)[0]

    def logits(self, images: torch.Tensor) -> torch.Tensor:
        return self._run(images)[1]

    def predict(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted digit (int64) for each image."""
        return self.logits(images).argmax(dim=1)

    def accuracy(self, images: torch.Tensor, labels: torch.Tensor) -> float:
        """Fraction of images classified as their label."""
        labels = torch.as_tensor(labels).to("cpu", torch.int64).reshape(-1)
        return float((self.predict(images) == labels).float().mean())

    def heldout_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the held-out half's features (computed once)."""
        if self._heldout_stats is None:
            from ganzoo.metrics.frechet import feature_stats

            images, _ = digits_half("test", self.image_size)
            self._heldout_stats = feature_stats(self.features(images).double().numpy())
        return self._heldout_stats


def digits_half(split: str, image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All images (N x 1 x S x S in [-1, 1]) and labels of one half of the built-in digits."""
    from ganzoo.data import DataOptions, resolve_data

    source = resolve_data("digits", DataOptions(image_size=image_size, channels=1))
    dataset = source.train if split == "train" else source.test
    keys = [(i, 0) for i in range(len(dataset))]
    batch = dataset.get_batch(keys) if hasattr(dataset, "get_batch") else \
        {k: torch.stack([dataset[key][k] for key in keys]) for k in ("image", "label")}
    return batch["image"].float(), batch["label"].long()


def _train(images: torch.Tensor, labels: torch.Tensor, working_size: int) -> nn.Module:
    shift = max(1, working_size // 8)
    gen = torch.Generator().manual_seed(CLASSIFIER_SEED)
    threads = torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(CLASSIFIER_SEED)
        torch.set_num_threads(1)  # tiny work: one thread is faster, and the result does not depend on the machine
        net = _DigitsCNN()
        opt = torch.optim.Adam(net.parameters(), lr=2e-3)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS * ((len(images) + BATCH_SIZE - 1) // BATCH_SIZE))
        padded = F.pad(images, (shift,) * 4, value=-1.0)
        net.train()
        for _ in range(EPOCHS):
            order = torch.randperm(len(images), generator=gen)
            for start in range(0, len(images), BATCH_SIZE):
                idx = order[start:start + BATCH_SIZE]
                # Random translations by up to `shift` pixels: the judge should not care where a digit sits.
                dy, dx = torch.randint(0, 2 * shift + 1, (2,), generator=gen).tolist()
                x = padded[idx, :, dy:dy + working_size, dx:dx + working_size]
                _, logits = net(x)
                loss = F.cross_entropy(logits, labels[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
        torch.set_num_threads(threads)
    return net.eval()


def digits_classifier(image_size: int = 32) -> DigitsClassifier:
    """The judge for `image_size`: trained (deterministically) on the held-out half, cached per process."""
    return _classifier(int(image_size))


@cache
def _classifier(image_size: int) -> DigitsClassifier:
    images, labels = digits_half("test", image_size)
    clf = DigitsClassifier(_DigitsCNN(), image_size)
    clf.net = _train(clf.prepare(images), labels, clf.working_size)
    train_images, train_labels = digits_half("train", image_size)
    clf.check_accuracy = clf.accuracy(train_images, train_labels)
    return clf


def frechet_to_heldout(images: torch.Tensor, clf: DigitsClassifier) -> float:
    """Fréchet distance between `images` (in [-1, 1]) and the held-out half, in `clf`'s features."""
    from ganzoo.metrics.frechet import feature_stats, frechet_distance

    mu, sigma = feature_stats(clf.features(images).double().numpy())
    mu_ref, sigma_ref = clf.heldout_stats()
    return frechet_distance(mu, sigma, mu_ref, sigma_ref)


def noisy_training_digits(image_size: int, sigma: float = 0.3, seed: int = NOISE_SEED) -> torch.Tensor:
    """The training half with Gaussian noise of `sigma` added in [0, 1] pixel units, clipped, in [-1, 1]."""
    images, _ = digits_half("train", image_size)
    gen = torch.Generator().manual_seed(seed)
    unit = (images + 1.0) / 2.0
    noisy = (unit + sigma * torch.randn(unit.shape, generator=gen)).clamp(0.0, 1.0)
    return noisy * 2.0 - 1.0


def noise_baseline(clf: DigitsClassifier, sigma: float = 0.3) -> float:
    """`frechet_to_heldout` of the real training digits with noise of `sigma` (the bar a generator must beat)."""
    return frechet_to_heldout(noisy_training_digits(clf.image_size, sigma), clf)


def class_fractions(images: torch.Tensor, clf: DigitsClassifier) -> np.ndarray:
    """Fraction of `images` that `clf` assigns to each of the 10 digits (sums to 1)."""
    counts = torch.bincount(clf.predict(images), minlength=NUM_CLASSES).double()
    return (counts / counts.sum()).numpy()


# -- measuring a trained generator and a default run -------------------------------------------
@dataclass
class GeneratorReport:
    """What `judge_generator` measured (see the module docstring for the measures)."""

    fd: float
    baseline: float
    fractions: np.ndarray
    label_accuracy: list[float] = field(default_factory=list)
    """For a conditional model: fraction of samples asked for label K that are classified as K, per K."""
    n: int = 0

    @property
    def mean_label_accuracy(self) -> float:
        return float(np.mean(self.label_accuracy)) if self.label_accuracy else float("nan")

    def summary(self) -> str:
        text = (f"judge FD to held-out {self.fd:.2f} (noise baseline {self.baseline:.2f}); class fractions "
                f"{np.round(self.fractions, 3).tolist()} (min {self.fractions.min():.3f})")
        if self.label_accuracy:
            text += (f"; label accuracy {self.mean_label_accuracy:.3f} "
                     f"(per label {[round(a, 3) for a in self.label_accuracy]})")
        return text


def judge_generator(source: str | Path, *, n: int = 901, per_label: int = 200, seed: int = 0) -> GeneratorReport:
    """Load a checkpoint (file or run folder) trained on digits and measure its samples.

    `n` samples (as many as the training half by default) are compared with the held-out half; a
    conditional model also draws `per_label` samples for each label.
    """
    from ganzoo.engine.inference import load

    loaded = load(str(source))
    size = getattr(loaded.run_config.model, "image_size", None) or 32
    clf = digits_classifier(size)
    images = loaded.generate(n, seed=seed)
    report = GeneratorReport(frechet_to_heldout(images, clf), noise_baseline(clf), class_fractions(images, clf), n=n)
    for label in range(loaded.num_classes or 0):
        labels = torch.full((per_label,), label, dtype=torch.long)
        report.label_accuracy.append(clf.accuracy(loaded.generate(per_label, seed=seed + 1 + label, labels=labels),
                                                  labels))
    return report


NOMINAL_MATMUL_GFLOPS = 174.8
"""fp32 `torch.mm` rate (1024 x 1024, two threads) of the 2-core machine the run budgets were set on, idle
(docs/benchmarks.md, 2026-11-24)."""


def machine_slowdown() -> float:
    """How many times slower than nominal this machine computes right now (at least 1).

    The shared host's speed varies: sessions have measured the same matmul at about half the nominal
    rate, and the default runs' CPU times doubled with it. A budget check multiplies its bound by this
    factor (and prints it), so it checks the run against the machine it was set for, not the neighbours'
    load; a machine at or above nominal speed gets the bound as it is.
    """
    from ganzoo.bench.peak import matmul_peak

    peak = matmul_peak("cpu", "fp32", size=1024, repeats=15)
    return max(1.0, NOMINAL_MATMUL_GFLOPS / peak.gflops)


@dataclass
class TimedRun:
    """A finished `ganzoo` subprocess with its wall time and CPU time (user + system, children included)."""

    returncode: int
    """The process's exit code (0: success)."""
    stdout: str
    stderr: str
    wall: float
    """Seconds from start to exit; grows when the machine is shared."""
    cpu: float
    """Seconds of user + system CPU time of this process and its children alone: with one thread, the
    wall time it needs on an idle core, whatever else runs beside it."""


def timed_cli(*args: str, env: dict[str, str] | None = None, threads: int | None = 1,
              timeout: float = 3600, on_start: Callable[[subprocess.Popen], None] | None = None,
              cwd: str | os.PathLike[str] | None = None) -> TimedRun:
    """Run `python -m ganzoo ARGS...` like `ganzoo.testing.run_cli`, measuring wall and CPU time.

    With `threads` (default 1) the run's torch uses that many threads (OMP_NUM_THREADS). The CPU time
    of a one-thread run is the wall time it needs on one idle core, so it bounds the wall time on an
    idle multi-core machine from above; unlike wall time, or the CPU time of a multi-threaded run
    (whose threads spin while waiting for each other), it does not grow when the machine is shared.
    The CPU time is that of this one child process (and its children), even while other runs go on.
    `on_start` is given the process as soon as it runs (so a caller can stop it). `cwd`: the working
    folder of the run (default: this process's, which a test in another thread may change and delete).
    """
    import sys
    import tempfile
    import time

    extra = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "ganzoo", *args], stdout=out, stderr=err, text=True, cwd=cwd,
                                env={**os.environ, "COLUMNS": "200", **extra, **(env or {})})
        if on_start is not None:
            on_start(proc)
        deadline = start + timeout
        while True:  # reap this child only, with its own resource usage
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise subprocess.TimeoutExpired(proc.args, timeout)
            time.sleep(0.05)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return TimedRun(proc.returncode, out.read(), err.read(), wall, usage.ru_utime + usage.ru_stime)
