"""Imperfect Mel spectrograms: the ways a predicted mel errs, made from a clean one.

Every function takes a *linear* Mel spectrogram ``(..., n_mels, frames)`` (decompressed, in the config's
power) and returns one of the same kind; the changes are made in the natural-log domain, where an
acoustic model's errors live (``log(max(mel, floor))``, ``floor`` 1e-5 as HiFi-GAN's clamp).

* :func:`log_noise`: i.i.d. Gaussian noise of standard deviation ``sigma`` added to the log-mel;
* :func:`smooth_time` / :func:`smooth_frequency`: a Gaussian blur (``sigma`` in frames / bands) of the
  log-mel, the over-smoothing of a model trained with an L1/L2 loss;
* :func:`smooth_time_frequency`: both at once (a 2-D Gaussian of the log-mel);
* :func:`box_blur`: a ``size x size`` moving average of the *linear* mel over bands and frames (a blur
  that no log-domain Gaussian is: it spreads a loud bin's level into its quiet neighbours);
* :func:`stretch`: the log-mel resampled in time by linear interpolation between frames (``rate``
  0.9 gives 10 % fewer frames: faster speech); the result has no time-aligned reference.

>>> import numpy as np
>>> mel = np.full((80, 50), 0.1)
>>> log_noise(mel, 0.3, seed=0).shape, stretch(mel, 0.9).shape
((80, 50), (80, 45))
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d, uniform_filter

from ..core.config import ParameterError

__all__ = ["log_noise", "smooth_time", "smooth_frequency", "smooth_time_frequency", "box_blur", "stretch",
           "DEGRADATIONS", "KINDS", "degrade", "apply"]

FLOOR = 1e-5


def _log(mel) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    if mel.ndim < 2:
        raise ParameterError(f"mel has shape {mel.shape}; it must be (..., n_mels, frames).")
    return np.log(np.maximum(mel, FLOOR))


def _positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ParameterError(f"{name}={value!r} must be a number > 0.")
    return float(value)


def log_noise(mel, sigma: float, *, seed: int = 0) -> np.ndarray:
    """``exp(log mel + N(0, sigma^2))``, seeded."""
    noise = np.random.default_rng(seed).standard_normal(np.shape(mel))
    return np.exp(_log(mel) + _positive("sigma", sigma) * noise).astype(np.float32)


def smooth_time(mel, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur of the log-mel along time (``sigma`` frames)."""
    return np.exp(gaussian_filter1d(_log(mel), _positive("sigma", sigma), axis=-1, mode="nearest")).astype(np.float32)


def smooth_frequency(mel, sigma: float = 1.0) -> np.ndarray:
    """Gaussian blur of the log-mel across Mel bands (``sigma`` bands)."""
    return np.exp(gaussian_filter1d(_log(mel), _positive("sigma", sigma), axis=-2, mode="nearest")).astype(np.float32)


def smooth_time_frequency(mel, sigma: float = 1.0, band_sigma: float | None = None) -> np.ndarray:
    """Gaussian blur of the log-mel along time (``sigma`` frames) and across bands (``band_sigma`` bands,
    ``sigma`` when ``None``)."""
    sigma = _positive("sigma", sigma)
    band_sigma = sigma if band_sigma is None else _positive("band_sigma", band_sigma)
    log = gaussian_filter1d(_log(mel), sigma, axis=-1, mode="nearest")
    return np.exp(gaussian_filter1d(log, band_sigma, axis=-2, mode="nearest")).astype(np.float32)


def box_blur(mel, size: int = 3) -> np.ndarray:
    """Moving average of the linear mel over ``size`` bands and ``size`` frames (edges repeated)."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ParameterError(f"size={size!r} must be a whole number >= 1 (e.g. 3).")
    lin = np.exp(_log(mel))
    shape = (1,) * (lin.ndim - 2) + (int(size), int(size))
    return uniform_filter(lin, size=shape, mode="nearest").astype(np.float32)


def stretch(mel, rate: float) -> np.ndarray:
    """The log-mel resampled to ``round(frames * rate)`` frames by linear interpolation."""
    log = _log(mel)
    frames = log.shape[-1]
    n = max(2, int(round(frames * _positive("rate", rate))))
    pos = np.linspace(0.0, frames - 1, n)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, frames - 1)
    frac = pos - lo
    return np.exp(log[..., lo] * (1 - frac) + log[..., hi] * frac).astype(np.float32)


#: name -> (function, keyword arguments, whether the result stays time-aligned with the original audio).
DEGRADATIONS = {
    "clean": (None, {}, True),
    "noise 0.1": (log_noise, {"sigma": 0.1}, True),
    "noise 0.3": (log_noise, {"sigma": 0.3}, True),
    "noise 0.5": (log_noise, {"sigma": 0.5}, True),
    "time smooth 1": (smooth_time, {"sigma": 1.0}, True),
    "freq smooth 0.5": (smooth_frequency, {"sigma": 0.5}, True),
    "freq smooth 1": (smooth_frequency, {"sigma": 1.0}, True),
    "freq smooth 2": (smooth_frequency, {"sigma": 2.0}, True),
    "time+freq smooth 1": (smooth_time_frequency, {"sigma": 1.0}, True),
    "box 3x3": (box_blur, {"size": 3}, True),
    "stretch 0.9": (stretch, {"rate": 0.9}, False),
    "stretch 1.1": (stretch, {"rate": 1.1}, False),
}


def degrade(mel, name: str) -> np.ndarray:
    """Apply the degradation ``name`` of :data:`DEGRADATIONS` to a linear mel."""
    if name not in DEGRADATIONS:
        raise ParameterError(f"degradation {name!r} is unknown; choose from {sorted(DEGRADATIONS)}.")
    fn, kwargs, _ = DEGRADATIONS[name]
    return np.asarray(mel, np.float32) if fn is None else fn(mel, **kwargs)


#: kind -> (function, name of its strength argument, (lowest, highest, default) strength): the controls of
#: notebook 06.
KINDS = {
    "log noise": (log_noise, "sigma", (0.05, 1.0, 0.3)),
    "time smoothing": (smooth_time, "sigma", (0.25, 3.0, 1.0)),
    "frequency smoothing": (smooth_frequency, "sigma", (0.25, 3.0, 1.0)),
    "time and frequency smoothing": (smooth_time_frequency, "sigma", (0.25, 3.0, 1.0)),
    "time stretch": (stretch, "rate", (0.5, 2.0, 0.9)),
}


def apply(mel, kind: str, strength: float) -> np.ndarray:
    """Apply the degradation ``kind`` of :data:`KINDS` (``"none"``: the mel itself) with its strength
    (``sigma`` or ``rate``) to a linear mel."""
    if kind == "none":
        return np.asarray(mel, np.float32)
    if kind not in KINDS:
        raise ParameterError(f"kind={kind!r} is unknown; choose from {['none', *KINDS]}.")
    fn, arg, _ = KINDS[kind]
    return fn(mel, **{arg: strength})
