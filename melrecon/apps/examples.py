"""Example data through an API: the bundled sample, the development set, the results folder.

The bundled sample ships inside the package (``melrecon/data``, read through :mod:`importlib.resources`),
so it is there in an installed wheel as in a source checkout. The development set (``samples/devset``,
rendered by ``python samples/make_samples.py``) and the results folder belong to a checkout of the
project: they are found from the current directory upwards (``$MELRECON_ROOT`` overrides).

>>> example("speech").name
'speech.wav'
"""

from __future__ import annotations

import os
import warnings
from importlib import resources
from pathlib import Path

from ..core.config import ParameterError

__all__ = ["EXAMPLES", "example", "project_root", "devset", "seed_recording", "clips", "results_dir", "fast_mode",
           "notebook_setup", "short_warning"]

#: Bundled examples: name -> file in ``melrecon/data``.
EXAMPLES = {"speech": "speech.wav"}


def example(name: str = "speech") -> Path:
    """The path of a bundled example (``"speech"``: ~3.2 s of synthetic speech, 22.05 kHz)."""
    if name not in EXAMPLES:
        raise ParameterError(f"example {name!r} is unknown; choose one of {sorted(EXAMPLES)}.")
    with resources.as_file(resources.files("melrecon") / "data" / EXAMPLES[name]) as path:
        return Path(path)


def project_root(start: Path | None = None) -> Path | None:
    """The checkout of the project (a folder with ``pyproject.toml`` and ``samples/``) that holds the current
    directory (or ``start``), or ``$MELRECON_ROOT``; None outside one (e.g. an installed package)."""
    env = os.environ.get("MELRECON_ROOT")
    if env:
        return Path(env)
    here = Path.cwd() if start is None else Path(start)
    for folder in (here, *here.resolve().parents):
        if (folder / "pyproject.toml").is_file() and (folder / "samples").is_dir():
            return folder
    return None


def devset() -> list[Path]:
    """The development clips (``samples/devset/*.wav`` of the checkout), sorted; empty when not rendered."""
    root = project_root()
    folder = None if root is None else root / "samples" / "devset"
    return sorted(folder.glob("*.wav")) if folder is not None and folder.is_dir() else []


def seed_recording() -> Path | None:
    """The seed experiment's CMU ARCTIC recording in ``shared/audio`` beside the checkout, if present."""
    root = project_root()
    path = None if root is None else root.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"
    return path if path is not None and path.exists() else None


def clips() -> dict[str, Path]:
    """Clips to offer by name: the bundled sample, the seed recording and the development set when present."""
    out = {"speech.wav (bundled)": example("speech")}
    seed = seed_recording()
    if seed is not None:
        out["seed_arctic_raw_16k.wav (seed)"] = seed
    for p in devset():
        out[f"devset/{p.name}"] = p
    return out


def results_dir(name: str = "") -> Path:
    """``results/<name>`` of the checkout (of the current directory outside one), or of ``$MELRECON_RESULTS``;
    created if needed."""
    base = os.environ.get("MELRECON_RESULTS")
    root = project_root() or Path.cwd()
    path = Path(base) if base else root / "results"
    path = path / name if name else path
    path.mkdir(parents=True, exist_ok=True)
    return path


def fast_mode() -> bool:
    """True when ``MELRECON_FAST`` is set (to anything but 0/false/no): notebooks lower their iteration
    counts so that CI can run them top to bottom quickly."""
    return os.environ.get("MELRECON_FAST", "").strip().lower() not in ("", "0", "false", "no")


def short_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as a reader of a notebook should see it: ``UserWarning: message``, without the file and line
    inside melrecon (or a library) that raised it, nor that line's source (a :data:`warnings.formatwarning`)."""
    return f"{category.__name__}: {message}\n"


def notebook_setup() -> bool:
    """The notebooks' shared first step, in each parameters cell: ``FAST = notebook_setup()``.

    Warnings print as ``UserWarning: message`` (:func:`short_warning`, for the rest of the kernel's life), and
    the result is :func:`fast_mode`: the one switch by which a notebook's sizes and counts are lowered for CI."""
    warnings.formatwarning = short_warning
    return fast_mode()
