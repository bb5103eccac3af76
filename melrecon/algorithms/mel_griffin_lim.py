"""Griffin-Lim whose magnitude set is the Mel constraint itself (Mel-consistent GLA).

Plain Griffin-Lim fixes the magnitude to one estimate ``A`` of the full-band STFT magnitude (e.g. the
non-negative least-squares solution), which the Mel spectrogram does not determine: inside each Mel
band any distribution of energy with the right weighted sum is equally valid, and the estimate's
smooth, harmonic-free guess is wrong. Here the magnitude projection ``P_A`` is replaced by the
projection onto the set of magnitudes *whose Mel spectrogram is the target*,

    P_M(X) = m' * phase(X),   m' = max(0, m + F^+ (M - F m))^(1 / power),   m = |X|^power

(``F``: the Mel filterbank, ``F^+`` its pseudo-inverse; the affine projection is exact, the clipping at 0
makes it approximate), so the harmonic fine structure is left to the consistency projection
``P_C(X) = STFT(iSTFT(X))`` to decide. With fast Griffin-Lim's momentum (Perraudin et al. 2013):

    t_n = P_C(P_M(c_{n-1})),   c_n = t_n + alpha (t_n - t_{n-1}).

Bins no Mel band covers (above ``fmax``, below ``fmin``) are not constrained by ``P_M``; ``outside``
chooses what happens to them: ``"free"`` (default: above ``fmax`` consistency decides; they hold only
what the overlap of neighbouring frames and bins puts there), ``"zero"`` (silence), ``"estimate"`` (kept
at the magnitude estimate, which is 0 there for NNLS) or ``"extend"`` (above ``fmax``: the top band's
level, falling by about 48 dB per octave). On speech at the ``hifigan`` preset ``"free"`` measured
best by a small margin (``docs/quality.md``). With ``"free"`` and ``"extend"`` the bins below a
positive ``fmin`` are zero: the toolkit filtered that range out (ESPnet's 80 Hz), and left to
consistency they filled with a low rumble (ESPnet preset, 4 speech clips: PESQ-wb 2.55 free below
fmin, 3.94 zero there).

Example
-------
>>> import jax, jax.numpy as jnp
>>> from melrecon import MelConfig
>>> from melrecon.core import transforms
>>> from melrecon.algorithms import MelGriffinLim, Problem
>>> cfg = MelConfig.preset("seed")
>>> mag = jnp.abs(transforms.stft(jnp.sin(0.05 * jnp.arange(4000.0)), cfg))
>>> prob = Problem(mel=transforms.mel_from_magnitude(mag, cfg), magnitude=mag)
>>> algo = MelGriffinLim()
>>> state = algo.init(prob, cfg, jax.random.key(0))
>>> state, terms = jax.jit(algo.step, static_argnums=1)(prob, cfg, state)
>>> sorted(terms)
['inconsistency', 'mel_error']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..core.config import MelConfig, ParameterError
from ..core.filters import mel_filterbank, mel_filterbank_blocks, mel_gram_pinv
from ..core.transforms import mel_adjoint_tm, mel_tm, project_consistent_tm
from .base import Algorithm, Problem, initial_spectrogram, written_after

__all__ = ["MelGriffinLim", "mel_projection", "mel_projection_tm", "MelTarget", "mel_target", "OUTSIDE", "METRICS"]

OUTSIDE = ("zero", "free", "estimate", "extend")
#: How the Mel-constraint projection measures "nearest" (:func:`mel_projection_tm`).
METRICS = ("auto", "euclidean", "relative")


#: ``outside="extend"``: above ``fmax`` the magnitude falls as ``(fmax / f) ** _ROLLOFF`` from the level of
#: the top Mel band (about -48 dB per octave): close to a full-band source's continuation and close to the
#: silence of a band-limited one (log-spectral distance above fmax, docs/quality.md).
_ROLLOFF = 8.0


def _bin_frequencies(config: MelConfig) -> np.ndarray:
    return np.arange(config.n_freq) * config.sample_rate / config.n_fft


def _extension(config: MelConfig) -> tuple[np.ndarray, np.ndarray]:
    """(weights over bins that average the top Mel band's power, roll-off factor of each bin above fmax)."""
    fb = np.asarray(mel_filterbank(config))
    freqs = _bin_frequencies(config)
    top = fb[-1] > 0
    avg = top / max(int(top.sum()), 1)
    above = _uncovered(config) & (freqs > config.fmax - 1e-6)
    fmax = max(config.fmax, 1e-6)
    rolloff = np.where(above, (fmax / np.maximum(freqs, fmax)) ** _ROLLOFF, 0.0)
    return avg.astype(np.float32), rolloff.astype(np.float32)


def _extend(new: jax.Array, config: MelConfig) -> jax.Array:
    """``new`` (magnitudes, time-major) with the bins above fmax set to the top band's level, rolled off."""
    avg, rolloff = _extension(config)
    level = jnp.sqrt((new * new) @ avg)[..., None]
    return jnp.where(rolloff > 0, level * rolloff, new)


def _below_fmin(config: MelConfig) -> np.ndarray:
    """Boolean (n_freq,): bins below the lowest band's lower edge (none when fmin is 0)."""
    return _uncovered(config) & (_bin_frequencies(config) < config.fmin)


def _uncovered(config: MelConfig) -> np.ndarray:
    """Boolean (n_freq,): bins that no Mel band weights."""
    return np.asarray(mel_filterbank(config)).sum(axis=0) <= 0


class MelTarget(NamedTuple):
    """What the Mel-constraint projection needs, time-major and computed once per run (a pytree)."""

    mel: jax.Array  # (..., frames, n_mels): the linear target Mel spectrogram
    estimate: jax.Array  # (..., frames, n_freq) magnitude estimate (outside="estimate"), else (..., 0, n_freq)


def mel_target(problem: Problem, config: MelConfig, outside: str) -> MelTarget:
    """The problem's target in the layout of :func:`mel_projection_tm`."""
    mel = jnp.swapaxes(problem.mel, -1, -2).astype(jnp.float32)
    if outside == "estimate":
        estimate = jnp.swapaxes(problem.magnitude, -1, -2).astype(jnp.float32)
    else:
        estimate = jnp.zeros(mel.shape[:-2] + (0, config.n_freq), jnp.float32)
    return MelTarget(mel=mel, estimate=estimate)


def _gram_bands(weight: jax.Array, config: MelConfig) -> tuple[jax.Array, jax.Array]:
    """Diagonal ``(..., n_mels)`` and first off-diagonal ``(..., n_mels - 1)`` of ``F diag(weight) F.T``
    per frame (time-major ``weight``), by the filterbank's blocks. Triangular bands overlap only their
    neighbours, so the matrix is tridiagonal."""
    n_mels, lead = config.n_mels, weight.shape[:-1]
    diag = jnp.zeros((*lead, n_mels), weight.dtype)
    off = jnp.zeros((*lead, max(n_mels - 1, 0)), weight.dtype)
    for k0, k1, b0, b1, w in mel_filterbank_blocks(config):
        part = weight[..., k0:k1]
        diag = diag.at[..., b0:b1].add(part @ (w * w).T)
        if b1 - b0 > 1:
            off = off.at[..., b0:b1 - 1].add(part @ (w[:-1] * w[1:]).T)
    return diag, off


def _weighted_correction(m: jax.Array, resid: jax.Array, config: MelConfig) -> jax.Array:
    """``W F.T (F W F.T)^-1 resid`` with ``W = diag(m + delta)``: the smallest change of ``m`` in the metric
    weighted by ``1 / (m + delta)`` that adds ``resid`` to its Mel spectrogram. It scales each bin's
    correction with its value, so peaks and valleys keep their shape (the unweighted correction spreads
    evenly over a band, filling valleys or clipping them to zero)."""
    # the solution does not depend on the weights' scale: normalised per frame (a silent frame gets the
    # uniform weight, i.e. the Euclidean projection), the tridiagonal system stays well inside float32
    weight = m / (jnp.mean(m, axis=-1, keepdims=True) + jnp.finfo(jnp.float32).tiny) + _RELATIVE_DELTA
    diag, off = _gram_bands(weight, config)
    zero = jnp.zeros(off.shape[:-1] + (1,), off.dtype)
    lam = jax.lax.linalg.tridiagonal_solve(jnp.concatenate([zero, off], -1), diag * (1.0 + 1e-6),
                                           jnp.concatenate([off, zero], -1), resid[..., None])[..., 0]
    return weight * mel_adjoint_tm(lam, config)


def check_mel_options(outside, metric) -> None:
    """The one check of the Mel-constraint options ``outside`` and ``metric`` (both methods call it)."""
    if outside not in OUTSIDE:
        raise ParameterError(f"outside={outside!r} must be one of {OUTSIDE}.")
    if metric not in METRICS:
        raise ParameterError(f"metric={metric!r} must be one of {METRICS}.")


#: ``delta`` of the relative metric, as a fraction of the frame's mean value (keeps empty bands solvable).
_RELATIVE_DELTA = 1e-3


def _powers(spec: jax.Array, power: float) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(|X|^power, |X| > 0, 1 / |X|)`` of a complex ``X`` (elementwise; ``1 / |X|`` is 1 where ``X = 0``).
    Power 2 from ``re^2 + im^2``; otherwise from XLA's complex ``abs``, whose pass XLA fuses and vectorises
    better than ``rsqrt(re^2 + im^2)`` (measured at power 1; at power 2 the squares were faster)."""
    if power == 2.0:
        sq = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
        nonzero = sq > jnp.finfo(jnp.float32).tiny
        return sq, nonzero, jax.lax.rsqrt(jnp.where(nonzero, sq, 1.0))
    mag = jnp.abs(spec)
    nonzero = mag > 0
    inv = 1.0 / jnp.where(nonzero, mag, 1.0)
    return (mag if power == 1.0 else mag ** power), nonzero, inv


def mel_of_spectrogram(spec_tm: jax.Array, config: MelConfig) -> jax.Array:
    """The Mel spectrogram ``(..., frames, n_mels)`` of ``|spec_tm|^power`` (time-major complex STFT), by
    the filterbank's blocks, each block's magnitudes computed from its own bins of ``spec_tm``: no
    full-size magnitude array is written (one read of the covered bins, then the small products)."""
    lead, n_mels, out = spec_tm.shape[:-1], config.n_mels, None
    for k0, k1, b0, b1, w in mel_filterbank_blocks(config):
        m = _powers(spec_tm[..., k0:k1], config.power)[0]
        part = jnp.pad(m @ w.T, [(0, 0)] * len(lead) + [(b0, n_mels - b1)])
        out = part if out is None else out + part
    return jnp.zeros((*lead, n_mels), jnp.float32) if out is None else out


def mel_projection_tm(spec_tm: jax.Array, target: MelTarget, config: MelConfig, outside: str = "free",
                      metric: str = "euclidean") -> jax.Array:
    """``P_M`` on a time-major STFT ``(..., frames, n_freq)``: the nearest magnitude (in ``|X|^power``)
    whose Mel spectrogram is ``target.mel``, with the phase of ``spec_tm`` kept.

    ``metric="euclidean"``: ``pinv(F) r`` is computed as ``F.T (pinv(F F.T) r)``: the Mel product by
    blocks read straight from ``spec_tm`` (:func:`mel_of_spectrogram`), one small ``(n_mels, n_mels)``
    product, and ``F.T`` by blocks (:func:`~melrecon.core.transforms.mel_adjoint_tm`); the phase factor is
    applied in real arithmetic (``X * m' / |X|``).
    ``metric="relative"``: nearest in the metric weighted by the inverse of the current value
    (:func:`_weighted_correction`, one tridiagonal solve per frame), which keeps the harmonic fine structure
    (power-2 Mel spectrograms at a large FFT need it: ``docs/quality.md``). ``metric="auto"``: relative
    for power-2 Mel spectrograms, Euclidean otherwise (where both measured alike and Euclidean is cheaper).
    """
    power = config.power
    m, nonzero, inv = _powers(spec_tm, power)
    if metric == "relative" or (metric == "auto" and power == 2.0):
        step = _weighted_correction(m, target.mel - mel_tm(m, config), config)
    else:
        step = mel_adjoint_tm((target.mel - mel_of_spectrogram(spec_tm, config)) @ mel_gram_pinv(config), config)
    m = jnp.maximum(m + step, 0.0)  # uncovered bins: + 0 ("free" keeps them)
    new = m if power == 1.0 else (jnp.sqrt(m) if power == 2.0 else m ** (1.0 / power))
    if outside == "zero":
        new = jnp.where(_uncovered(config), 0.0, new)
    elif outside == "estimate":
        new = jnp.where(_uncovered(config), target.estimate, new)
    elif outside == "extend":
        new = _extend(new, config)
    if outside in ("free", "extend") and config.fmin > 0:
        new = jnp.where(_below_fmin(config), 0.0, new)  # what the toolkit filtered out stays out
    return jnp.where(nonzero, spec_tm * (new * inv), new.astype(spec_tm.dtype))


def mel_projection(spec: jax.Array, problem: Problem, config: MelConfig, outside: str = "free",
                   metric: str = "euclidean") -> jax.Array:
    """``P_M`` on a ``(..., n_freq, frames)`` STFT (see :func:`mel_projection_tm`); same shape out."""
    spec_tm = jnp.swapaxes(spec, -1, -2)
    out = mel_projection_tm(spec_tm, mel_target(problem, config, outside), config, outside, metric)
    return jnp.swapaxes(out, -1, -2)


def norm_ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    """``||num|| / ||den||`` per item, over the last two axes, for the per-step terms (not differentiated):
    both sums in one reduction, which XLA fuses with the elementwise work (one read of the inputs, no
    array written)."""
    sq = lambda v: jnp.real(v) ** 2 + jnp.imag(v) ** 2 if jnp.iscomplexobj(v) else v * v  # noqa: E731
    n, d = jax.lax.reduce((sq(num), sq(den)), (jnp.float32(0), jnp.float32(0)),
                          lambda a, b: (a[0] + b[0], a[1] + b[1]), (num.ndim - 2, num.ndim - 1))
    return jnp.sqrt(n / jnp.maximum(d, 1e-30))


class MelGriffinLimState(NamedTuple):
    """Time-major iterates ``(..., frames, n_freq)`` and the run's constant target."""

    c: jax.Array
    t_prev: jax.Array
    target: MelTarget


@dataclass(frozen=True)
class MelGriffinLim(Algorithm):
    """Fast Griffin-Lim between the Mel-constraint set and the consistent STFTs (module docstring).

    Parameters
    ----------
    alpha : float
        Momentum (0: plain alternating projections; 0.99 as fast Griffin-Lim).
    outside : {"zero", "free", "estimate", "extend"}
        What the bins outside every Mel band become ("extend": above fmax, the top band's level rolled off;
        "free" and "extend" keep the bins below a positive fmin at zero).
    init_phase : {"random", "zero", "pghi"}
        Phase of the magnitude estimate when it starts on its own.
    metric : {"auto", "euclidean", "relative"}
        The metric of the Mel-constraint projection (:func:`mel_projection_tm`; "auto": relative for
        power-2 Mel spectrograms).
    """

    alpha: float = 0.99
    outside: str = "free"
    init_phase: str = "random"
    metric: str = "auto"
    name: str = "melgl"

    family = "projection"
    default_iters = 500

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.alpha, (int, float)) or self.alpha != self.alpha or self.alpha < 0:
            raise ParameterError(f"alpha={self.alpha!r} must be a number >= 0 (e.g. 0.99).")
        check_mel_options(self.outside, self.metric)

    #: The chunk loop runs two steps per iteration (the momentum buffer is then updated in place).
    unroll = 2

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        c = jnp.swapaxes(initial_spectrogram(problem, key, spec, self.init_phase, config), -1, -2)
        if problem.layout is not None:
            c = c * problem.layout.frame_mask
        return MelGriffinLimState(c=c, t_prev=c + 0, target=mel_target(problem, config, self.outside))

    def step(self, problem: Problem, config: MelConfig, state: MelGriffinLimState):
        x = mel_projection_tm(state.c, state.target, config, self.outside, self.metric)
        p = project_consistent_tm(x, config, layout=problem.layout)
        mel_p = mel_of_spectrogram(p, config)
        terms = {"inconsistency": norm_ratio(p - x, x),
                 "mel_error": norm_ratio(mel_p - state.target.mel, state.target.mel)}
        if self.alpha:
            c = (1.0 + self.alpha) * p - self.alpha * state.t_prev
            p = written_after(p, c)  # after c, the last read of the old t_prev: written in place
        else:
            c = p
        return state._replace(c=c, t_prev=p), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: MelGriffinLimState) -> jax.Array:
        return jnp.swapaxes(state.t_prev, -1, -2)
