"""Checks at the package boundary: user arrays are validated eagerly, before anything is traced.

Every failure raises :class:`melrecon.ParameterError` naming the parameter, the bad value and the fix.

The public transforms (:func:`melrecon.stft`, :func:`melrecon.mel_spectrogram`, ...) stay jittable: on
a traced array (inside ``jax.jit``, ``jax.grad``, ``vmap``) only the static properties (dtype, rank,
shape) are checked; the values (NaN, inf, range) are checked on concrete arrays only.

What is converted rather than refused (with a :class:`UserWarning`):

* integer PCM samples (int8/16/32/64, uint8) are scaled to [-1, 1] by ``1 / 2**(bits - 1)``
  (``uint8`` is offset-binary: ``(x - 128) / 128``);
* in :func:`melrecon.io.load_audio`, multi-channel files are mixed down to mono and a file at another
  sample rate is resampled to the requested one;
* at the librosa drop-in (:func:`clip_negative`), negative values of a linear mel or magnitude are clipped at
  0 (silently when they are rounding, below ``NEGATIVE_TOLERANCE`` of the peak).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import sys
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from .config import COMPRESSIONS, MelConfig, ParameterError, db_scale, db_values
from .convention_check import bands_hint, convention_message, floor_presets

__all__ = [
    "clip_negative",
    "check_mel",
    "check_audio",
    "check_spectrogram",
    "check_iterations",
    "check_sample_rate",
    "is_traced",
    "warn_user",
    "min_samples",
    "min_frames",
    "analysing_reconstruction",
    # the parts of check_mel, for a caller that checks frames as they arrive (the stream)
    "check_mel_shape",
    "check_mel_range",
    "mel_float32",
]

# float32 overflows past 3.4e38: a spectrogram whose sum of squares would exceed this cannot be measured.
_MAX_ENERGY = 1e36
# Audio peaks: above _LOUD a warning (not normalised to [-1, 1]?), above _TOO_LOUD a ParameterError (the
# spectrogram's energy would overflow float32 in the losses).
_LOUD = 16.0
_TOO_LOUD = 1e6
#: The likely cause named when a signal is far too loud: for input audio, integer PCM stored as floats.
_PCM_GUESS = "are these integer PCM values stored as floats? If so divide by 32768 (16-bit) or 2**31 (32-bit)."
_LOUD_GUESS: contextvars.ContextVar[str] = contextvars.ContextVar("loud_guess", default=_PCM_GUESS)


@contextlib.contextmanager
def analysing_reconstruction(label: str = "the reconstruction"):
    """Within this block, audio being checked is a reconstruction's output: a far too loud one is explained
    by a Mel read with other settings than it was made with, not by integer PCM."""
    token = _LOUD_GUESS.set(
        f"{label} is a reconstruction; one this loud means its Mel was read with other settings than it was made "
        f"with (a power Mel read as magnitude, a log10 or dB Mel read as natural log, another preset): check the "
        f"config against how the Mel was made."
    )
    try:
        yield
    finally:
        _LOUD_GUESS.reset(token)
_F32_MAX = float(np.finfo(np.float32).max)
# Channels counts that make an (n, c) array look like a soundfile (samples, channels) layout.
_MAX_CHANNELS = 8


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """A warning attributed to the first caller outside the package (the user's line)."""
    frame, level = sys._getframe(0), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


_warn = warn_user


def is_traced(x) -> bool:
    """True when ``x`` is a JAX tracer (inside ``jit``/``grad``/``vmap``): its values are unknown."""
    return isinstance(x, jax.core.Tracer)


def _is_jax_array(x) -> bool:
    return isinstance(x, jax.Array)


def check_iterations(name: str, value, *, minimum: int = 0) -> int:
    """An iteration count (or any count): a Python/NumPy integer >= ``minimum``."""
    if isinstance(value, (bool, float)) or not hasattr(value, "__index__"):
        raise ParameterError(f"{name}={value!r} must be an integer (got {type(value).__name__}).")
    value = int(value)
    if value < minimum:
        raise ParameterError(f"{name}={value} must be >= {minimum}.")
    return value


def check_sample_rate(sample_rate, config: MelConfig | None = None, *, name: str = "sample_rate") -> int | None:
    """A sample rate in Hz (positive integer); with ``config``, it must equal ``config.sample_rate``.

    The transforms do not resample: a signal at another rate would give a Mel spectrogram on the wrong
    frequency axis. :func:`melrecon.io.load_audio` resamples files (with a warning).
    """
    if sample_rate is None:
        return None
    if isinstance(sample_rate, float) and sample_rate.is_integer():
        sample_rate = int(sample_rate)
    sr = check_iterations(name, sample_rate, minimum=1)
    if config is not None and sr != config.sample_rate:
        raise ParameterError(
            f"{name}={sr} Hz differs from config {config.name!r} sample_rate={config.sample_rate} Hz; resample "
            f"the audio first (melrecon.io.load_audio(path, sample_rate={config.sample_rate}) or "
            f"soxr.resample(audio, {sr}, {config.sample_rate})), or use config.replace(sample_rate={sr})."
        )
    return sr


def min_samples(config: MelConfig) -> int:
    """The shortest signal the STFT of ``config`` accepts (one frame)."""
    return max(1, config.n_fft - 2 * config.pad)


def min_frames(config: MelConfig) -> int:
    """The fewest frames a Mel spectrogram needs under ``config`` so that it describes >= 1 sample."""
    need = min_samples(config)
    extra = need - (config.n_fft - 2 * config.pad)  # samples beyond what one frame describes
    return 1 + max(0, -(-extra // config.hop_length))


def _dtype_kind(name: str, dtype, what: str) -> None:
    if dtype == np.object_ or np.issubdtype(dtype, np.complexfloating) or dtype == np.bool_ or not (
        np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)
    ):
        raise ParameterError(f"{name} has dtype {dtype}; pass a real floating-point array {what}.")


def _as_array(x, name: str, what: str):
    """``x`` as a NumPy array, or unchanged when it is a JAX array (concrete or traced)."""
    if _is_jax_array(x):
        return x
    try:
        arr = np.asarray(x)
    except Exception as exc:  # e.g. ragged lists
        raise ParameterError(f"{name} could not be read as an array ({exc}); pass {what}.") from None
    return arr


def _nonfinite_message(name: str, arr) -> str:
    a = np.asarray(arr)
    bad = a[~np.isfinite(a)]
    kinds = sorted({"NaN" if np.isnan(v) else ("+inf" if v > 0 else "-inf") for v in bad[:1000]})
    return f"{name} contains {bad.size} non-finite value(s) ({', '.join(kinds)})"


def _all_finite(arr) -> bool:
    if _is_jax_array(arr):
        return bool(jnp.isfinite(arr).all())
    return bool(np.isfinite(arr).all())


# ------------------------------------------------------------------------------------------------ audio
def check_audio(audio, config: MelConfig | None = None, *, name: str = "audio", sample_rate=None):
    """Validate a signal ``(..., n_samples)``; return it as a float array.

    Parameters
    ----------
    audio : array_like, shape (..., n_samples)
        Float samples in [-1, 1]; leading axes are a batch (e.g. channels as ``(channels, samples)``).
        Integer PCM is scaled to [-1, 1] with a warning.
    config : MelConfig, optional
        When given, the signal must be long enough for one STFT frame.
    sample_rate : int, optional
        The signal's rate; must equal ``config.sample_rate`` (nothing is resampled here).

    Returns
    -------
    float32 NumPy array for NumPy input; a JAX array (converted to a float dtype) for JAX input.
    On a traced array only dtype and shape are checked.

    Raises
    ------
    ParameterError
        Empty, too short, not real numbers, NaN/inf samples, a ``(samples, channels)`` layout, or
        another sample rate.
    """
    what = "of samples, shape (..., n_samples)"
    if config is not None:
        check_sample_rate(sample_rate, config)
    elif sample_rate is not None:
        check_sample_rate(sample_rate)
    arr = _as_array(audio, name, what)
    dtype = np.dtype(arr.dtype)
    _dtype_kind(name, dtype, what)
    if arr.ndim == 0:
        raise ParameterError(f"{name} is a scalar; pass a 1-D array of samples (or (..., n_samples) for a batch).")
    if arr.size == 0:
        raise ParameterError(f"{name} has shape {tuple(arr.shape)}: it is empty; pass at least one frame of samples.")
    n = arr.shape[-1]
    if arr.ndim >= 2 and n <= _MAX_CHANNELS and arr.shape[-2] >= 16 * n and (config is None or n < config.n_fft):
        raise ParameterError(
            f"{name} has shape {tuple(arr.shape)}: it looks like (samples, channels) as soundfile "
            f"returns it, but the time axis must be the last one. Pass {name}.mean(axis=-1) for mono or "
            f"{name}.T to process each channel."
        )
    if config is not None:
        need = min_samples(config)
        if n < need:
            raise ParameterError(
                f"{name} has {n} samples on its last axis, too short for n_fft={config.n_fft} with "
                f"pad={config.pad}: give at least {need} samples (pad with zeros, or use a smaller n_fft)."
            )
    if np.issubdtype(dtype, np.floating) and dtype.itemsize > 4 and not is_traced(arr) and _all_finite(arr):
        big = _peak(arr)
        if big > _TOO_LOUD:  # refuse before the cast to float32 overflows
            raise ParameterError(
                f"{name} peaks at {big:.4g}: samples are expected in [-1, 1], and spectrograms of a signal this "
                f"loud overflow float32. Normalise it (e.g. {name} / np.abs({name}).max())."
            )
    if np.issubdtype(dtype, np.integer):
        arr = _int_to_float(arr, dtype, name)
    elif dtype != np.float32 and dtype.itemsize < 4:
        arr = arr.astype(np.float32)
    if is_traced(arr):
        return arr
    if not _all_finite(arr):
        raise ParameterError(
            f"{_nonfinite_message(name, arr)}; clean the signal first, e.g. np.nan_to_num({name}, nan=0.0, "
            f"posinf=1.0, neginf=-1.0)."
        )
    peak = _peak(arr)
    if peak > _TOO_LOUD:
        raise ParameterError(
            f"{name} peaks at {peak:.4g}: samples are expected in [-1, 1], and spectrograms of a signal this "
            f"loud overflow float32. Normalise it (e.g. {name} / np.abs({name}).max())."
        )
    if peak > _LOUD:
        _warn(f"{name} peaks at {peak:.4g}, far outside [-1, 1]: {_LOUD_GUESS.get()}")
    if _is_jax_array(arr):
        return arr
    return np.ascontiguousarray(arr, dtype=np.float32)


def _peak(arr) -> float:
    if _is_jax_array(arr):
        return float(jnp.max(jnp.abs(arr)))
    return float(np.max(np.abs(arr)))


def _int_to_float(arr, dtype, name):
    info = np.iinfo(dtype)
    if info.min == 0:  # unsigned: offset binary (uint8 wav)
        mid = (int(info.max) + 1) // 2
        _warn(f"{name} is unsigned integer PCM ({dtype}); converting to float in [-1, 1] as (x - {mid}) / {mid}.")
        return (arr.astype(np.float64 if not _is_jax_array(arr) else np.float32) - mid) / mid
    scale = float(-int(info.min))
    _warn(f"{name} is integer PCM ({dtype}); converting to float in [-1, 1] by dividing by {int(scale)}. "
          f"Pass float samples to silence this warning.")
    if _is_jax_array(arr):
        return arr.astype(np.float32) / np.float32(scale)
    return (arr.astype(np.float64) / scale).astype(np.float32)


# ------------------------------------------------------------------------------------------ spectrograms
def check_spectrogram(spec, config: MelConfig, *, name: str = "spec"):
    """Validate an STFT ``(..., n_fft // 2 + 1, frames)`` (complex or real); values only when concrete."""
    what = "of shape (..., n_fft // 2 + 1, frames)"
    arr = _as_array(spec, name, what)
    dtype = np.dtype(arr.dtype)
    if dtype == np.object_ or dtype == np.bool_ or not (
        np.issubdtype(dtype, np.number)
    ):
        raise ParameterError(f"{name} has dtype {dtype}; pass a complex STFT {what}.")
    if arr.ndim < 2:
        raise ParameterError(f"{name} has shape {tuple(arr.shape)}; an STFT is {what}.")
    if arr.shape[-2] != config.n_freq:
        raise ParameterError(
            f"{name} has {arr.shape[-2]} frequency bins on axis -2 but n_fft={config.n_fft} needs "
            f"{config.n_freq}; pass an STFT {what} made with the same n_fft."
        )
    if arr.shape[-1] < 1 or arr.size == 0:
        raise ParameterError(f"{name} has shape {tuple(arr.shape)}: no frames; give at least 1 frame.")
    if not is_traced(arr) and not _all_finite(arr):
        raise ParameterError(f"{_nonfinite_message(name, arr)}; an STFT must be finite.")
    return arr


# -------------------------------------------------------------------------------------------------- mel
def _normalised_to_db(arr, config: MelConfig, name: str) -> tuple[float, float]:
    """The lowest and highest dB of a range-normalised (Coqui) mel; values far outside the range are refused."""
    lo_norm = -config.max_norm if config.signal_norm == "symmetric" else 0.0
    lo, hi = float(arr.min()), float(arr.max())
    span = config.max_norm - lo_norm
    if lo < lo_norm - span or hi > config.max_norm + span:
        match = floor_presets(arr)[1]
        guess = f"; its floor is that of preset(s) {', '.join(match)}" if match else ""
        raise ParameterError(
            f"{name} spans {lo:.4g} .. {hi:.4g}, far outside the {config.signal_norm} range [{lo_norm:g}, "
            f"{config.max_norm:g}] of config {config.name!r} (signal_norm={config.signal_norm!r}); the mel was "
            f"not made with this normalisation: choose the config it was made with (melrecon presets){guess}."
        )
    db = np.asarray(db_values(arr.astype(np.float64), config))
    return float(db.min()), float(db.max())


def check_mel(mel, config: MelConfig, *, name: str = "mel", compressed: bool = True, reconstruct: bool = True):
    """Validate a Mel spectrogram ``(..., n_mels, frames)``; return it as float32 NumPy.

    Checks dtype, rank, the number of bands against ``config.n_mels``, the number of frames (at least
    :func:`min_frames`), finiteness, and values that cannot come from the configured compression
    (negative linear values, decibels where a natural log is configured, values too large for a
    log). With ``compressed=False`` the mel is linear whatever the config's compression. With
    ``reconstruct=False`` one frame is enough (no signal length is derived from it). On a traced
    array only dtype and shape are checked (and it is returned as is).
    """
    arr = check_mel_shape(mel, config, name=name, reconstruct=reconstruct)
    if is_traced(arr):
        return arr
    arr = mel_float32(arr, name)
    comp = config.compression if compressed else "none"
    lo, hi = float(arr.min()), float(arr.max())
    if comp == "db" and config.signal_norm is not None:
        lo, hi = _normalised_to_db(arr, config, name)
    check_mel_range(name, config, comp, lo, hi, compressed)
    _check_mel_energy(name, config, comp, hi, arr.shape)
    return _check_convention(arr, config, name) if compressed else arr


def check_mel_shape(mel, config: MelConfig, *, name: str, reconstruct: bool):
    """Dtype, rank, bands and frames of a mel (all that can be checked on a traced array)."""
    what = "a real array of shape (..., n_mels, frames)"
    arr = _as_array(mel, name, what)
    dtype = np.dtype(arr.dtype)
    _dtype_kind(name, dtype, "of shape (..., n_mels, frames)")
    if arr.ndim < 2:
        raise ParameterError(
            f"{name} has shape {tuple(arr.shape)}; a Mel spectrogram is (..., n_mels, frames) with at least 2 axes."
        )
    n_bands, n_frames = arr.shape[-2], arr.shape[-1]
    if n_bands != config.n_mels:
        hint = ""
        if n_frames == config.n_mels:
            hint = f" It looks transposed: pass {name}.T (bands on axis -2, frames on axis -1)."
        raise ParameterError(
            f"{name} has {n_bands} bands on axis -2 but config {config.name!r} has n_mels={config.n_mels}."
            f"{hint} Use the config the mel was made with (e.g. MelConfig.preset(...).replace(n_mels={n_bands}))."
            f"{bands_hint(n_bands)}"
        )
    if n_frames < 1 or arr.size == 0:
        raise ParameterError(f"{name} has shape {tuple(arr.shape)}: no frames to reconstruct; give at least 1 frame.")
    need = min_frames(config) if reconstruct else 1
    if n_frames < need:
        raise ParameterError(
            f"{name} has {n_frames} frame(s), too few for n_fft={config.n_fft}, hop_length={config.hop_length}, "
            f"pad={config.pad}: they describe {config.n_samples(n_frames)} samples. Give at least {need} frames."
        )
    return arr


def mel_float32(arr, name: str) -> np.ndarray:
    """A concrete mel as float32, refusing non-finite values and values beyond float32."""
    original = np.asarray(arr)
    with np.errstate(over="ignore", invalid="ignore"):
        arr = original.astype(np.float32, copy=False)
    if not np.isfinite(arr).all() and np.isfinite(original).all():
        raise ParameterError(
            f"{name} reaches {float(np.abs(original).max()):.4g}, beyond float32 (max {_F32_MAX:.3g}); it cannot be "
            f"a Mel spectrogram of audio in [-1, 1]. Check its scale and compression."
        )
    if not np.isfinite(arr).all():
        arr = original
        raise ParameterError(
            f"{_nonfinite_message(name, arr)}; clean it first (e.g. np.nan_to_num with the compression's "
            f"floor) — a log of 0 gives -inf: clamp before the log (np.log(np.maximum(mel, 1e-5)))."
        )
    return arr


def check_mel_range(name: str, config: MelConfig, comp: str, lo: float, hi: float, compressed: bool) -> None:
    """Values that cannot come from the compression ``comp`` (negative linear values, decibels for a log, ...)."""
    label = f"config {config.name!r}"
    if comp == "none" and lo < 0:
        fix = ("If the mel is log- or dB-compressed, use a config with compression='log', 'log10' or 'db'."
               if compressed else "A linear Mel spectrogram is >= 0.")
        raise ParameterError(
            f"{name} has negative values (min {lo:.4g}) but it is read as a linear Mel spectrogram "
            f"({label}, compression='none'). {fix}"
        )
    if comp in ("log", "log10"):
        base = math.e if comp == "log" else 10.0
        log_floor = math.log(config.floor, base)
        if lo < log_floor - 25:
            raise ParameterError(
                f"{name} goes down to {lo:.4g}, far below {log_floor:.4g}, the {comp} of floor={config.floor:g}: it "
                f"looks like decibels, not compression={comp!r}. Use a config with compression='db' (or convert: "
                f"{'mel_db * ln(10) / 20' if comp == 'log' else 'mel_db / 20'} for a magnitude Mel)."
            )
        if hi > 30:
            raise ParameterError(
                f"{name} reaches {hi:.4g}, too large for compression={comp!r} ({comp}(x) > 30 means x > "
                f"{base ** 30:.3g}); it looks linear or in decibels. Set compression='none' or 'db' to match how "
                f"the mel was made."
            )
        if lo >= 0 and hi > 0:
            _warn(f"{name} has no negative value (range {lo:.4g} .. {hi:.4g}), unusual for a {comp}-compressed "
                  f"Mel (quiet bins are negative): is it linear? If so, use compression='none'.")
    if comp == "db":
        db_floor = db_scale(config.power) * math.log10(config.floor)
        if hi > 300:
            raise ParameterError(
                f"{name} reaches {hi:.4g} dB, more than any audio in [-1, 1] gives; it does not look like decibels. "
                f"Check the config's compression (and power)."
            )
        if lo > -15 and hi < 15 and hi - lo < 20:
            _warn(f"{name} spans only {lo:.4g} .. {hi:.4g} dB, narrow for decibels (quiet bins reach far lower): is "
                  f"it a natural log or log10? If so, use compression='log' or 'log10'.")
        if lo < db_floor - 100:
            raise ParameterError(
                f"{name} goes down to {lo:.4g} dB, far below the floor {db_floor:.4g} dB of floor={config.floor:g}; "
                f"check the compression, power and floor of the config."
            )


def _check_mel_energy(name: str, config: MelConfig, comp: str, hi: float, shape: tuple) -> None:
    """Refuse a mel whose linear energy would overflow float32; warn about an unusually large linear one."""
    n_bands, n_frames = shape[-2], shape[-1]
    # The linear Mel is squared and summed in float32 (errors, spectral convergence): refuse overflow.
    law = COMPRESSIONS[comp]
    peak = float(law.inverse(np, min(hi, law.cap), config.power))
    per_item = int(n_bands) * int(n_frames)
    if peak * peak * per_item > _MAX_ENERGY:
        raise ParameterError(
            f"{name} peaks at {peak:.4g} (linear), too large to process in float32 (its energy would overflow); "
            f"this is far beyond audio in [-1, 1]. Scale the audio (or the linear mel) down before analysis."
        )
    if comp == "none" and hi > 1e7:
        _warn(f"{name} reaches {hi:.4g}: unusually large for a linear Mel of audio in [-1, 1].")


def _check_convention(arr, config: MelConfig, name: str):
    message = convention_message(arr, config, name=name)
    if message is not None:
        _warn(message)
    return arr


#: Negative values of a linear (non-negative) array down to this fraction of its peak are rounding (a denoised
#: or interpolated mel's): clipped at zero silently; deeper ones are clipped with a warning.
NEGATIVE_TOLERANCE = 1e-6


def clip_negative(x, *, name: str = "M") -> np.ndarray:
    """A real array that should be non-negative (a linear Mel or STFT magnitude), negative values clipped at 0
    (as librosa's solvers treat them), with a warning when they are not tiny (:data:`NEGATIVE_TOLERANCE`)."""
    arr = _as_array(x, name, "of non-negative values")
    _dtype_kind(name, np.dtype(arr.dtype), "of non-negative values")
    arr = np.asarray(arr)
    if not arr.size or not np.isfinite(arr).all():
        return arr  # the checks that follow name these
    lo = float(arr.min())
    if lo >= 0:
        return arr
    peak = float(np.abs(arr).max())
    if -lo > NEGATIVE_TOLERANCE * peak:
        share = float(np.mean(arr < 0))
        warn_user(f"{name} has negative values (down to {lo:.3g}, {share:.1%} of its entries, peak {peak:.3g}); a "
                  f"linear spectrogram is >= 0: they were clipped at 0.")
    return np.maximum(arr, 0).astype(arr.dtype, copy=False)
