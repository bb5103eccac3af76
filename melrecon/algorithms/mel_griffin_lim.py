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
chooses what happens to them: ``"free"`` (default: consistency decides; they hold only what the
overlap of neighbouring frames and bins puts there), ``"zero"`` (silence) or ``"estimate"`` (kept at the
magnitude estimate, which is 0 there for NNLS). On speech at the ``hifigan`` preset ``"free"`` measured
best by a small margin (``docs/quality.md``).

Example
-------
>>> import jax, jax.numpy as jnp
>>> from melrecon import MelConfig, transforms
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

from ..config import MelConfig, ParameterError
from ..filters import mel_filterbank, mel_filterbank_pinv
from ..losses import relative_error
from ..transforms import _mel_from_magnitude, project_consistent
from .base import Algorithm, Problem, initial_spectrogram, phase_of

__all__ = ["MelGriffinLim", "mel_projection", "OUTSIDE"]

OUTSIDE = ("zero", "free", "estimate")


def _uncovered(config: MelConfig) -> np.ndarray:
    """Boolean (n_freq, 1): bins that no Mel band weights."""
    return (np.asarray(mel_filterbank(config)).sum(axis=0) <= 0)[:, None]


def mel_projection(spec: jax.Array, problem: Problem, config: MelConfig, outside: str = "free") -> jax.Array:
    """``P_M``: the nearest magnitude (in ``|X|^power``) whose Mel spectrogram is the target, with the
    phase of ``spec`` kept. ``spec``: complex (..., n_freq, frames); returns the same shape."""
    fb = jnp.asarray(mel_filterbank(config))
    pinv = jnp.asarray(mel_filterbank_pinv(config))
    power = config.power
    mag = jnp.abs(spec)
    m = mag if power == 1.0 else mag ** power
    m = jnp.maximum(m + pinv @ (problem.mel - fb @ m), 0.0)
    new = m if power == 1.0 else m ** (1.0 / power)
    uncovered = jnp.asarray(_uncovered(config))
    if outside == "zero":
        new = jnp.where(uncovered, 0.0, new)
    elif outside == "estimate":
        new = jnp.where(uncovered, problem.magnitude, new)
    else:  # "free": the affine step leaves them as they are
        new = jnp.where(uncovered, mag, new)
    return new * phase_of(spec)


class MelGriffinLimState(NamedTuple):
    c: jax.Array
    t_prev: jax.Array


@dataclass(frozen=True)
class MelGriffinLim(Algorithm):
    """Fast Griffin-Lim between the Mel-constraint set and the consistent STFTs (module docstring).

    Parameters
    ----------
    alpha : float
        Momentum (0: plain alternating projections; 0.99 as fast Griffin-Lim).
    outside : {"zero", "free", "estimate"}
        What the bins outside every Mel band become.
    init_phase : {"random", "zero"}
        Phase of the magnitude estimate when it starts on its own.
    """

    alpha: float = 0.99
    outside: str = "free"
    init_phase: str = "random"
    name: str = "melgl"

    family = "projection"
    default_iters = 500

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.alpha, (int, float)) or self.alpha != self.alpha or self.alpha < 0:
            raise ParameterError(f"alpha={self.alpha!r} must be a number >= 0 (e.g. 0.99).")
        if self.outside not in OUTSIDE:
            raise ParameterError(f"outside={self.outside!r} must be one of {OUTSIDE}.")

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        c = initial_spectrogram(problem, key, spec, self.init_phase)
        return MelGriffinLimState(c=c, t_prev=c)

    def step(self, problem: Problem, config: MelConfig, state: MelGriffinLimState):
        x = mel_projection(state.c, problem, config, self.outside)
        p = project_consistent(x, config, layout=problem.layout)
        terms = {
            "inconsistency": relative_error(x, p),
            "mel_error": relative_error(problem.mel, _mel_from_magnitude(jnp.abs(p), config)),
        }
        c = p + self.alpha * (p - state.t_prev) if self.alpha else p
        return MelGriffinLimState(c=c, t_prev=p), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: MelGriffinLimState) -> jax.Array:
        return state.t_prev
