"""Pure loss terms over STFTs and Mel spectrograms.

Every function takes arrays with leading batch dimensions and returns one value per batch item
(shape ``(...)``): the sums run over the last two axes (frequency, frames).  They are jittable and
differentiable; the config is a static Python value.

Terms:

* :func:`relative_error`: ``||estimate - reference|| / ||reference||`` (spectral convergence).
* :func:`stft_inconsistency`: ``||STFT(iSTFT(X)) - X|| / ||X||``, zero exactly for the STFT of a signal.
* :func:`mel_error`: distance between ``mel(|X|)`` and a target linear Mel spectrogram, as
  ``"linear"`` (squared error relative to the target's energy), ``"log"`` (mean squared difference of
  ``log(mel + eps)``) or ``"sc"`` (spectral convergence ``||mel - M|| / ||M||``).
* :func:`seed_loss`: the original experiment's objective, consistency plus Mel error, with weights.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .config import MelConfig, ParameterError, get_config
from .transforms import magnitude, mel_from_magnitude_kernel, project_consistent

__all__ = [
    "sum_squares",
    "project_consistent",
    "energy_ratio",
    "relative_error",
    "relative_error_from_sums",
    "stft_inconsistency",
    "mel_error",
    "seed_loss",
    "MEL_LOSSES",
]

MEL_LOSSES = ("linear", "log", "sc")
_LOG_EPS = 1e-5


def sum_squares(x: jax.Array) -> jax.Array:
    """Sum of ``|x|^2`` over the last two axes."""
    if jnp.iscomplexobj(x):
        sq = jnp.real(x) ** 2 + jnp.imag(x) ** 2
    else:
        sq = x * x
    return jnp.sum(sq, axis=(-2, -1))


# Smallest denominator of a relative error. A target with (almost) no energy (silence) makes the ratio an
# absolute error: dividing by ~1e-38 instead overflows the gradient (1 / den^2 is inf in float32, and
# inf * 0 = NaN). 1e-18 keeps 1 / den^2 finite.
_MIN_ENERGY = 1e-18


def energy_ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    """``num / den`` for energies, with the denominator floored at ``1e-18`` (a silent reference)."""
    return num / jnp.maximum(den, _MIN_ENERGY)


def _safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(x)`` whose gradient is 0 (not inf, hence NaN downstream) where ``x`` is 0."""
    pos = x > 0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, x, 1.0)), 0.0)


def relative_error_from_sums(error_energy: jax.Array, reference_energy: jax.Array) -> jax.Array:
    """``sqrt(error_energy / reference_energy)``, the one relative-error formula of the package: safe at a
    silent reference (the denominator is at least ``1e-18``) and with a finite gradient at zero error."""
    return _safe_sqrt(energy_ratio(error_energy, reference_energy))


def relative_error(reference: jax.Array, estimate: jax.Array) -> jax.Array:
    """``||estimate - reference|| / ||reference||`` over the last two axes (the spectral convergence of
    two spectrograms; :func:`melrecon.apps.metrics.spectral_convergence` measures it between two signals,
    with the same argument order)."""
    return relative_error_from_sums(sum_squares(estimate - reference), sum_squares(reference))


def stft_inconsistency(spec: jax.Array, config: MelConfig, *, relative: bool = True) -> jax.Array:
    """``||STFT(iSTFT(X)) - X||`` (divided by ``||X||`` when ``relative``)."""
    err = sum_squares(project_consistent(spec, config) - spec)
    return relative_error_from_sums(err, sum_squares(spec)) if relative else _safe_sqrt(err)


def mel_error(mag: jax.Array, target_mel: jax.Array, config: MelConfig, *, kind: str = "linear") -> jax.Array:
    """Distance between the Mel spectrogram of magnitude ``mag`` and a linear target Mel ``target_mel``.

    Parameters
    ----------
    mag : array (..., n_fft // 2 + 1, frames)
        STFT magnitude (not raised to the config's power; this function does that).
    target_mel : array (..., n_mels, frames)
        Linear (uncompressed) Mel spectrogram, in the config's power.
    kind : {"linear", "log", "sc"}
        ``"linear"``: ``||mel - M||^2 / ||M||^2``; ``"log"``: mean of ``(log(mel + e) - log(M + e))^2``
        with ``e = 1e-5 * max(M)``; ``"sc"``: ``||mel - M|| / ||M||``.
    """
    if kind not in MEL_LOSSES:
        raise ParameterError(f"mel_loss={kind!r} is not supported; choose one of {MEL_LOSSES}.")
    mel = mel_from_magnitude_kernel(mag, get_config(config))
    if kind == "log":
        eps = _LOG_EPS * jnp.max(target_mel, axis=(-2, -1), keepdims=True) + jnp.finfo(jnp.float32).tiny
        d = jnp.log(mel + eps) - jnp.log(target_mel + eps)
        return jnp.mean(d * d, axis=(-2, -1))
    ratio = energy_ratio(sum_squares(mel - target_mel), sum_squares(target_mel))
    return ratio if kind == "linear" else _safe_sqrt(ratio)


def seed_loss(spec: jax.Array, target_mel: jax.Array, config: MelConfig, *, consistency_weight: float = 1.0,
              mel_weight: float = 1.0, mel_loss: str = "linear") -> jax.Array:
    """The original objective: ``wc * ||P1(X) - X||^2 / ||X||^2 + wm * mel_error(|X|, M)``.

    (:class:`~melrecon.algorithms.STFTGradientDescent` divides by the fixed target energy instead, so
    that inflating ``X`` is never rewarded.)
    """
    cons = stft_inconsistency(spec, config) ** 2
    return consistency_weight * cons + mel_weight * mel_error(magnitude(spec), target_mel, config, kind=mel_loss)
