"""Where the planned groups of a folder run: one module per engine, registered here by name.

An engine module has ``OPTIONS`` (its own keyword arguments of :func:`melrecon.apps.batch.invert_folder`,
e.g. ``ray_address``), ``batch_multiple()`` (what batch sizes are rounded to: the local device count, or
1) and ``run(job, plan, paths, summary, bar, **options)``, which runs every group through
:func:`melrecon.apps.batch.groups.invert_group` and folds the records into ``summary``. Adding an engine is
one module here plus its line in :data:`ENGINES`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ....core.config import ParameterError

__all__ = ["ENGINES", "engine_module", "engine_options"]

#: Engine name -> its module (imported when used: Ray loads only for ``engine="ray"``).
ENGINES = {
    "local": "melrecon.apps.batch.engines.local",
    "ray": "melrecon.apps.batch.engines.ray",
}


def engine_module(name: str) -> ModuleType:
    """The module of engine ``name``."""
    if name not in ENGINES:
        raise ParameterError(f"engine={name!r}: choose one of {tuple(ENGINES)}.")
    return importlib.import_module(ENGINES[name])


def engine_options(name: str, given: dict) -> dict:
    """The given (not None) engine options, checked against what engine ``name`` takes."""
    module = engine_module(name)
    given = {k: v for k, v in given.items() if v is not None}
    foreign = sorted(set(given) - set(module.OPTIONS))
    if foreign:
        owners = [n for n in ENGINES if n != name and set(foreign) <= set(engine_module(n).OPTIONS)]
        hint = f"; pass engine={owners[0]!r}" if owners else ""
        raise ParameterError(f"{', '.join(foreign)} apply to engine={owners[0] if owners else 'another'!r} only"
                             f"{hint}.")
    return given
