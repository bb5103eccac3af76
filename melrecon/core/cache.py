"""Compile once per machine: JAX's persistent compilation cache in a per-user folder.

Every process that inverts a mel compiles the same loops (the STFT, the NNLS estimate, each method's
chunk) for the same shapes; with the cache a second process loads them from disk instead.
:func:`enable` is called by :func:`melrecon.reconstruct` and by the ``melrecon`` command before their
first compilation; it is cheap and idempotent.

Where the cache lives:

* ``MELRECON_CACHE_DIR`` (environment variable): a folder, or ``""`` / ``off`` / ``0`` / ``none`` to
  disable it; the ``melrecon`` command's ``--cache-dir`` option does the same;
* otherwise ``$XDG_CACHE_HOME/melrecon/jax`` (``~/.cache/melrecon/jax`` when ``XDG_CACHE_HOME`` is
  not set).

A cache directory set through JAX itself (``jax.config.update("jax_compilation_cache_dir", ...)`` or
``JAX_COMPILATION_CACHE_DIR``) is left as it is. With the cache on, every compilation is stored (JAX's
default threshold of 1 s of compile time is lowered to 0: the many small ones add up). Entries are
keyed by the program, the JAX/XLA version and the device, so a stale entry is never used; delete the
folder to reclaim space.

>>> from melrecon.core import cache
>>> cache.resolve_dir("off") is None
True
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

try:
    from jax.experimental.compilation_cache import compilation_cache
except ImportError:  # pragma: no cover - a JAX without this entry point: the next process picks the folder up
    compilation_cache = None

__all__ = ["ENV_VAR", "resolve_dir", "enable"]

ENV_VAR = "MELRECON_CACHE_DIR"
_OFF = ("", "off", "0", "none", "false", "no")
_state = {"dir": None, "done": False}


def resolve_dir(value: str | os.PathLike | None = None) -> Path | None:
    """The cache folder for ``value`` (a path, or an off word), else for ``$MELRECON_CACHE_DIR``, else
    the per-user default; ``None`` when the cache is disabled."""
    if value is None:
        value = os.environ.get(ENV_VAR)
    if value is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return Path(base) / "melrecon" / "jax"
    if str(value).strip().lower() in _OFF:
        return None
    return Path(os.path.expanduser(str(value)))


def enable(value: str | os.PathLike | None = None, *, force: bool = False) -> Path | None:
    """Turn JAX's persistent compilation cache on in :func:`resolve_dir` (``value``) and return it.

    Idempotent: after the first call, later calls do nothing unless ``force`` (the command line's
    ``--cache-dir``) or ``value`` is given. A folder that cannot be created leaves the cache off (a
    cache never stops an inversion).
    """
    if _state["done"] and not force and value is None:
        return _state["dir"]
    _state["done"] = True
    ours = _state["dir"]
    current = jax.config.values.get("jax_compilation_cache_dir")
    if current and (ours is None or str(ours) != current) and not force:
        return None  # the user configured JAX's cache: leave it alone
    path = resolve_dir(value)
    if path is not None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            path = None
    if (str(path) if path else None) != (current or None):
        _reset_jax_cache()
    jax.config.update("jax_compilation_cache_dir", str(path) if path else None)
    if path is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    _state["dir"] = path
    return path


def _reset_jax_cache() -> None:
    """Let JAX open the cache folder again (it opens it once, at the first compilation after it is set)."""
    try:
        compilation_cache.reset_cache()
    except Exception:  # pragma: no cover - older/newer JAX without this entry point: the next process picks it up
        pass
