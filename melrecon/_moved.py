"""Import paths of modules that moved into the layer folders keep working (``melrecon.transforms`` is
:mod:`melrecon.core.transforms`, and so on): a finder hands out the module at its new place."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: Former module path -> where it lives now.
MOVED = {
    "melrecon._cache": "melrecon.core.cache",
    "melrecon.config": "melrecon.core.config",
    "melrecon.convention_check": "melrecon.core.convention_check",
    "melrecon.filters": "melrecon.core.filters",
    "melrecon.losses": "melrecon.core.losses",
    "melrecon.pghi": "melrecon.core.pghi",
    "melrecon.transforms": "melrecon.core.transforms",
    "melrecon.validation": "melrecon.core.validation",
    "melrecon.conventions": "melrecon.io.conventions",
    "melrecon.batching": "melrecon.methods.batching",
    "melrecon.diagnostics": "melrecon.methods.diagnostics",
    "melrecon.stage_options": "melrecon.methods.options",
    "melrecon.pieces": "melrecon.methods.planner",
    "melrecon.result": "melrecon.methods.result",
    "melrecon.runner": "melrecon.methods.runner",
    "melrecon.segments": "melrecon.methods.segments",
    "melrecon.batch": "melrecon.apps.batch",
    "melrecon.batch_ray": "melrecon.apps.batch.engines.ray",
    "melrecon.jobs": "melrecon.apps.batch.jobs",
    "melrecon.cli": "melrecon.apps.cli",
    "melrecon.cliconfig": "melrecon.apps.cliconfig",
    "melrecon.compat": "melrecon.apps.compat",
    "melrecon.degrade": "melrecon.apps.degrade",
    "melrecon.examples": "melrecon.apps.examples",
    "melrecon.metrics": "melrecon.apps.metrics",
    "melrecon.plotting": "melrecon.apps.plotting",
    "melrecon.widgets": "melrecon.apps.widgets",
    "melrecon.workbench": "melrecon.apps.workbench",
}


def new_place(name: str) -> str | None:
    """Where the module formerly imported as ``name`` lives now (its sub-modules included), or None."""
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("melrecon.") or new_place(fullname) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(new_place(spec.name))
        spec.loader_state = module.__spec__  # importlib writes the alias's spec over the module's own
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())  # before the path finder, which would load a second copy
