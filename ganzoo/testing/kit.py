"""The testing kit's implementation (see `ganzoo.testing`)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo import configs
from ganzoo.plugins import Plugins
from ganzoo.registry import Registry, get_registry, set_registry
from ganzoo.specs import ModelSpec, validate_model_spec
from ganzoo.train_config import TrainConfig


@contextlib.contextmanager
def isolated_registry(
    *plugins: object | tuple[str, object], entry_points: bool = False, builtin: bool = True,
    catalogue: Any = None,
) -> Iterator[Registry]:
    """Make the process registry hold only the core (and installed plugins if `entry_points`) plus `plugins`.

    Each plugin is a module or object with hook functions, or a `(name, object)` pair. `catalogue`
    replaces the shipped registry.yaml (a `ganzoo.catalogue.Catalogue`), e.g. to list test weights.
    """
    manager = Plugins(load_entry_points=entry_points, builtin=builtin)
    for item in plugins:
        if isinstance(item, tuple):
            name, obj = item
        else:
            obj = item
            name = getattr(obj, "__name__", type(obj).__name__).replace("_", "-").replace(".", "-")
        manager.register(obj, name, "0.0.0+test")
    registry = Registry(manager, catalogue)
    previous = set_registry(registry)
    try:
        yield registry
    finally:
        set_registry(previous)


def _spec(name_or_spec: str | ModelSpec, registry: Registry | None) -> ModelSpec:
    if isinstance(name_or_spec, ModelSpec):
        return name_or_spec
    return (registry or get_registry()).resolve_model(name_or_spec).spec


def _torch_free(module: str) -> str | None:
    code = (
        f"import importlib, sys; importlib.import_module({module!r}); "
        "bad = sorted(m for m in ('torch', 'torchvision', 'timm', 'numpy') if m in sys.modules); "
        "print(','.join(bad))"
    )
    # The fresh interpreter sees what this process sees (e.g. a plugin folder a test put on sys.path).
    path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    if out.returncode != 0:
        return f"importing {module} failed: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"
    heavy = out.stdout.strip()
    return f"importing {module} imports {heavy} (discovery must stay light)" if heavy else None


def check_model_spec(
    name_or_spec: str | ModelSpec,
    *,
    registry: Registry | None = None,
    build: bool = True,
    overrides: Mapping[str, Any] | None = None,
) -> ModelSpec:
    """Assert that a registered model follows the plugin contract; return its spec.

    Checks: the record is well-formed; its config module and its plugin's entry-point module import
    without torch; every config field has a type, a default and help text, and none clashes with a
    training option; the defaults build; the factory returns a `ganzoo.engine.Model` whose
    networks, optimizers, EMA and inference declarations are consistent; and its task's capability
    (`generate` or `translate`, in every declared `translate_modes`) runs.
    """
    from ganzoo.run_config import load_config_class

    registry = registry or get_registry()
    spec = _spec(name_or_spec, registry)
    problems = list(validate_model_spec(spec))
    config_module = spec.config.partition(":")[0]
    for module in [config_module, _entry_module(registry, spec)]:
        if module:
            issue = _torch_free(module)
            if issue:
                problems.append(issue)
    cls = load_config_class(spec)
    infos = configs.describe(cls)
    train_names = {f.name for f in configs.describe(TrainConfig)}
    for info in infos:
        if info.default is dataclasses.MISSING:
            problems.append(f"config field {info.name!r} has no default")
        if not info.help.strip() and info.cli:
            problems.append(f"config field {info.name!r} has no help text")
        if info.name in train_names:
            problems.append(f"config field {info.name!r} clashes with the training option of the same name")
    try:
        config = configs.build(cls, [("overrides", dict(overrides or {}))])
    except Exception as exc:
        problems.append(f"the default config does not build: {exc}")
        config = None
    if build and config is not None and spec.factory is not None:
        problems.extend(_check_model(spec, config))
    if problems:
        raise AssertionError(f"model {spec.name!r} ({spec.plugin}) breaks the plugin contract:\n- " + "\n- ".join(problems))
    return spec


def _entry_module(registry: Registry, spec: ModelSpec) -> str | None:
    record = registry.plugins.records.get(spec.plugin)
    if record is None or record.builtin or ":" in record.module or not record.module:
        return None
    return record.module


def _check_model(spec: ModelSpec, config: Any) -> list[str]:
    import torch

    from ganzoo.engine.model import Model
    from ganzoo.engine.run import build_model

    problems: list[str] = []
    filled = {}
    for name, value in (("channels", 3 if spec.task != "unconditional" else 1), ("num_classes", 10)):
        if hasattr(config, name) and getattr(config, name) is None:
            filled[name] = value
    if filled:
        config = dataclasses.replace(config, **filled)
    model = build_model(spec, config, training=True)
    if not isinstance(model, Model):
        return [f"factory returned {type(model).__name__}, not a Model"]
    if not model.nets:
        problems.append("the model declares no networks (model.nets is empty)")
    params = {id(p) for net in model.nets.values() for p in net.parameters()}
    for name, opt in model.optimizers.items():
        for group in opt.param_groups:
            if any(id(p) not in params for p in group["params"]):
                problems.append(f"optimizer {name!r} updates parameters outside model.nets")
    for attr in ("ema_nets", "inference_nets"):
        missing = [n for n in getattr(model, attr) if n not in model.nets]
        if missing:
            problems.append(f"{attr} names unknown networks {missing}")
    if model.scheduler_interval not in ("step", "epoch"):
        problems.append("scheduler_interval must be 'step' or 'epoch'")
    inference = build_model(spec, config, training=False)
    inference.eval()
    with torch.no_grad():
        try:
            if spec.task in ("unconditional", "conditional"):
                out = inference.generate(2, generator=torch.Generator().manual_seed(0))
                problems.extend(_image_problems(out, 2, "generate"))
            elif spec.task == "image-to-image":
                channels = getattr(config, "channels", None) or 3
                size = getattr(config, "image_size", 32) or 32
                images = torch.zeros(1, channels, size, size)
                out = inference.translate(images, direction="a2b")
                problems.extend(_image_problems(out, 1, "translate"))
                modes = tuple(getattr(inference, "translate_modes", ()))
                if any(not isinstance(m, str) or not m for m in modes) or len(set(modes)) != len(modes):
                    problems.append(f"translate_modes must be distinct non-empty names, got {modes!r}")
                for mode in modes:
                    out = inference.translate(images, direction="a2b", mode=mode)
                    problems.extend(_image_problems(out, 1, f"translate in mode {mode!r}"))
        except NotImplementedError as exc:
            problems.append(f"task {spec.task!r} needs its capability: {exc}")
    return problems


def _image_problems(out: Any, n: int, what: str) -> list[str]:
    import torch

    if not isinstance(out, torch.Tensor) or out.dim() != 4 or out.shape[0] != n:
        return [f"{what} must return an N x C x H x W tensor of {n} images, got {getattr(out, 'shape', type(out))}"]
    if out.min() < -1.0001 or out.max() > 1.0001:
        return [f"{what} must return images in [-1, 1]"]
    return []


def _run_config(name: str, *, data: str | None, steps: int | None, overrides: Mapping[str, Any] | None,
                train_overrides: Mapping[str, Any] | None, registry: Registry | None) -> Any:
    from ganzoo.run_config import resolve

    registry = registry or get_registry()
    spec = registry.resolve_model(name).spec
    entry = registry.catalogue.models.get(spec.name)
    train_flags: dict[str, Any] = {"device": "cpu"}
    if steps is not None:
        train_flags["steps"] = steps
    if data is not None:
        train_flags["data"] = data
    train_flags.update(train_overrides or {})
    return resolve(spec, catalogue_defaults=entry.defaults if entry else None,
                   model_flags=dict(overrides or {}), train_flags=train_flags)


def smoke_train(
    name: str,
    out: str | Path,
    *,
    steps: int | None = 4,
    data: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    train_overrides: Mapping[str, Any] | None = None,
    resume: bool = True,
    registry: Registry | None = None,
) -> Any:
    """Train `name` for a few steps through the real engine into `out`; return the TrainResult."""
    from ganzoo.engine.run import train

    run = _run_config(name, data=data, steps=steps, overrides=overrides, train_overrides=train_overrides,
                      registry=registry)
    result, _ = train(run, out=out, resume=resume, progress=False)
    return result


@dataclass
class ResumeReport:
    """The outcome of a resume check: tensors compared and any that differ."""

    compared: int
    differing: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.differing


def compare_checkpoints(a: str | Path, b: str | Path, *, ignore: Sequence[str] = ()) -> ResumeReport:
    """Compare every tensor and the non-tensor state of two checkpoints, bit for bit."""
    import torch

    from ganzoo.engine.checkpoint import load_checkpoint

    ca, cb = load_checkpoint(a), load_checkpoint(b)
    differing: list[str] = []
    compared = 0
    for group in ("nets", "ema"):
        ga, gb = getattr(ca, group), getattr(cb, group)
        for net in sorted(set(ga) | set(gb)):
            for key in sorted(set(ga.get(net, {})) | set(gb.get(net, {}))):
                ta, tb = ga.get(net, {}).get(key), gb.get(net, {}).get(key)
                compared += 1
                if ta is None or tb is None or ta.dtype != tb.dtype or not torch.equal(ta, tb):
                    differing.append(f"{group}/{net}/{key}")
    flat_a, flat_b = _flatten(ca.state, "state"), _flatten(cb.state, "state")
    for key in sorted(set(flat_a) | set(flat_b)):
        if any(key.startswith(prefix) for prefix in ignore):
            continue
        va, vb = flat_a.get(key), flat_b.get(key)
        compared += 1
        if isinstance(va, torch.Tensor) and isinstance(vb, torch.Tensor):
            same = va.dtype == vb.dtype and va.shape == vb.shape and torch.equal(va, vb)
        else:
            same = va == vb
        if not same:
            differing.append(key)
    if ca.step != cb.step:
        differing.append(f"step {ca.step} != {cb.step}")
    return ResumeReport(compared, differing)


def _flatten(value: Any, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}/{k}"))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}/{i}"))
    else:
        out[prefix] = value
    return out


def check_resume(
    name: str,
    tmp_path: str | Path,
    *,
    steps: int = 6,
    split: int = 3,
    data: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    train_overrides: Mapping[str, Any] | None = None,
    registry: Registry | None = None,
) -> ResumeReport:
    """Train `steps` straight, and `split` + resume + the rest; assert both final checkpoints are identical."""
    tmp = Path(tmp_path)
    common = dict(data=data, overrides=overrides, registry=registry)
    extra = {"checkpoint_every": 10**9, **(train_overrides or {})}
    smoke_train(name, tmp / "straight", steps=steps, train_overrides=extra, **common)
    smoke_train(name, tmp / "resumed", steps=split, train_overrides=extra, **common)
    smoke_train(name, tmp / "resumed", steps=steps, train_overrides=extra, **common)
    report = compare_checkpoints(tmp / "straight/checkpoints/last.safetensors", tmp / "resumed/checkpoints/last.safetensors")
    if not report.exact:
        raise AssertionError(
            f"{name}: resuming at step {split} of {steps} changed {len(report.differing)} of {report.compared} "
            f"values, e.g. {report.differing[:5]}"
        )
    return report


def run_cli(*args: str, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
            timeout: float = 600, check: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `python -m ganzoo ARGS...` as a user would, capturing text output."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    result = subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True,
                            env=full_env, cwd=cwd, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"ganzoo {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
    return result


def install_entry_point(
    site: str | Path,
    dist: str,
    module: str,
    *,
    version: str = "1.0.0",
    group: str = "ganzoo",
    name: str | None = None,
    files: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Make a plugin distribution visible to a subprocess without installing it.

    Writes `<site>/<dist>-<version>.dist-info` declaring an entry point `name = module` in `group`,
    plus any `files` (relative path -> source text, e.g. the plugin module), and returns an
    environment whose PYTHONPATH puts `site` first.
    """
    root = Path(site)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name or dist} = {module}\n", encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    existing = os.environ.get("PYTHONPATH", "")
    return {"PYTHONPATH": str(root) + (os.pathsep + existing if existing else "")}
