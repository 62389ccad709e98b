"""Tools for testing ganzoo plugins (public API; every first-party plugin's tests use them).

    from ganzoo.testing import isolated_registry, check_model_spec, smoke_train, check_resume

- `isolated_registry(*plugins)`: a registry holding only the core and the given plugin objects.
- `check_model_spec(name)`: the conformance check every model must pass.
- `check_plugin(module)`: every hook of a plugin module registers clean, importable records.
- `smoke_train(name, out, steps=...)`: train a few steps through the real engine.
- `check_resume(name, tmp_path, steps=N, split=k)`: N straight steps equal k + resume + N-k, bit for bit.
- `compare_checkpoints(a, b)`: every tensor and state value of two checkpoints, compared exactly.
- `install_entry_point(site, dist, module)`: make a plugin visible to a `ganzoo` subprocess.
- `run_cli(*args)`: run `python -m ganzoo` as a user would.

pytest fixtures live in `ganzoo.testing.fixtures` (`pytest_plugins = ["ganzoo.testing.fixtures"]`):
`ganzoo_home`, `toy_registry`, `toy_env`. `ganzoo.testing.toy_plugin` is the smallest complete
plugin. The contract these check is docs/writing-plugins.md.

Importing this package does not import torch; the helpers import it when called.
"""

from ganzoo.testing.kit import (
    ResumeReport,
    check_model_spec,
    check_resume,
    compare_checkpoints,
    install_entry_point,
    isolated_registry,
    run_cli,
    smoke_train,
)
from ganzoo.testing.plugin_check import PluginReport, check_plugin

__all__ = [
    "PluginReport",
    "ResumeReport",
    "check_model_spec",
    "check_plugin",
    "check_resume",
    "compare_checkpoints",
    "install_entry_point",
    "isolated_registry",
    "run_cli",
    "smoke_train",
]
