"""Noise-aware Mel inversion: the exact Mel constraint, applied to a target cleaned of what no signal has.

A Mel spectrogram predicted by an acoustic model (or degraded in any way) is not the Mel spectrogram of
any signal. The exact Mel-constraint projection (:func:`~melrecon.algorithms.mel_projection`) then
reproduces its errors. The errors of a prediction are largely independent from frame to frame, while
the Mel spectrogram of a signal varies slowly from frame to frame (the analysis windows of neighbouring
frames overlap by 3/4 at the ``hifigan`` preset). So the methods here

0. look for a *box blur* of the linear mel (a moving average over 3 frames and 3 bands fills the valleys
   between harmonics with their peaks' energy; no filter of the log-mel undoes it): such a blur puts a null
   in the mel's spectrum along time at 1/3 cycle per frame, the *box null*, the power there over the power
   0.06-0.12 cycle away (clean dev clips 0.12-0.84, box-blurred 0.003-0.017). Below ``BOX_FLOOR`` the linear
   mel is deconvolved of the box by ``BOX_ITERS`` Richardson-Lucy iterations (multiplicative: it stays
   positive), across bands too when the same null shows across bands (below ``BOX_BAND_FLOOR``), and
   everything below is read on the result;
0. measure the *band spread* of the log-mel ``L``: how blurred it is across bands, the slope of the log power
   spectrum of each loud frame's log-mel taken across bands (median over the frames) against the squared
   band frequency, over 0.15-0.45 cycles per band, divided by ``-4 pi^2``: a Gaussian blur of ``s``
   bands adds ``s^2``. Above ``BAND_FLOOR`` the log-mel is deconvolved across bands (a Wiener filter
   of a Gaussian of ``sqrt(spread - BAND_BASE)`` bands, largest gain ``BAND_GAIN``), and the statistics
   below are read on the result (a blur across bands also hides the noise the noise level reads);
1. measure the *noise level* of ``L``: the part of its second difference along time that
   no neighbouring band shares, ``e[b, t] = d2[b, t] - (d2[b-1, t] + d2[b+1, t]) / 2`` with
   ``d2[b, t] = L[b, t+1] - 2 L[b, t] + L[b, t-1]``, as a robust scale ``1.4826 * median |e| / 3`` over
   the bins within 60 dB of the item's peak (for i.i.d. log-noise of deviation ``s``, ``s``). A signal's
   transients reach neighbouring bands alike (the Mel filters overlap); independent errors do not;
2. measure its *sharpness*, ``median |d2| / median |d1|`` (``d1`` the first difference along time):
   ``sqrt(3)`` for i.i.d. noise, lower the smoother the mel is along time;
3. choose a smoothing width ``w = clip(AUTO_GAIN * (noise - AUTO_FLOOR), 0, AUTO_MAX)`` frames, and an
   unsharp-mask amount ``a``, ``SHARP_MAX`` when both the sharpness and the noise level are low (ramps
   below ``SHARP_FLOOR`` and ``QUIET_FLOOR``), 0 otherwise. On the dev set's clean mels both are 0 (the
   exact method) at every preset but ``seed``, where the noise-free chirp is sharpened (the known limit at
   ``SHARP_FLOOR``); log-noise of deviation 0.3 gives ``w`` 0.56-0.73; a Gaussian smoothing of 1 frame along
   time gives ``a`` 2.5 on every speech clip;
4. run the exact method (ADMM or fast Griffin-Lim with the Mel constraint) towards the target
   ``exp(G_w * L + a (L - G_1 * L))`` (``L`` deblurred; ``G_w``: a Gaussian of ``w`` frames along
   time), capped at the smaller of the item's peak and 1 above the band's largest log within 4 frames.

``tolerance`` sets ``w``, ``sharpen`` sets ``a``, ``deblur`` the deconvolution width and ``unbox`` the box's
size by hand; all four 0 (or all four read 0) is the exact method, iterate for iterate. The measured effect is in
``docs/robustness.md``: a box-shaped tolerance set
``{A : |log mel(A) - log M| <= tau}`` in place of the exact constraint gained little under noise and
ruined clean mels; smoothing a noisy target and sharpening a smoothed one gained 0.3-0.6 PESQ-wb.

The runner keeps the iterate whose Mel spectrogram is closest to the target: for these methods the
smoothed target (``mel_target``), so a run's ``mel_sc`` is measured against it.

Example
-------
>>> import jax, jax.numpy as jnp
>>> from melrecon import MelConfig
>>> from melrecon.core import transforms
>>> from melrecon.algorithms import Problem, TolerantMelADMM
>>> cfg = MelConfig.preset("seed")
>>> hiss = 0.05 * jax.random.normal(jax.random.key(1), (4000,))
>>> mag = jnp.abs(transforms.stft(jnp.sin(0.05 * jnp.arange(4000.0)) + hiss, cfg))
>>> prob = Problem(mel=transforms.mel_from_magnitude(mag, cfg), magnitude=mag)
>>> algo = TolerantMelADMM()
>>> state = algo.init(prob, cfg, jax.random.key(0))
>>> float(state.width[0, 0]), float(state.amount[0, 0])  # a clean recording of a tone: the exact method
(0.0, 0.0)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..core.config import MelConfig, ParameterError
from .admm import ADMMGriffinLim
from .base import Problem
from .mel_griffin_lim import MelGriffinLim

__all__ = ["box_nulls", "unboxed", "roughness", "noise_level", "sharpness", "band_spread", "deblurred_log",
           "deblurred", "smoothing_width", "sharpening_amount", "choose", "auto_choice", "smoothed_target",
           "TolerantMelADMM", "TolerantMelGriffinLim"]

#: Noise level that clean mels stay under (the dev set's highest clean value, wind, measured 0.153;
#: log-domain noise of deviation 0.3 measured 0.31-0.35).
AUTO_FLOOR = 0.20
#: Frames of smoothing per unit of noise level above the floor.
AUTO_GAIN = 5.0
#: Widest automatic smoothing, in frames.
AUTO_MAX = 1.5
#: A mel is taken as smoothed along time (and sharpened) only when both its sharpness and its noise level
#: are low. Clean dev clips: sharpness 0.81-1.47 (a chirp 0.42), noise level 0.065-0.153; smoothed by a
#: Gaussian of 1 frame along time: sharpness 0.37-0.89, noise level 0.017-0.052 (speech 0.033-0.045).
#: Known limit: a noise-free signal that is smooth along time (a sine sweep, a steady or tremolo tone, a
#: harmonic glide) reads like a smoothed mel (sharpness 0.1-0.8, noise level under 0.06) and is sharpened:
#: no statistic of the mel alone that was tried separates the two (docs/robustness.md), so these methods
#: are not the default.
SHARP_FLOOR, SHARP_RAMP = 0.78, 0.06
QUIET_FLOOR, QUIET_RAMP = 0.06, 0.01
#: Unsharp-mask amount once both are below their floor by a ramp or more.
SHARP_MAX = 2.5
_RADIUS = 4  # frames each side of the smoothing kernel
_OVERSHOOT = 1.0  # how far (in log) sharpening may rise above the band's neighbourhood
_DYNAMIC_RANGE = 1e-3  # bins within 60 dB (in magnitude) of the item's peak count


#: A box blur of the linear mel. The box null (module docstring) along time: clean dev clips (hifigan) 0.12-0.84
#: (a chirp 0.12; windows 3-8 hops long and the seed and librosa presets 0.09-1.7), smoothed along time by 1
#: frame 0.085-0.32, log-noise 0.3 0.64-1.30, smoothed across bands 0.27-1.10; box-blurred 3 x 3 0.003-0.017.
#: Across bands, once a box along time is found: box-blurred speech and music 0.005-0.12, noise 0.49-0.72
#: (deconvolved along time only); clean speech 0.32-7.3.
BOX_FLOOR = 0.04
BOX_BAND_FLOOR = 0.2
#: The box ``"auto"`` looks for, and the Richardson-Lucy iterations that undo it (50: PESQ-wb 2.4-3.6 on three
#: speech clips at the default level, 200: 3.0-3.8, 500: 3.3-3.8; the box-blurred mel itself 1.3-1.5).
BOX_SIZE = 3
BOX_ITERS = 300
_BOX_MIN = 48  # fewer frames (bands) along an axis: no estimate along it (read as no box)
_BOX_NEAR, _BOX_RING = 0.02, (0.06, 0.12)  # cycles from 1/3: the null, and the ring it is compared with


def _null_ratio(lin: jax.Array, axis: int) -> jax.Array:
    """Power of ``lin``'s spectrum along ``axis`` (-1: time, Hann-tapered; -2: bands) at 1/3 cycle over the power
    0.06-0.12 cycle away (averaged over the other axis), per item ``(..., 1, 1)``; 1 where too short or silent."""
    n = lin.shape[axis]
    shape = (*lin.shape[:-2], 1, 1)
    if n < _BOX_MIN:
        return jnp.ones(shape, jnp.float32)
    x = lin / jnp.maximum(jnp.mean(lin, axis=(-2, -1), keepdims=True), 1e-30)
    x = x - jnp.mean(x, axis=axis, keepdims=True)
    if axis == -1:  # along time, Hann-tapered: a short mel's ends leak into the null otherwise
        x = x * np.hanning(n).astype(np.float32)
    power = jnp.mean(jnp.abs(jnp.fft.rfft(x, axis=axis)) ** 2, axis=-1 if axis == -2 else -2)
    off = np.abs(np.fft.rfftfreq(n) - 1.0 / 3.0)
    near, ring = off < _BOX_NEAR, (off > _BOX_RING[0]) & (off < _BOX_RING[1])
    a, b = jnp.mean(power[..., near], axis=-1), jnp.mean(power[..., ring], axis=-1)
    return jnp.where(b > 0, a / jnp.maximum(b, 1e-30), 1.0).reshape(shape).astype(jnp.float32)


def box_nulls(problem: Problem, config: MelConfig) -> tuple[jax.Array, jax.Array]:
    """The box nulls of the linear mel along time and across bands, per item ``(..., 1, 1)`` (module docstring):
    near 0 after a moving average over 3 frames (bands), 0.1-1 or more otherwise."""
    _, valid, _ = _log_and_valid(problem)
    lin = jnp.where(valid, problem.mel, 0.0)
    return _null_ratio(lin, -1), _null_ratio(lin, -2)


def _unbox_from(time_null: jax.Array, band_null: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The box sizes read from the nulls: ``(frames, bands)``, each ``BOX_SIZE`` or 0."""
    along = time_null < BOX_FLOOR
    return (jnp.where(along, float(BOX_SIZE), 0.0).astype(jnp.float32),
            jnp.where(along & (band_null < BOX_BAND_FLOOR), float(BOX_SIZE), 0.0).astype(jnp.float32))


