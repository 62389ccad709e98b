"""Read NVIDIA's StyleGAN2-ADA network pickles as data, without running any code they carry.

Those files are Python pickles whose networks are "persistent" objects: each one is stored as a call of
`torch_utils.persistence._reconstruct_persistent_obj(meta)`, where `meta` holds the class name, the full
source code of the module that defines it, and the object's state (`__dict__`: parameters, buffers,
sub-modules, constructor arguments). A normal `pickle.load` imports that source and executes it. Here
the unpickler resolves only an allow-list of names, each to a harmless stand-in:

- the persistence record -> a `PersistentRecord` keeping class name and state (the source is never run);
- tensors, parameters and storages -> torch's own rebuild functions, the storage bytes (a nested
  `torch.save` payload) read with `torch.load(weights_only=True)`;
- `collections.OrderedDict`, `dnnlib.EasyDict` -> plain dictionaries; NumPy scalars -> Python numbers.

Any other global (an unknown class, `os.system`, `builtins.eval`, ...) and any persistent id stop the
read with one `CheckpointError` line before anything is called.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ganzoo.errors import CheckpointError

PERSISTENCE = ("torch_utils.persistence", "_reconstruct_persistent_obj")


@dataclass
class PersistentRecord:
    """One persistent object of the file, as data: its class name, its source (never run) and its state."""

    class_name: str
    state: dict[str, Any]
    module_src: str = field(default="", repr=False)

    @property
    def init_kwargs(self) -> dict[str, Any]:
        """The keyword arguments the object was constructed with."""
        return dict(self.state.get("_init_kwargs") or {})

    @property
    def init_args(self) -> tuple[Any, ...]:
        return tuple(self.state.get("_init_args") or ())

    def state_dict(self, prefix: str = "") -> dict[str, Any]:
        """Parameters and persistent buffers of this module and its sub-modules, keyed like torch's state_dict."""
        out: dict[str, Any] = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for name, value in (self.state.get("_parameters") or {}).items():
            if value is not None:
                out[prefix + name] = value
        for name, value in (self.state.get("_buffers") or {}).items():
            if value is not None and name not in skip:
                out[prefix + name] = value
        for name, child in (self.state.get("_modules") or {}).items():
            if isinstance(child, PersistentRecord):
                out.update(child.state_dict(f"{prefix}{name}."))
            elif child is not None:
                raise CheckpointError(f"sub-module {prefix}{name} is a {type(child).__name__}, not a network record")
        return out


class _PlainDict(dict):
    """Stands in for dnnlib.EasyDict: a dictionary, nothing else."""


def _persistent_record(meta: Any) -> PersistentRecord:
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise CheckpointError("a persistence record of the pickle is not a class record with a state dictionary")
    return PersistentRecord(str(meta.get("class_name", "")), dict(meta["state"]), str(meta.get("module_src", "")))


def _load_storage(data: bytes) -> Any:
    import torch

    if not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("a tensor storage of the pickle is not a byte string")
    try:
        return torch.load(io.BytesIO(bytes(data)), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, ... for bad payloads
        raise CheckpointError(f"a tensor storage of the pickle is not plain tensor data ({_short(exc)})") from None


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any, requires_grad: bool = False,
                    backward_hooks: Any = None, metadata: Any = None) -> Any:
    import torch

    if backward_hooks:
        raise CheckpointError("a tensor of the pickle carries backward hooks (code); refused")
    if not isinstance(storage, torch.storage.TypedStorage):
        raise CheckpointError("a tensor of the pickle is not built on a tensor storage")
    t = torch.empty((0,), dtype=storage.dtype)
    return t.set_(storage._untyped_storage, int(offset), tuple(size), tuple(stride))


def _rebuild_parameter(data: Any, requires_grad: bool = False, backward_hooks: Any = None, *rest: Any) -> Any:
    import torch

    if backward_hooks:
        raise CheckpointError("a parameter of the pickle carries backward hooks (code); refused")
    if not isinstance(data, torch.Tensor):
        raise CheckpointError("a parameter of the pickle does not hold a tensor")
    return torch.nn.Parameter(data, requires_grad=False)


class _DType:
    """Stands in for numpy.dtype while reading: remembers the type code."""

    def __init__(self, code: Any, *_: Any) -> None:
        self.code = str(code)

    def __setstate__(self, state: Any) -> None:
        self.byteorder = state[1] if isinstance(state, tuple) and len(state) > 1 else "|"


def _numpy_scalar(dtype: Any, data: Any = None) -> Any:
    import numpy as np

    if not isinstance(dtype, _DType) or not isinstance(data, (bytes, bytearray)):
        raise CheckpointError("a NumPy scalar of the pickle is malformed")
    code = dtype.code
    if code not in ("f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"):
        raise CheckpointError(f"a NumPy scalar of the pickle has type {code!r}; only numbers are read")
    order = getattr(dtype, "byteorder", "<")
    return np.frombuffer(bytes(data), dtype=np.dtype(code).newbyteorder(order if order in "<>" else "=")).item()


ALLOWED: dict[tuple[str, str], Any] = {
    PERSISTENCE: _persistent_record,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("dnnlib.util", "EasyDict"): _PlainDict,
    ("dnnlib", "EasyDict"): _PlainDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): _DType,
}
"""Every global a StyleGAN2-ADA pickle may name, and what it is read as."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `ALLOWED` names and refuses persistent ids."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused a persistent id")


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


def read_network_pickle(source: str | Path | BinaryIO) -> Any:
    """The top-level object of a StyleGAN2-ADA pickle (a dict of `PersistentRecord`s), read without running code."""
    name = str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "the pickle")
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as f:
                return RestrictedUnpickler(f).load()
        return RestrictedUnpickler(source).load()
    except CheckpointError as exc:
        raise CheckpointError(f"{name}: {exc.message}; nothing in it was run") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            RuntimeError) as exc:
        raise CheckpointError(f"{name} is not a StyleGAN2-ADA network pickle ganzoo can read safely "
                              f"({_short(exc)}); nothing in it was run") from None
