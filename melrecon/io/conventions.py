"""Mels as toolkits store them: layouts, mean/variance statistics, the wrong-convention warning.

A toolkit's mel file is the config's compressed Mel spectrogram, possibly

* stored frames-first, ``(T, n_mels)`` (ESPnet), with a leading batch axis of 1;
* normalised per band with global mean/variance statistics (ESPnet ``feats_stats.npz`` with
  ``count``, ``sum``, ``sum_square``; Coqui / ParallelWaveGAN mean and std or scale arrays);
* range-normalised in dB (Coqui: config fields ``signal_norm``, ``db_ref``, ...; handled by
  :func:`melrecon.compress` / :func:`melrecon.decompress`).

:func:`prepare` turns such an array into the ``(n_mels, T)`` mel that :func:`melrecon.reconstruct`
takes; :func:`toolkit_mel` makes the stored form from audio; :func:`invert` does both ends.

>>> import numpy as np
>>> from melrecon import MelConfig
>>> from melrecon.io.conventions import prepare
>>> cfg = MelConfig.preset("espnet")
>>> prepare(np.full((1, 40, 80), -3.0, np.float32), cfg).shape  # (1, T, 80) -> (80, T)
(80, 40)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..core.config import MelConfig, ParameterError, check_layout, get_config
from ..core.convention_check import (
    bands_hint,
    convention_message,
    floor_presets,  # noqa: F401 - public here too
)
from ..core.transforms import mel_spectrogram
from ..core.validation import check_mel, warn_user
from ..reconstruct import reconstruct
from . import existing_file, require_extra

__all__ = ["Stats", "load_stats", "prepare", "to_mels_first", "toolkit_mel", "invert", "check_convention"]


class Stats(NamedTuple):
    """Per-band statistics of a mean/variance-normalised mel: ``stored = (mel - mean) / std``."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_sums(cls, count, total, sum_square, eps: float = 1e-20) -> "Stats":
        """ESPnet's ``GlobalMVN``: ``mean = sum / count``, ``std = sqrt(max(sum_square / count - mean², eps))``."""
        count = float(np.asarray(count).reshape(-1)[0])
        if not count > 0:
            raise ParameterError(f"stats count={count} must be > 0.")
        mean = np.asarray(total, np.float64) / count
        var = np.asarray(sum_square, np.float64) / count - mean * mean
        return cls(mean, np.sqrt(np.maximum(var, eps)))

    def check(self, n_mels: int) -> "Stats":
        mean, std = (np.asarray(a, np.float64).reshape(-1) for a in self)
        if mean.shape != (n_mels,) or std.shape != (n_mels,):
            raise ParameterError(
                f"stats have {mean.size} means and {std.size} stds but the config has n_mels={n_mels}; use the "
                f"statistics of the features the mel was made with."
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std <= 0).any():
            raise ParameterError("stats must be finite with std > 0.")
        return Stats(mean, std)


_MEAN_KEYS = ("mean", "mel_mean")
_STD_KEYS = ("std", "mel_std", "scale")


def _stats_from_mapping(data, where: str) -> Stats:
    names = set(data.keys())
    if {"count", "sum", "sum_square"} <= names:
        return Stats.from_sums(data["count"], data["sum"], data["sum_square"])
    mean = next((k for k in _MEAN_KEYS if k in names), None)
    std = next((k for k in _STD_KEYS if k in names), None)
    if mean is None or std is None:
        raise ParameterError(
            f"stats file {where} holds {sorted(names)}; expected count/sum/sum_square (ESPnet feats_stats.npz) "
            f"or a mean ({'/'.join(_MEAN_KEYS)}) and a std ({'/'.join(_STD_KEYS)}) array."
        )
    return Stats(np.asarray(data[mean], np.float64), np.asarray(data[std], np.float64))


def load_stats(path) -> Stats:
    """Read mean/variance statistics: ``.npz`` (ESPnet count/sum/sum_square, or mean/std), ``.h5``
    (ParallelWaveGAN ``mean``/``scale``) or ``.npy`` holding a ``(2, n_mels)`` array (mean, std)."""
    p = existing_file(path, "stats file", "mean/variance statistics (.npz, .npy or .h5)")
    suffix = p.suffix.lower()
    if suffix in (".h5", ".hdf5"):
        h5py = require_extra("h5py", "read .h5 statistics")
        with h5py.File(str(p), "r") as fh:
            return _stats_from_mapping({k: np.asarray(fh[k]) for k in fh.keys()}, repr(str(p)))
    if suffix not in (".npz", ".npy"):
        raise ParameterError(f"stats file {str(p)!r}: expected .npz, .npy or .h5.")
    try:
        data = np.load(str(p), allow_pickle=False)
    except ValueError:
        raise ParameterError(
            f"stats file {str(p)!r} holds a pickled object (Coqui's scale_stats.npy); melrecon does not unpickle "
            f"files. Convert it once: d = np.load(path, allow_pickle=True).item(); "
            f"np.savez('stats.npz', mean=d['mel_mean'], std=d['mel_std'])."
        ) from None
    if isinstance(data, np.ndarray):
        if data.ndim != 2 or data.shape[0] != 2:
            raise ParameterError(
                f"stats file {str(p)!r} has shape {data.shape}; a .npy must be (2, n_mels): mean, std.")
        return Stats(data[0].astype(np.float64), data[1].astype(np.float64))
    with data:
        return _stats_from_mapping(data, repr(str(p)))