def _moving_average(u: jax.Array, size: int, axis: int) -> jax.Array:
    """Mean over ``size`` neighbours along ``axis`` (centred; edges repeated, as ``scipy.ndimage.uniform_filter``'s
    ``mode="nearest"``)."""
    n, lo = u.shape[axis], size // 2
    pad = [(0, 0)] * u.ndim
    pad[axis] = (lo, size - 1 - lo)
    padded = jnp.pad(u, pad, mode="edge")
    return sum(jax.lax.slice_in_dim(padded, k, k + n, axis=axis) for k in range(size)) / size


def unboxed(problem: Problem, frames: jax.Array, bands: jax.Array, size: int = BOX_SIZE,
            iters: int = BOX_ITERS) -> Problem:
    """``problem`` with its linear mel deconvolved of a ``size``-wide moving average along time where ``frames``
    > 0 and across bands where ``bands`` > 0 (per item ``(..., 1, 1)``), by ``iters`` Richardson-Lucy
    iterations; exactly ``problem`` where both are 0."""
    mel, along, across = problem.mel, frames > 0, bands > 0

    def blur(u):
        u = jnp.where(along, _moving_average(u, size, -1), u)
        return jnp.where(across, _moving_average(u, size, -2), u)

    def deconvolve(m):
        step = lambda _, u: u * blur(m / jnp.maximum(blur(u), 1e-30))  # noqa: E731
        return jax.lax.fori_loop(0, iters, step, m)

    if size < 2:
        return problem
    out = jax.lax.cond(jnp.any(along | across), deconvolve, lambda m: m, mel)
    return problem._replace(mel=jnp.where(along | across, out, mel))


