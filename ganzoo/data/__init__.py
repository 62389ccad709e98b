"""Data: resolve `--data` references to data sources (built-in, folders, named downloads, plugins).

`resolve_data(ref, options)` is the one function every command uses. A reference is one of

    NAME                 a registered data set (built-in, named download or plugin-provided)
    plugin:NAME          the data set NAME of one plugin exactly
    NAME:ARGUMENT        a registered scheme, e.g. folder:PATH or unpaired:PATH
    PATH                 an existing folder (images, class sub-folders, or trainA/trainB/...)
    a=PATH,b=PATH        two folders of unpaired images (optionally test_a=PATH,test_b=PATH)

Importing this package is light: the loaders (and torch) are imported when a reference is resolved.
"""

from __future__ import annotations

import re
from pathlib import Path

from ganzoo.data.source import DataOptions, DataRef, DataSource, KeyedDataset
from ganzoo.errors import DataError, GanzooError, UnknownNameError
from ganzoo.specs import DATASET_NAME_RE, DatasetSpec

__all__ = ["DataOptions", "DataRef", "DataSource", "KeyedDataset", "parse_ref", "resolve_data", "spec_for"]

_SCHEME_RE = re.compile(r"^([a-z][a-z0-9_\-]*):(.*)$", re.DOTALL)
_PAIRS_RE = re.compile(r"^\s*[a-z_]+\s*=")


def parse_ref(text: str) -> DataRef:
    """Split a `--data` reference into name and argument (syntax only; nothing is looked up)."""
    text = (text or "").strip()
    if not text:
        raise DataError("the data reference is empty; give a data set name or a folder (see 'ganzoo data list')")
    if _PAIRS_RE.match(text):
        return DataRef(text, "unpaired", text)
    match = _SCHEME_RE.match(text)
    if match and not (len(match.group(1)) == 1 and match.group(2)[:1] in ("\\", "/")):  # not C:\ or C:/
        return DataRef(text, match.group(1), match.group(2).strip())
    if DATASET_NAME_RE.match(text):
        return DataRef(text, text, None)
    return DataRef(text, "folder", text)


def _looks_like_path(text: str) -> bool:
    return any(sep in text for sep in ("/", "\\")) or text.startswith((".", "~")) or Path(text).expanduser().exists()


def spec_for(ref: DataRef, registry=None) -> tuple[DatasetSpec, DataRef]:
    """The data set record that handles `ref` (and the reference as that record's loader sees it)."""
    if registry is None:
        from ganzoo.registry import get_registry

        registry = get_registry()
    table = registry.datasets
    if ref.argument is None:
        if ref.name in table.claims:
            spec = registry.dataset(ref.name)
            if spec.scheme:
                raise DataError(f"'{ref.name}' needs an argument: {ref.name}:PATH (see 'ganzoo data list')")
            return spec, ref
        if Path(ref.text).expanduser().exists():
            return registry.dataset("folder"), DataRef(ref.text, "folder", ref.text)
        from ganzoo.registry import suggest

        raise UnknownNameError(
            f"unknown data set {ref.name!r} and no folder of that name exists."
            + suggest(ref.name, [n for n in table.claims if not _is_scheme(table, n)])
            + " See 'ganzoo data list'."
        )
    if ref.name in table.claims:
        spec = registry.dataset(ref.name)
        if spec.scheme:
            return spec, ref
        if not ref.argument:
            return spec, DataRef(ref.text, ref.name, None)
        raise DataError(f"data set '{ref.name}' takes no argument (got '{ref.text}')")
    if ref.name in registry.plugins.records:  # plugin:NAME picks one provider exactly
        spec = registry.dataset(f"{ref.name}:{ref.argument}")
        return spec, DataRef(ref.text, spec.name, None)
    if Path(ref.text).expanduser().exists():
        return registry.dataset("folder"), DataRef(ref.text, "folder", ref.text)
    from ganzoo.registry import suggest

    schemes = [n for n in table.claims if _is_scheme(table, n)]
    raise UnknownNameError(
        f"unknown data scheme {ref.name!r} in '{ref.text}'." + suggest(ref.name, schemes)
        + f" Schemes: {', '.join(sorted(schemes))}; see 'ganzoo data list'."
    )


def _is_scheme(table, name: str) -> bool:
    return any(getattr(r, "scheme", False) for r in table.claims.get(name, ()))


def resolve_data(ref: str, options: DataOptions | None = None) -> DataSource:
    """Resolve a `--data` reference (see the module docstring) to a `DataSource`.

    Named downloads are fetched (and verified) on first use; folders are scanned and checked; every
    problem is a one-line `DataError`/`DownloadError`.
    """
    from ganzoo._lazy import import_string

    options = options if options is not None else DataOptions()
    parsed = parse_ref(ref)
    spec, parsed = spec_for(parsed)
    try:
        loader = import_string(spec.loader)
    except GanzooError:
        raise
    except Exception as exc:
        raise DataError(f"data set {spec.name!r} ({spec.plugin or 'unknown plugin'}): cannot import its loader "
                        f"{spec.loader} ({type(exc).__name__}: {exc})") from exc
    source = loader(parsed, options)
    if not isinstance(source, DataSource):
        raise DataError(f"data set {spec.name!r}: its loader {spec.loader} returned "
                        f"{type(source).__name__}, not a DataSource")
    source.ref = parsed.text
    return source