def to_mels_first(mel, config: MelConfig, *, layout: str | None = None, name: str = "mel") -> np.ndarray:
    """``mel`` in ``layout`` (default: the config's) as ``(..., n_mels, T)``.

    A leading batch axis of 1 is dropped; other leading axes are a batch of mels and are kept.
    """
    cfg = get_config(config)
    layout = check_layout(cfg.layout if layout is None else layout)
    arr = np.asarray(mel)
    shape = tuple(arr.shape)
    while arr.ndim > 2 and arr.shape[0] == 1:
        arr = arr[0]
    n = cfg.n_mels
    first, last = arr.ndim >= 2 and arr.shape[-2] == n, arr.ndim >= 2 and arr.shape[-1] == n
    if layout == "mels-first" and first or layout == "frames-first" and last:
        return arr if layout == "mels-first" else np.swapaxes(arr, -1, -2)
    other = "frames-first" if layout == "mels-first" else "mels-first"
    fits_other = last if layout == "mels-first" else first
    n_bands = (arr.shape[-2] if layout == "mels-first" else arr.shape[-1]) if arr.ndim >= 2 else 0
    axis = "second-to-last" if layout == "mels-first" else "last"
    bands = f" ({n_bands} bands on its {axis} axis)" if n_bands else ""
    hint = (f" It fits {other}: pass layout={other!r}." if fits_other else
            f" Check n_mels (the preset) and the array.{bands_hint(n_bands)}")
    raise ParameterError(
        f"{name} has shape {shape}{bands}; config {cfg.name!r} has n_mels={n}, so a mel is (n_mels, T) = ({n}, T) "
        f"(layout 'mels-first') or (T, n_mels) = (T, {n}) (layout 'frames-first'), optionally with leading "
        f"batch axes; the config's layout is {layout!r}.{hint}"
    )


def prepare(mel, config: MelConfig | str, *, layout: str | None = None, stats: Stats | str | Path | None = None,
            name: str = "mel") -> np.ndarray:
    """A stored toolkit mel as the ``(n_mels, T)`` float32 mel in the config's compression.

    The layout is undone (and a batch axis of 1 dropped), then the mean/variance ``stats`` (a
    :class:`Stats` or a file for :func:`load_stats`), then the values are checked
    (:func:`melrecon.core.validation.check_mel`, which warns when they contradict the config's convention).
    """
    cfg = get_config(config)
    arr = to_mels_first(mel, cfg, layout=layout, name=name).astype(np.float32)
    if stats is not None:
        st = (load_stats(stats) if isinstance(stats, (str, Path)) else Stats(*stats)).check(cfg.n_mels)
        arr = (arr * st.std[:, None] + st.mean[:, None]).astype(np.float32)
    return check_mel(arr, cfg, name=name)


def toolkit_mel(audio, config: MelConfig | str, *, stats: Stats | None = None) -> np.ndarray:
    """The mel a toolkit of this convention stores for ``audio``: compressed (and range-normalised),
    mean/variance-normalised with ``stats``, in the config's layout."""
    cfg = get_config(config)
    mel = np.asarray(mel_spectrogram(audio, cfg), np.float32)
    if stats is not None:
        st = Stats(*stats).check(cfg.n_mels)
        mel = ((mel - st.mean[:, None]) / st.std[:, None]).astype(np.float32)
    return np.swapaxes(mel, -1, -2) if cfg.layout == "frames-first" else mel


def invert(mel, config: MelConfig | str, *, layout: str | None = None, stats=None, **options: Any):
    """:func:`prepare` then :func:`melrecon.reconstruct` (``options`` go to it)."""
    cfg = get_config(config)
    return reconstruct(prepare(mel, cfg, layout=layout, stats=stats), cfg, **options)


def check_convention(mel, config: MelConfig | str, *, name: str = "mel") -> str | None:
    """Warn (and return the message) when the values of ``mel`` (``(..., n_mels, T)``, as stored)
    contradict the config's compression or normalisation, naming the presets they look like
    (the evidence: :func:`melrecon.core.convention_check.convention_message`)."""
    message = convention_message(mel, config, name=name)
    if message is not None:
        warn_user(message)
    return message
