"""Checks at the package boundary: user arrays are validated eagerly, before anything is traced.

Every failure raises :class:`melrecon.ParameterError` naming the parameter, the bad value and the fix.
"""

from __future__ import annotations

import warnings

import numpy as np

from .config import MelConfig, ParameterError

__all__ = ["check_mel", "check_audio", "check_iterations"]


def check_iterations(name: str, value, *, minimum: int = 0) -> int:
    """An iteration count: a Python/NumPy integer >= ``minimum``."""
    if isinstance(value, (bool, float)) or not hasattr(value, "__index__"):
        raise ParameterError(f"{name}={value!r} must be an integer number of iterations.")
    value = int(value)
    if value < minimum:
        raise ParameterError(f"{name}={value} must be >= {minimum}.")
    return value


def check_mel(mel, config: MelConfig, *, name: str = "mel") -> np.ndarray:
    """Validate a Mel spectrogram given in the config's compression; return it as float32 NumPy.

    Checks dtype, rank, the number of bands against ``config.n_mels``, finiteness, and values that
    cannot come from the configured compression (negative linear values, decibels where a natural log
    is configured).
    """
    try:
        arr = np.asarray(mel)
    except Exception as exc:  # e.g. ragged lists
        raise ParameterError(f"{name} could not be read as an array ({exc}); pass a (n_mels, frames) array.") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ParameterError(
            f"{name} has dtype {arr.dtype}; pass a real floating-point array of shape (..., n_mels, frames)."
        )
    if arr.ndim < 2:
        raise ParameterError(
            f"{name} has shape {arr.shape}; a Mel spectrogram is (..., n_mels, frames) with at least 2 axes."
        )
    n_bands, n_frames = arr.shape[-2], arr.shape[-1]
    if n_bands != config.n_mels:
        hint = ""
        if n_frames == config.n_mels:
            hint = " It looks transposed: pass mel.T (bands on axis -2, frames on axis -1)."
        raise ParameterError(
            f"{name} has {n_bands} bands on axis -2 but config {config.name!r} has n_mels={config.n_mels}."
            f"{hint} Use the config the mel was made with (e.g. MelConfig.preset(...).replace(n_mels={n_bands}))."
        )
    if n_frames < 1 or arr.size == 0:
        raise ParameterError(f"{name} has shape {arr.shape}: no frames to reconstruct; give at least 1 frame.")
    arr = arr.astype(np.float32, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = arr[~finite]
        kinds = sorted({"NaN" if np.isnan(v) else ("+inf" if v > 0 else "-inf") for v in bad[:1000]})
        raise ParameterError(
            f"{name} contains {bad.size} non-finite value(s) ({', '.join(kinds)}); clean it first "
            f"(e.g. np.nan_to_num with the compression's floor) — a log of 0 gives -inf: clamp before the log."
        )
    comp = config.compression
    lo, hi = float(arr.min()), float(arr.max())
    if comp == "none" and lo < 0:
        raise ParameterError(
            f"{name} has negative values (min {lo:.3g}) but config {config.name!r} has compression='none' "
            f"(linear Mel). If the mel is log- or dB-compressed, set compression='log', 'log10' or 'db'."
        )
    if comp == "log" and lo < np.log(config.floor) - 25:
        raise ParameterError(
            f"{name} goes down to {lo:.3g}, far below log(floor) = {np.log(config.floor):.3g}: it looks like "
            f"decibels, not a natural log. Use compression='db' (or convert: mel_db / (20 / ln 10))."
        )
    if comp in ("log", "log10") and hi > 30:
        raise ParameterError(
            f"{name} reaches {hi:.3g}, too large for compression={comp!r}; it looks linear or in decibels. "
            f"Set compression='none' or 'db' to match how the mel was made."
        )
    if comp == "none" and hi > 1e7:
        warnings.warn(f"{name} reaches {hi:.3g}: unusually large for a linear Mel of audio in [-1, 1].",
                      UserWarning, stacklevel=3)
    return arr


def check_audio(audio, *, name: str = "audio") -> np.ndarray:
    """Validate a signal; return float32 NumPy in [-1, 1] (integer PCM is scaled, with a warning)."""
    try:
        arr = np.asarray(audio)
    except Exception as exc:
        raise ParameterError(f"{name} could not be read as an array ({exc}).") from None
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        warnings.warn(f"{name} is integer PCM ({arr.dtype}); scaling it to [-1, 1] by 1/{-info.min}.",
                      UserWarning, stacklevel=3)
        arr = arr.astype(np.float64) / float(-info.min)
    elif not np.issubdtype(arr.dtype, np.floating):
        raise ParameterError(f"{name} has dtype {arr.dtype}; pass real float samples in [-1, 1].")
    if arr.size == 0:
        raise ParameterError(f"{name} is empty; pass at least one frame's worth of samples.")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{name} contains NaN or inf samples; clean the signal first (np.nan_to_num).")
    return arr.astype(np.float32, copy=False)