def _log_and_valid(problem: Problem):
    mel = problem.mel
    peak = jnp.max(mel, axis=(-2, -1), keepdims=True)
    log = jnp.log(jnp.maximum(mel, jnp.maximum(1e-10 * peak, 1e-30)))
    if problem.layout is None:
        valid = jnp.ones((*mel.shape[:-2], 1, mel.shape[-1]), bool)
    else:
        valid = jnp.swapaxes(problem.layout.frame_mask, -1, -2) > 0
    return log, valid, peak


def _robust_scale(values: jax.Array, counted: jax.Array) -> jax.Array:
    """Median of ``|values|`` over the ``counted`` entries of each item, shape ``(..., 1, 1)``."""
    flat = jnp.where(counted, jnp.abs(values), jnp.nan).reshape(*values.shape[:-2], -1)
    if flat.shape[-1] == 0:  # a mel of 1-2 frames has no differences: no evidence, read as 0
        return jnp.zeros((*values.shape[:-2], 1, 1), values.dtype)
    return jnp.nan_to_num(jnp.nanmedian(flat, axis=-1))[..., None, None]


def _differences(problem: Problem, config: MelConfig):
    """First and second differences of the log-mel along time, and the loud, valid frames they count."""
    log, valid, peak = _log_and_valid(problem)
    d1 = log[..., 2:] - log[..., 1:-1]
    d2 = log[..., 2:] - 2.0 * log[..., 1:-1] + log[..., :-2]
    loud = problem.mel[..., 1:-1] > (_DYNAMIC_RANGE ** config.power) * peak
    return d1, d2, loud & valid[..., 2:] & valid[..., :-2]


