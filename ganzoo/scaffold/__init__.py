"""Scaffold a new plugin distribution (`ganzoo plugin new NAME`), torch-free.

The templates live in `ganzoo/scaffold/template/` as `*.tmpl` files (package data, never imported
or collected by test runners); `{{key}}` markers are replaced by the values of `Names`, the folder
`package/` becomes the plugin's import package and a file `dot-NAME.tmpl` becomes `.NAME`.

    from ganzoo.scaffold import new_plugin
    created = new_plugin("sparkle", Path("ganzoo-sparkle"))
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import keyword
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ganzoo.errors import GanzooError
from ganzoo.specs import NAME_RE

TEMPLATE_SUFFIX = ".tmpl"
MARKER_RE = re.compile(r"\{\{(\w+)\}\}")
MAX_NAME_LENGTH = 40


class ScaffoldError(GanzooError):
    """A plugin name or target folder that cannot be used."""

    exit_code = 2


@dataclass(frozen=True)
class Names:
    """Every name a new plugin uses, derived from its model name."""

    name: str
    """The model name (`ganzoo train NAME`)."""
    dist: str
    """The distribution name (`pip install DIST`), `ganzoo-NAME` with dashes."""
    package: str
    """The import package, `ganzoo_NAME`."""
    cls: str
    """CamelCase prefix of class names."""
    core_requirement: str
    """The `ganzoo-core` requirement the plugin declares (this core's minor version)."""

    @classmethod
    def for_model(cls, name: str) -> Names:
        from ganzoo import __version__

        major, minor = [*__version__.split("."), "0"][:2]
        upper = f"{major}.{int(minor) + 1}" if major == "0" else f"{int(major) + 1}"
        return cls(
            name=name,
            dist="ganzoo-" + name.replace("_", "-"),
            package="ganzoo_" + name,
            cls="".join(part.capitalize() for part in name.split("_") if part),
            core_requirement=f"ganzoo-core>={major}.{minor},<{upper}",
        )

    def values(self) -> dict[str, str]:
        return {"name": self.name, "dist": self.dist, "package": self.package, "cls": self.cls,
                "core_requirement": self.core_requirement}


def template_root() -> Path:
    """The folder of template files shipped with the core."""
    return Path(str(resources.files("ganzoo.scaffold").joinpath("template")))


def template_files() -> list[Path]:
    """Every template file, relative to `template_root()`, sorted."""
    root = template_root()
    return sorted(p.relative_to(root) for p in root.rglob(f"*{TEMPLATE_SUFFIX}") if p.is_file())


def render(text: str, values: dict[str, str], where: str = "template") -> str:
    """Replace every `{{key}}` in `text`; an unknown key is a bug in the template."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"{where}: unknown marker {{{{{key}}}}}")
        return values[key]

    return MARKER_RE.sub(sub, text)


def check_name(name: str, *, taken_models: Iterable[str] = ()) -> Names:
    """Validate a new plugin's model name; raise `ScaffoldError` (one line) when it cannot be used.

    Refused: names that are not lower case letters, digits and underscores starting with a letter;
    names of installed or catalogued models (`taken_models`); names whose distribution
    `ganzoo-NAME` is installed or whose package `ganzoo_NAME` can already be imported.
    """
    if not NAME_RE.match(name or "") or name.endswith("_") or "__" in name:
        raise ScaffoldError(
            f"plugin name {name!r} must be lower case letters, digits and single underscores, "
            "starting with a letter (e.g. my_gan)"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise ScaffoldError(f"plugin name {name!r} is longer than {MAX_NAME_LENGTH} characters; choose a shorter one")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"plugin name {name!r} is a Python keyword; choose another name")
    if name in set(taken_models):
        raise ScaffoldError(f"{name!r} is already the name of a model (see 'ganzoo list --available'); choose another name")
    names = Names.for_model(name)
    try:
        dist = importlib.metadata.distribution(names.dist)
    except importlib.metadata.PackageNotFoundError:
        dist = None
    if dist is not None:
        raise ScaffoldError(f"a distribution {names.dist} {dist.version} is already installed; choose another name")
    if importlib.util.find_spec(names.package) is not None:
        raise ScaffoldError(f"a package {names.package} can already be imported here; choose another name")
    return names


def check_target(target: Path) -> None:
    """Refuse a target that is a file or a folder that is not empty."""
    if target.exists():
        if not target.is_dir():
            raise ScaffoldError(f"{target} exists and is not a folder; choose another --dir")
        if any(target.iterdir()):
            raise ScaffoldError(f"folder {target} already exists and is not empty; choose another --dir")


def new_plugin(name: str, target: Path, *, taken_models: Iterable[str] = ()) -> list[Path]:
    """Write a complete plugin distribution for model `name` into `target`; return the files written.

    `target` may be missing or an empty folder. The files are written to a temporary sibling folder
    first and renamed into place, so a failure leaves nothing half-written.
    """
    names = check_name(name, taken_models=taken_models)
    target = Path(target)
    check_target(target)
    values = names.values()
    root = template_root()
    staging = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    if staging.exists():
        import shutil

        shutil.rmtree(staging)
    written: list[Path] = []
    try:
        for rel in template_files():
            parts = [names.package if part == "package" else part for part in rel.parts]
            parts[-1] = parts[-1][: -len(TEMPLATE_SUFFIX)]
            if parts[-1].startswith("dot-"):  # dot files are stored as dot-NAME (package data skips dot files)
                parts[-1] = "." + parts[-1][4:]
            out_rel = Path(*parts)
            text = render((root / rel).read_text(encoding="utf-8"), values, where=str(rel))
            out = staging / out_rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            written.append(out_rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # an empty folder: move the files in
            for child in staging.iterdir():
                child.rename(target / child.name)
            staging.rmdir()
        else:
            staging.rename(target)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / rel for rel in written]
