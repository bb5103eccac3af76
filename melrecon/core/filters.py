"""Mel filterbanks and Hz <-> Mel conversion (NumPy; the filterbank is a constant of the config).

The formulas follow the two conventions in use: Slaney's Auditory Toolbox scale (linear below 1 kHz,
logarithmic above), used by librosa by default and by HiFi-GAN, and the HTK formula
``2595 log10(1 + f / 700)``.  Filters are triangles between neighbouring Mel-spaced centre frequencies,
evaluated at the FFT bin frequencies; ``norm="slaney"`` scales each to unit area in Hz / 2.

The functions take plain numbers, as ``librosa.filters.mel`` does; this module imports nothing from the
rest of the package (:class:`~melrecon.MelConfig` calls it, never the other way round).
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

__all__ = [
    "hz_to_mel", "mel_to_hz", "mel_frequencies", "mel", "mel_pinv", "empty_filter_count", "mel_filterbank",
    "mel_filterbank_pinv", "mel_filterbank_blocks", "mel_gram_pinv",
]

_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(freqs, *, htk: bool = False) -> np.ndarray:
    """Frequencies in Hz to Mel (Slaney scale by default, HTK formula with ``htk=True``)."""
    f = np.asanyarray(freqs, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    lin = f / _F_SP
    log = _MIN_LOG_MEL + np.log(np.maximum(f, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log, lin)


def mel_to_hz(mels, *, htk: bool = False) -> np.ndarray:
    """Mel to Hz, the inverse of :func:`hz_to_mel`."""
    m = np.asanyarray(mels, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    lin = _F_SP * m
    log = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log, lin)


def mel_frequencies(n_mels: int, *, fmin: float, fmax: float, htk: bool = False) -> np.ndarray:
    """``n_mels`` frequencies (Hz) equally spaced on the Mel scale from ``fmin`` to ``fmax``."""
    lo, hi = hz_to_mel(fmin, htk=htk), hz_to_mel(fmax, htk=htk)
    return mel_to_hz(np.linspace(lo, hi, n_mels), htk=htk)


def _filterbank64(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> np.ndarray:
    fftfreqs = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    edges = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)
    width = np.diff(edges)
    ramps = edges[:, None] - fftfreqs[None, :]
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    if norm == "slaney":
        weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    elif norm is not None:  # unit p-norm per filter (librosa.util.normalize; all-zero filters stay zero)
        size = np.max(np.abs(weights), axis=1) if np.isinf(norm) else np.sum(np.abs(weights) ** norm, axis=1) ** (
            1.0 / norm)
        weights /= np.where(size > np.finfo(np.float32).tiny, size, 1.0)[:, None]
    return weights


def _key(sr, n_fft, n_mels, fmin, fmax, htk, norm) -> tuple:
    """The cache key of a filterbank (plain, hashable numbers), checking ``norm``."""
    numeric = isinstance(norm, (int, float)) and not isinstance(norm, bool) and norm > 0
    if norm not in ("slaney", None) and not numeric:
        raise ValueError(f"norm={norm!r} is not supported; choose 'slaney', None or a number p > 0.")
    fmax = float(sr) / 2.0 if fmax is None else float(fmax)
    sr = int(sr) if float(sr).is_integer() else float(sr)
    return sr, int(n_fft), int(n_mels), float(fmin), fmax, bool(htk), float(norm) if numeric else norm


@functools.lru_cache(maxsize=64)
def _filterbank_cached(key: tuple) -> np.ndarray:
    fb = _filterbank64(*key).astype(np.float32)
    fb.setflags(write=False)
    return fb


@functools.lru_cache(maxsize=64)
def _pinv_cached(key: tuple) -> np.ndarray:
    p = np.linalg.pinv(_filterbank64(*key)).astype(np.float32)
    p.setflags(write=False)
    return p


@functools.lru_cache(maxsize=64)
def _empty_count(key: tuple) -> int:
    sr, n_fft, n_mels, fmin, fmax, htk, _ = key
    fb = _filterbank64(*key)
    lower = mel_frequencies(n_mels + 2, fmin=fmin, fmax=fmax, htk=htk)[:-2]
    return int(np.sum((fb.max(axis=1) <= 0) & (lower != 0)))


@functools.lru_cache(maxsize=64)
def _gram_pinv_cached(key) -> np.ndarray:
    p = np.linalg.pinv(_filterbank64(*key))
    g = (p.T @ p).astype(np.float32)  # pinv(F F^T) = pinv(F)^T pinv(F)
    g.setflags(write=False)
    return g


def mel_gram_pinv(config) -> np.ndarray:
    """``pinv(F @ F.T)``, shape ``(n_mels, n_mels)``, symmetric: ``pinv(F) = F.T @ mel_gram_pinv``.

    With it the pseudo-inverse product ``pinv(F) @ r`` becomes a small dense product and one banded
    one (``F.T``), instead of a dense ``(n_freq, n_mels)`` product.
    """
    return _gram_pinv_cached(config_key(config))


#: Cost of one extra block in :func:`mel_filterbank_blocks`, in multiply-adds per frame (the fixed cost
#: of a small matrix product and of adding its result), measured on a 2-core x86 CPU.
_BLOCK_OVERHEAD = 1500


@functools.lru_cache(maxsize=64)
def _blocks_cached(key, overhead: int) -> tuple:
    fb = _filterbank_cached(key)
    covered = np.nonzero((fb > 0).any(axis=0))[0]
    if not len(covered):
        return ()
    c0, c1 = int(covered[0]), int(covered[-1]) + 1
    nz = fb[:, c0:c1] > 0
    rows = np.arange(fb.shape[0])[:, None]
    lo = np.where(nz, rows, fb.shape[0]).min(axis=0)  # first / last band of each bin (empty bins: none)
    hi = np.where(nz, rows, -1).max(axis=0)
    n = c1 - c0
    best = np.full(n + 1, np.inf)
    best[0], cut = 0.0, np.zeros(n + 1, int)
    for i in range(n):  # best[j]: cheapest cover of bins [0, j); a block is bins [i, j)
        lo_run, hi_run = np.minimum.accumulate(lo[i:]), np.maximum.accumulate(hi[i:])
        width = np.maximum(hi_run - lo_run + 1, 0)
        cost = best[i] + np.arange(1, n - i + 1) * width + overhead
        better = cost < best[i + 1:]
        best[i + 1:][better] = cost[better]
        cut[i + 1:][better] = i
    blocks, j = [], n
    while j > 0:
        i = cut[j]
        b = np.nonzero(nz[:, i:j].any(axis=1))[0]
        if len(b):
            b0, b1 = int(b[0]), int(b[-1]) + 1
            w = np.ascontiguousarray(fb[b0:b1, c0 + i:c0 + j])
            w.setflags(write=False)
            blocks.append((c0 + i, c0 + j, b0, b1, w))
        j = i
    return tuple(reversed(blocks))


def mel_filterbank_blocks(config) -> tuple:
    """The filterbank as blocks of contiguous bins: ``((k0, k1, b0, b1, fb[b0:b1, k0:k1]), ...)``.

    Triangular filters are local (about 2 non-zeros per FFT bin): bins ``k0:k1`` meet only bands
    ``b0:b1``, and every non-zero weight lies in one block (bins no band covers are in none). The cut
    minimises the multiply-adds of ``fb @ x`` plus a fixed cost per block, so the products cost a small
    fraction of the dense ``(n_mels, n_freq)`` ones.
    """
    return _blocks_cached(config_key(config), _BLOCK_OVERHEAD)


def empty_filter_count(*, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                       htk: bool = False, norm: str | None = "slaney") -> int:
    """How many Mel filters have no non-zero weight at any FFT bin (librosa warns about these).

    As in librosa, a filter whose lower edge is 0 Hz is not counted (its peak may fall below bin 1).
    """
    return _empty_count(_key(sr, n_fft, n_mels, fmin, fmax, htk, norm))


def warn_empty(key: tuple, stacklevel: int = 2) -> None:
    """Warn (as librosa does) when the filterbank of ``key`` has empty filters."""
    n_empty = _empty_count(key)
    if n_empty:
        sr, n_fft, n_mels, fmin, fmax, _, _ = key
        warnings.warn(
            f"n_mels={n_mels} is too many for n_fft={n_fft} between fmin={fmin} and fmax={fmax} Hz: "
            f"{n_empty} Mel filter(s) are empty (all zero). Lower n_mels or raise n_fft.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )


def mel(*, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
        norm: str | None = "slaney") -> np.ndarray:
    """The Mel filterbank, shape ``(n_mels, n_fft // 2 + 1)``, float32, read-only.

    Equal to ``librosa.filters.mel(sr=, n_fft=, n_mels=, fmin=, fmax=, htk=, norm=)`` (``norm`` "slaney"
    or None), and like it warns when some filters are empty (too many bands for the FFT size).

    >>> mel(sr=16000, n_fft=512, n_mels=40).shape
    (40, 257)
    """
    key = _key(sr, n_fft, n_mels, fmin, fmax, htk, norm)
    warn_empty(key, stacklevel=2)
    return _filterbank_cached(key)


def mel_pinv(*, sr: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
             htk: bool = False, norm: str | None = "slaney") -> np.ndarray:
    """Moore-Penrose pseudo-inverse of :func:`mel`, shape ``(n_fft // 2 + 1, n_mels)``, float32."""
    return _pinv_cached(_key(sr, n_fft, n_mels, fmin, fmax, htk, norm))


def config_key(config) -> tuple:
    """The filterbank key of a config-like object (``sample_rate``, ``n_fft``, ``n_mels``, ``fmin``, ``fmax``,
    ``mel_scale``, ``norm`` attributes: a :class:`~melrecon.MelConfig`)."""
    return _key(config.sample_rate, config.n_fft, config.n_mels, config.fmin, config.fmax,
                config.mel_scale == "htk", config.norm)


def mel_filterbank(config) -> np.ndarray:
    """The filterbank of a :class:`~melrecon.MelConfig`: :func:`mel` with its settings (no warning: the
    config warned about empty filters when it was made)."""
    return _filterbank_cached(config_key(config))


def mel_filterbank_pinv(config) -> np.ndarray:
    """Moore-Penrose pseudo-inverse of :func:`mel_filterbank`, shape ``(n_fft // 2 + 1, n_mels)``."""
    return _pinv_cached(config_key(config))