def roughness(problem: Problem, config: MelConfig) -> jax.Array:
    """Robust frame-to-frame roughness of the log-mel, per item, ``(..., 1, 1)``: for i.i.d. log-noise of
    deviation ``s`` alone, ``s``."""
    _, d2, counted = _differences(problem, config)
    return 1.4826 * _robust_scale(d2, counted) / jnp.sqrt(6.0)


def _noise_from(d2: jax.Array, counted: jax.Array, config: MelConfig) -> jax.Array:
    own = d2[..., 1:-1, :] - 0.5 * (d2[..., 2:, :] + d2[..., :-2, :])
    return 1.4826 * _robust_scale(own, counted[..., 1:-1, :]) / (3.0 * config.power)


def _sharpness_from(d1: jax.Array, d2: jax.Array, counted: jax.Array) -> jax.Array:
    first = _robust_scale(d1, counted)
    return jnp.where(first > 0, _robust_scale(d2, counted) / jnp.maximum(first, 1e-30), jnp.inf)  # flat: no evidence


def noise_level(problem: Problem, config: MelConfig) -> jax.Array:
    """The part of the roughness no neighbouring band shares, per item ``(..., 1, 1)`` (module docstring), in
    the log of the magnitude (a power-``p`` mel's log is divided by ``p``: a signal's log-power varies ``p``
    times as much): for i.i.d. log-noise of deviation ``s`` alone, ``s / p``."""
    _, d2, counted = _differences(problem, config)
    return _noise_from(d2, counted, config)


def sharpness(problem: Problem, config: MelConfig) -> jax.Array:
    """Median ``|second difference|`` over median ``|first difference|`` of the log-mel along time, per item
    ``(..., 1, 1)``: ``sqrt(3)`` for i.i.d. noise, lower the smoother the mel is along time (``inf`` for a flat mel)."""
    return _sharpness_from(*_differences(problem, config))


#: Over-smoothing across bands. The *band spread* is the slope of the log power spectrum of the log-mel
#: taken across bands, against the squared band frequency, over ``_BAND_FREQS`` (cycles per band), divided
#: by ``-4 pi^2``: a Gaussian blur of ``s`` bands adds ``s^2`` to it. Clean dev clips (hifigan): -0.15 to
#: 0.51 (speech), 0.21-0.22 (noise); blurred by 1 band: 0.84-1.49; by 2 bands: 2.6-3.4 (the blur leaves
#: no measurable high band frequencies: read as about 1.7). The deconvolution width is
#: ``sqrt(spread - BAND_BASE)``, switched on by a ramp from ``BAND_FLOOR`` to ``BAND_FLOOR + BAND_RAMP``.
#: Only frames with over 80 % of their bands within 60 dB of the peak count: with 50 %, a clean log sweep
#: 100 Hz-1 kHz read 0.81 and was deblurred (PESQ-wb 4.15 -> 1.39). Known limit: a clean signal of few
#: partials reads up to 0.49 at hifigan (0.13 under the floor; docs/robustness.md).
BAND_BASE = 0.20
BAND_FLOOR, BAND_RAMP = 0.62, 0.10
#: Widest automatic deconvolution, in bands.
BAND_MAX = 2.0
#: Largest gain of the regularised (Wiener) deconvolution ``H / (H^2 + 1 / BAND_GAIN^2)``.
BAND_GAIN = 30.0
_BAND_FREQS = (0.15, 0.45)
_MIN_BANDS = 16  # fewer bands: no estimate (read as unblurred)
_BAND_RANGE, _LOUD_FRACTION = 1e-3, 0.8  # a frame counts: over 80 % of its bands within 60 dB of the peak


