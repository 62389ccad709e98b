"""The `--augment` option: what it may say and what it means (torch-free, so `--help` stays fast).

    none                                   no augmentation (the default)
    ada[:ITEM,...]                         adaptive discriminator augmentation (Karras et al. 2020)
        items: a pipeline name (blit, geom, color, bg, bgc; default bgc), target=R (default 0.6;
        `none` keeps p fixed), p=P (starting probability, default 0), kimg=K (images, in thousands,
        for p to move by 1; default 500), interval=N (discriminator batches between adjustments;
        default 4)
    diffaugment[:POLICY,...]               DiffAugment (Zhao et al. 2020): color, translation, cutout
                                           (default: all three)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ganzoo.errors import ConfigError

#: ADA's pipelines: which of the three groups (pixel blitting, geometric, colour) each turns on.
ADA_PIPELINES: dict[str, tuple[str, ...]] = {
    "blit": ("blit",),
    "geom": ("geom",),
    "color": ("color",),
    "bg": ("blit", "geom"),
    "bgc": ("blit", "geom", "color"),
}
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")
KINDS = ("none", "ada", "diffaugment")


@dataclass(frozen=True)
class AugmentSpec:
    """A parsed `--augment` value."""

    kind: str = "none"  # none, ada or diffaugment
    pipeline: str = "bgc"  # ADA: a key of ADA_PIPELINES
    target: float | None = 0.6  # ADA: the r_t the controller steers towards; None keeps p fixed
    p: float = 0.0  # ADA: the probability at the start of training
    kimg: float = 500.0  # ADA: thousands of real images over which p can move by 1
    interval: int = 4  # ADA: discriminator batches between two adjustments of p
    policy: tuple[str, ...] = DIFFAUGMENT_POLICIES  # DiffAugment: the transforms, in order

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    @property
    def adaptive(self) -> bool:
        return self.kind == "ada" and self.target is not None


def parse_augment(text: str | None) -> AugmentSpec:
    """Parse an `--augment` value; a mistake is a one-line `ConfigError` that says what is allowed."""
    raw = (text or "none").strip().lower()
    kind, _, rest = raw.partition(":")
    kind = kind.strip()
    items = [item.strip() for item in rest.split(",") if item.strip()] if rest else []
    if kind in ("none", "off", ""):
        if items:
            raise ConfigError(f"--augment {text!r}: 'none' takes no options")
        return AugmentSpec()
    if kind == "ada":
        return _parse_ada(text or "", items)
    if kind in ("diffaugment", "diffaug"):
        unknown = [item for item in items if item not in DIFFAUGMENT_POLICIES]
        if unknown:
            raise ConfigError(f"--augment {text!r}: unknown DiffAugment transform {unknown[0]!r}; "
                              f"use some of {', '.join(DIFFAUGMENT_POLICIES)}")
        policy = tuple(dict.fromkeys(items)) if items else DIFFAUGMENT_POLICIES
        return AugmentSpec(kind="diffaugment", policy=policy)
    raise ConfigError(f"unknown --augment {text!r}; use none, ada[:OPTIONS] or diffaugment[:POLICY] "
                      "(e.g. ada, ada:bgc,target=0.6, diffaugment:color,translation,cutout)")


def _parse_ada(text: str, items: list[str]) -> AugmentSpec:
    values: dict[str, object] = {}
    for item in items:
        if "=" not in item:
            if item not in ADA_PIPELINES:
                raise ConfigError(f"--augment {text!r}: unknown ADA pipeline {item!r}; use one of "
                                  f"{', '.join(ADA_PIPELINES)}")
            values["pipeline"] = item
            continue
        key, _, value = (part.strip() for part in item.partition("="))
        if key == "pipeline":
            if value not in ADA_PIPELINES:
                raise ConfigError(f"--augment {text!r}: unknown ADA pipeline {value!r}; use one of "
                                  f"{', '.join(ADA_PIPELINES)}")
            values["pipeline"] = value
        elif key == "target":
            values["target"] = None if value in ("none", "fixed") else _number(text, key, value, 0.0, 1.0)
        elif key == "p":
            values["p"] = _number(text, key, value, 0.0, 1.0)
        elif key == "kimg":
            values["kimg"] = _number(text, key, value, 1e-3, math.inf)
        elif key == "interval":
            number = _number(text, key, value, 1, 10**6)
            if number != int(number):
                raise ConfigError(f"--augment {text!r}: interval must be a whole number of batches")
            values["interval"] = int(number)
        else:
            raise ConfigError(f"--augment {text!r}: unknown ADA option {key!r}; use pipeline, target, p, kimg "
                              "or interval")
    return AugmentSpec(kind="ada", **values)  # type: ignore[arg-type]


def _number(text: str, key: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (low <= number <= high):
        bound = f"from {low:g} to {high:g}" if math.isfinite(high) else f"at least {low:g}"
        raise ConfigError(f"--augment {text!r}: {key} must be a number {bound}, not {value!r}")
    return number