def _band_spectrum(problem: Problem, config: MelConfig):
    """Median over the loud frames of the power spectrum of each frame's log-mel across bands (taken of
    the first difference, Hann-windowed, then divided by the difference's response), and its frequencies."""
    log, valid, peak = _log_and_valid(problem)
    d1 = log[..., 1:, :] - log[..., :-1, :]
    n = d1.shape[-2]
    window = jnp.asarray(np.hanning(n), log.dtype)[:, None]
    power = jnp.abs(jnp.fft.rfft(d1 * window, axis=-2)) ** 2
    freqs = np.fft.rfftfreq(n)
    loud = jnp.mean(problem.mel > (_BAND_RANGE ** config.power) * peak, axis=-2, keepdims=True) > _LOUD_FRACTION
    counted = loud & valid
    median = jnp.nanmedian(jnp.where(counted, power, jnp.nan), axis=-1)
    response = np.maximum(4.0 * np.sin(np.pi * freqs) ** 2, 1e-12)
    return median / response, freqs, jnp.any(counted, axis=(-2, -1))


def band_spread(problem: Problem, config: MelConfig) -> jax.Array:
    """How blurred the log-mel is across bands, per item ``(..., 1, 1)``, in squared bands (module
    constants): the clean mel's value plus ``s^2`` after a Gaussian blur of ``s`` bands; 0 where there
    is no loud frame or fewer than 16 bands."""
    shape = (*problem.mel.shape[:-2], 1, 1)
    if problem.mel.shape[-2] < _MIN_BANDS:
        return jnp.zeros(shape, jnp.float32)
    spectrum, freqs, any_loud = _band_spectrum(problem, config)
    sel = (freqs >= _BAND_FREQS[0]) & (freqs <= _BAND_FREQS[1])
    x = jnp.asarray(freqs[sel] ** 2, jnp.float32)
    y = jnp.log(jnp.maximum(spectrum[..., sel], 1e-30))
    xc = x - jnp.mean(x)
    slope = jnp.sum(xc * (y - jnp.mean(y, axis=-1, keepdims=True)), axis=-1) / jnp.sum(xc * xc)
    spread = jnp.where(any_loud, -slope / (4.0 * np.pi ** 2), 0.0)
    return jnp.nan_to_num(spread).reshape(shape).astype(jnp.float32)


def _deblur_from(spread: jax.Array) -> jax.Array:
    on = jnp.clip((spread - BAND_FLOOR) / BAND_RAMP, 0.0, 1.0)
    return on * jnp.clip(jnp.sqrt(jnp.maximum(spread - BAND_BASE, 0.0)), 0.0, BAND_MAX)


def deblurred_log(log: jax.Array, width: jax.Array) -> jax.Array:
    """``log`` deconvolved across bands (axis -2) of a Gaussian blur of ``width`` bands (per item
    ``(..., 1, 1)``): a Wiener filter of largest gain ``BAND_GAIN`` on the mirror-extended bands;
    ``log`` itself where ``width`` is 0."""
    n = log.shape[-2]
    extended = jnp.concatenate([log, jnp.flip(log, axis=-2)], axis=-2)
    f = jnp.asarray(np.fft.fftfreq(2 * n), log.dtype)[:, None]
    h = jnp.exp(-2.0 * np.pi ** 2 * (width * f) ** 2)
    gain = h / (h * h + 1.0 / BAND_GAIN ** 2)
    out = jnp.real(jnp.fft.ifft(jnp.fft.fft(extended, axis=-2) * gain, axis=-2))[..., :n, :]
    return jnp.where(width > 0, out.astype(log.dtype), log)


def deblurred(problem: Problem, width: jax.Array) -> Problem:
    """``problem`` with its mel deconvolved across bands by ``width`` bands (:func:`deblurred_log`),
    capped at the item's peak; exactly ``problem`` where ``width`` is 0."""
    log, valid, peak = _log_and_valid(problem)
    mel = jnp.exp(jnp.minimum(deblurred_log(log, width), jnp.log(peak)))
    return problem._replace(mel=jnp.where((width > 0) & valid, mel, problem.mel))


def _auto(value, problem: Problem, fn) -> jax.Array:
    if value == "auto":
        return fn()
    return jnp.full((*problem.mel.shape[:-2], 1, 1), float(value), jnp.float32)


def _width_from(noise: jax.Array) -> jax.Array:
    return jnp.clip(AUTO_GAIN * (noise - AUTO_FLOOR), 0.0, AUTO_MAX)


def _amount_from(noise: jax.Array, sharp: jax.Array) -> jax.Array:
    smooth = (SHARP_FLOOR - sharp) / SHARP_RAMP
    quiet = (QUIET_FLOOR - noise) / QUIET_RAMP
    return SHARP_MAX * jnp.clip(jnp.minimum(smooth, quiet), 0.0, 1.0)


def smoothing_width(problem: Problem, config: MelConfig, tolerance) -> jax.Array:
    """The smoothing width in frames, per item ``(..., 1, 1)``: ``tolerance`` or, for ``"auto"``, from the
    noise level."""
    return choose(problem, config, tolerance, 0.0)["tolerance"]


def sharpening_amount(problem: Problem, config: MelConfig, sharpen) -> jax.Array:
    """The unsharp-mask amount, per item ``(..., 1, 1)``: ``sharpen`` or, for ``"auto"``, from the
    sharpness and the noise level (both low: smoothed along time)."""
    return choose(problem, config, 0.0, sharpen)["sharpen"]


def choose(problem: Problem, config: MelConfig, tolerance, sharpen, deblur="auto",
           unbox="auto") -> dict[str, jax.Array]:
    """What the automatic choice sees and chooses, per item ``(..., 1, 1)``: ``{"box_null", "box_null_bands",
    "unbox", "unbox_bands", "band_spread", "deblur", "noise_level", "sharpness", "tolerance", "sharpen"}`` (a
    statistic is NaN where no choice needs it). The box deconvolution comes first, then the band deconvolution:
    the time statistics are read on the result (a blur across bands hides the noise the noise level reads).
    One pass over the mel's differences serves both time choices: the same values as :func:`smoothing_width`
    and :func:`sharpening_amount`."""
    return _choose(problem, config, tolerance, sharpen, deblur, unbox)[0]


def _choose(problem: Problem, config: MelConfig, tolerance, sharpen, deblur, unbox):
    """:func:`choose`'s values and the problem with its mel deconvolved of the box the choice found."""
    shape = (*problem.mel.shape[:-2], 1, 1)
    nan = jnp.full(shape, jnp.nan, jnp.float32)
    nulls = box_nulls(problem, config) if unbox == "auto" else (nan, nan)
    if unbox == "auto":
        frames, bands = _unbox_from(*nulls)
    else:
        frames = bands = jnp.full(shape, float(unbox), jnp.float32)
    if unbox != 0:
        problem = unboxed(problem, frames, bands, BOX_SIZE if unbox == "auto" else int(unbox))
    spread = band_spread(problem, config) if deblur == "auto" else nan
    width = _auto(deblur, problem, lambda: _deblur_from(spread))
    seen = deblurred(problem, width) if deblur != 0 else problem
    if "auto" in (tolerance, sharpen):
        d1, d2, counted = _differences(seen, config)
        noise, sharp = _noise_from(d2, counted, config), _sharpness_from(d1, d2, counted)
    else:
        noise = sharp = nan
    return {"box_null": nulls[0], "box_null_bands": nulls[1], "unbox": frames, "unbox_bands": bands,
            "band_spread": spread, "deblur": width, "noise_level": noise, "sharpness": sharp,
            "tolerance": _auto(tolerance, problem, lambda: _width_from(noise)),
            "sharpen": _auto(sharpen, problem, lambda: _amount_from(noise, sharp))}, problem


def auto_choice(mel, config: MelConfig) -> tuple[dict[str, float], np.ndarray]:
    """What the automatic choice sees in one linear mel ``(n_mels, frames)``, what it chooses, and the
    target it then fits: ``({"box_null", "box_null_bands", "unbox", "unbox_bands", "band_spread", "deblur",
    "noise_level", "sharpness", "tolerance", "sharpen"}, target mel)``."""
    values, target = _auto_choice(jnp.asarray(mel, jnp.float32), config)
    return {k: float(v.reshape(-1)[0]) for k, v in values.items()}, np.asarray(target)


@functools.partial(jax.jit, static_argnums=(1,))
def _auto_choice(mel: jax.Array, config: MelConfig) -> tuple[dict[str, jax.Array], jax.Array]:
    """:func:`auto_choice`'s arrays as one compiled program (run eagerly, its ~120 operations were ~120
    programs to trace and compile, or load, on every first call: issue 27)."""
    values, source = _choose(Problem(mel=mel, magnitude=None), config, "auto", "auto", "auto", "auto")
    return values, smoothed_target(source, values["tolerance"], values["sharpen"], values["deblur"])


def _gaussian(log: jax.Array, valid: jax.Array, width: jax.Array) -> jax.Array:
    """``log`` smoothed along time by a Gaussian of ``width`` frames, normalised over the valid frames."""
    sigma = jnp.maximum(width, 1e-3)
    pad = [(0, 0)] * (log.ndim - 1) + [(_RADIUS, _RADIUS)]
    padded_log = jnp.pad(log, pad)
    padded_valid = jnp.pad(valid.astype(log.dtype), pad)
    total = jnp.zeros_like(log)
    norm = jnp.zeros_like(log[..., :1, :])
    n = log.shape[-1]
    for k in range(-_RADIUS, _RADIUS + 1):
        w = jnp.exp(-0.5 * (k / sigma) ** 2) * padded_valid[..., _RADIUS + k:_RADIUS + k + n]
        total = total + w * padded_log[..., _RADIUS + k:_RADIUS + k + n]
        norm = norm + w
    return total / jnp.maximum(norm, 1e-30)


def _local_max(log: jax.Array) -> jax.Array:
    """The largest value of each band within ``_RADIUS`` frames."""
    n = log.shape[-1]
    padded = jnp.pad(log, [(0, 0)] * (log.ndim - 1) + [(_RADIUS, _RADIUS)], constant_values=-jnp.inf)
    shifted = [padded[..., _RADIUS + k:_RADIUS + k + n] for k in range(-_RADIUS, _RADIUS + 1)]
    return functools.reduce(jnp.maximum, shifted)


def smoothed_target(problem: Problem, width: jax.Array, amount: jax.Array | None = None,
                    deblur: jax.Array | None = None) -> jax.Array:
    """The mel deconvolved across bands by ``deblur`` bands (:func:`deblurred`), its log then smoothed along
    time by a Gaussian of ``width`` frames and sharpened by an unsharp mask ``L + amount (L - G_1 * L)``
    (capped at the item's peak and at ``_OVERSHOOT`` above the band's largest value within ``_RADIUS``
    frames); exactly ``problem.mel`` where all three are 0."""
    deblur = jnp.zeros_like(width) if deblur is None else deblur
    source = deblurred(problem, deblur)
    log, valid, peak = _log_and_valid(source)
    amount = jnp.zeros_like(width) if amount is None else amount
    out = jnp.where(width > 0, _gaussian(log, valid, width), log)
    sharpened = out + amount * (log - _gaussian(log, valid, jnp.ones_like(width)))
    target = jnp.exp(jnp.minimum(sharpened, jnp.minimum(_local_max(out) + _OVERSHOOT, jnp.log(peak))))
    return jnp.where(((width > 0) | (amount > 0)) & valid, target, source.mel)


def _check_tolerance(name: str, value) -> None:
    if isinstance(value, str):
        if value != "auto":
            raise ParameterError(f"{name}={value!r} must be 'auto' or a number >= 0 (e.g. 1.0).")
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 50:
        raise ParameterError(f"{name}={value!r} must be 'auto' or a number in [0, 50] (e.g. 1.0).")


def _check_box(value) -> None:
    ok = value == "auto" or (not isinstance(value, (bool, str)) and isinstance(value, (int, float)) and value >= 0
                             and float(value).is_integer() and (value == 0 or (value >= 3 and value % 2 == 1)))
    if not ok:
        raise ParameterError(f"unbox={value!r} must be 'auto', 0 (off) or an odd box size >= 3 (e.g. 3: a moving "
                             f"average over 3 frames and 3 bands).")


#: The four choices of :func:`choose`, and what it reads in the mel besides them: a tolerant stage reports both in
#: every step's terms (a run's history says what it read and chose).
CHOICES = ("tolerance", "sharpen", "deblur", "unbox")
READINGS = ("noise_level", "sharpness", "band_spread", "box_null", "box_null_bands", "unbox_bands")


class TolerantState(NamedTuple):
    inner: Any
    target: jax.Array
    width: jax.Array
    amount: jax.Array
    deblur: jax.Array
    unbox: jax.Array
    read: dict  # READINGS, per item (..., 1, 1)


class _Tolerant:
    """Shared by the two tolerant methods: the inner method's state plus the target it runs towards."""

    family = "projection"
    readings = READINGS  # step terms that say what was read in the mel (NaN where not read), not losses

    def __post_init__(self):
        super().__post_init__()
        _check_tolerance("tolerance", self.tolerance)
        _check_tolerance("sharpen", self.sharpen)
        _check_tolerance("deblur", self.deblur)
        _check_box(self.unbox)

    def mel_target(self, problem: Problem, state: TolerantState) -> jax.Array:
        """The Mel spectrogram this run fits (the runner scores its iterates against it)."""
        return state.target

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        chosen, source = _choose(problem, config, self.tolerance, self.sharpen, self.deblur, self.unbox)
        width, amount, deblur = chosen["tolerance"], chosen["sharpen"], chosen["deblur"]
        target = smoothed_target(source, width, amount, deblur)
        inner = super().init(problem._replace(mel=target), config, key, spec)
        return TolerantState(inner=inner, target=target, width=width, amount=amount, deblur=deblur,
                             unbox=chosen["unbox"], read={k: chosen[k] for k in READINGS})

    def step(self, problem: Problem, config: MelConfig, state: TolerantState):
        inner, terms = super().step(problem._replace(mel=state.target), config, state.inner)
        terms = {**terms, "tolerance": state.width.reshape(state.width.shape[:-2]),
                 "sharpen": state.amount.reshape(state.amount.shape[:-2]),
                 "deblur": state.deblur.reshape(state.deblur.shape[:-2]),
                 "unbox": state.unbox.reshape(state.unbox.shape[:-2]),
                 **{k: v.reshape(v.shape[:-2]) for k, v in state.read.items()}}
        return state._replace(inner=inner), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: TolerantState) -> jax.Array:
        return super().spectrogram(problem._replace(mel=state.target), config, state.inner)


@dataclass(frozen=True)
class TolerantMelADMM(_Tolerant, ADMMGriffinLim):
    """``meladmm`` towards the noise-aware target (module docstring).

    Parameters
    ----------
    tolerance : "auto" or float
        Width in frames of the Gaussian smoothing of the log-mel target along time; ``"auto"``: from
        the mel's noise level.
    sharpen : "auto" or float
        Amount of the unsharp mask ``L + a (L - G_1 * L)`` of the log-mel target along time; ``"auto"``:
        from the mel's sharpness and noise level.
    deblur : "auto" or float
        Width in bands of the Gaussian blur across bands that the log-mel target is deconvolved of
        (before the time smoothing and sharpening); ``"auto"``: from the mel's band spread.
    unbox : "auto" or int
        Size of the moving average (frames and bands) of the linear mel that the target is deconvolved of
        first (0: none); ``"auto"``: a 3 x 3 (or 3 x 1) box read from the mel's box nulls.
        ``tolerance=0, sharpen=0, deblur=0, unbox=0``: the exact method.
    Others as :class:`~melrecon.algorithms.ADMMGriffinLim` (Mel-constraint set, zero initial phase).
    """

    tolerance: float | str = "auto"
    sharpen: float | str = "auto"
    deblur: float | str = "auto"
    unbox: int | str = "auto"
    magnitude: str = "mel"
    init_phase: str = "zero"
    name: str = "tolmeladmm"
    default_iters = 300

    def __post_init__(self):
        super().__post_init__()
        if self.magnitude != "mel":
            raise ParameterError(f"magnitude={self.magnitude!r}: a tolerant method needs magnitude='mel'.")


@dataclass(frozen=True)
class TolerantMelGriffinLim(_Tolerant, MelGriffinLim):
    """``melgl`` towards the noise-aware target; ``tolerance``, ``sharpen``, ``deblur`` and ``unbox`` as
    :class:`TolerantMelADMM`."""

    tolerance: float | str = "auto"
    sharpen: float | str = "auto"
    deblur: float | str = "auto"
    unbox: int | str = "auto"
    name: str = "tolmelgl"
    default_iters = 500
