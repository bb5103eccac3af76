"""The Griffin-Lim family: GLA, fast GLA (FGLA) and accelerated GLA (AGLA) as one pure step.

With P2 the magnitude projection (target magnitude, current phase) and P1 the consistency projection
``STFT(iSTFT(.))``:

* GLA (Griffin & Lim 1984): ``c_n = P1(P2(c_{n-1}))``.
* FGLA (Perraudin, Balazs & Sondergaard 2013): ``t_n = P1(P2(c_{n-1}))``,
  ``c_n = t_n + alpha (t_n - t_{n-1})``.
* AGLA (Nenov et al. 2023): ``t_n = (1 - gamma) d_{n-1} + gamma P1(P2(c_{n-1}))``,
  ``c_n = t_n + alpha (t_n - t_{n-1})``, ``d_n = t_n + beta (t_n - t_{n-1})``.

GLA is AGLA with alpha = 0, gamma = 1; FGLA is AGLA with gamma = 1. The output is ``iSTFT(P2(c_n))``.

Example
-------
>>> import jax, jax.numpy as jnp
>>> from melrecon import MelConfig
>>> from melrecon.core import transforms
>>> from melrecon.algorithms import fgla, Problem
>>> cfg = MelConfig.preset("seed")
>>> x = jnp.sin(0.05 * jnp.arange(4000.0))
>>> mag = jnp.abs(transforms.stft(x, cfg))
>>> prob = Problem(mel=transforms.mel_from_magnitude(mag, cfg), magnitude=mag)
>>> algo = fgla(alpha=0.99)
>>> state = algo.init(prob, cfg, jax.random.key(0))
>>> state, terms = jax.jit(algo.step, static_argnums=1)(prob, cfg, state)
>>> sorted(terms)
['inconsistency']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..core.config import MelConfig, ParameterError
from ..core.losses import relative_error_from_sums
from ..core.transforms import project_consistent_tm
from .base import Algorithm, Problem, initial_spectrogram, written_after

__all__ = ["GriffinLim", "GriffinLimState", "gla", "fgla", "agla", "MOMENTUM_STARTS"]

#: What the first momentum step extrapolates from (:class:`GriffinLim`'s ``momentum_start``).
MOMENTUM_STARTS = ("iterate", "zero")

class GriffinLimState(NamedTuple):
    """Iterates in time-major layout ``(..., frames, n_fft // 2 + 1)`` (the FFT axis last, so no
    transposes inside the loop); :meth:`GriffinLim.spectrogram` returns the usual ``(..., F, frames)``."""

    c: jax.Array  # the iterate whose phase the next step uses
    t_prev: jax.Array  # t_{n-1} (momentum)
    d: jax.Array  # d_{n-1} (AGLA's second sequence; unused by GLA/FGLA)
    magnitude: jax.Array  # the target magnitude, time-major
    energy: jax.Array  # ||magnitude||^2 per item (= ||P2(c)||^2)


def with_magnitude(mag_tm: jax.Array, c: jax.Array) -> jax.Array:
    """P2 in real arithmetic: ``mag * c / |c|`` (``mag`` where ``c`` is 0)."""
    sq = jnp.real(c) ** 2 + jnp.imag(c) ** 2
    nonzero = sq > jnp.finfo(jnp.float32).tiny
    gain = mag_tm * jax.lax.rsqrt(jnp.where(nonzero, sq, 1.0))
    return jnp.where(nonzero, c * gain, mag_tm.astype(c.dtype))


@dataclass(frozen=True)
class GriffinLim(Algorithm):
    """Griffin-Lim with momentum and acceleration (see module docstring).

    Parameters
    ----------
    alpha : float
        Momentum of ``c`` (0: plain GLA; 0.99 is librosa's default for fast GL; > 1 is usually unstable).
    beta : float
        Momentum of AGLA's ``d`` sequence (used when ``gamma != 1``).
    gamma : float
        AGLA's relaxation (1 turns AGLA into FGLA).
    init_phase : {"random", "zero", "pghi"}
        Phase of the first iterate when no spectrogram is given.
    momentum_start : {"iterate", "zero"}
        ``t_0``, what the first momentum step extrapolates from: the starting point (``"iterate"``) or 0
        (``"zero"``, as librosa's and torchaudio's ``griffinlim``: the first step is a plain GL step).
    """

    alpha: float = 0.99
    beta: float = 0.99
    gamma: float = 1.0
    init_phase: str = "random"
    momentum_start: str = "iterate"
    name: str = "fgla"

    #: The chunk loop runs two steps per iteration (lets XLA update the momentum buffers in place).
    unroll = 2

    family = "projection"
    default_iters = 200

    def __post_init__(self):
        super().__post_init__()
        for field in ("alpha", "beta", "gamma"):
            v = getattr(self, field)
            if not isinstance(v, (int, float)) or v != v or v < 0:
                raise ParameterError(f"{field}={v!r} must be a number >= 0.")
        if self.momentum_start not in MOMENTUM_STARTS:
            raise ParameterError(f"momentum_start={self.momentum_start!r} must be one of {MOMENTUM_STARTS}.")
        if self.gamma == 0:
            raise ParameterError("gamma=0 would never move the iterate; use gamma > 0 (AGLA: 1.1).")

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        c = jnp.swapaxes(initial_spectrogram(problem, key, spec, self.init_phase, config), -1, -2)
        mag = jnp.swapaxes(problem.magnitude, -1, -2).astype(jnp.float32)
        if problem.layout is not None:
            mag = mag * problem.layout.frame_mask
            c = c * problem.layout.frame_mask
        energy = jnp.sum(mag * mag, axis=(-2, -1))
        # Sequences a variant does not use are kept empty (memory; distinct buffers for donation).
        empty = jnp.zeros(c.shape[:-2] + (0, c.shape[-1]), c.dtype)
        t_prev = (jnp.zeros_like(c) if self.momentum_start == "zero" else c + 0) if self.alpha or self.gamma != 1.0 \
            else empty
        d = c + 0 if self.gamma != 1.0 else empty
        return GriffinLimState(c=c, t_prev=t_prev, d=d, magnitude=mag, energy=energy)

    def step(self, problem: Problem, config: MelConfig, state: GriffinLimState):
        x = with_magnitude(state.magnitude, state.c)
        p = project_consistent_tm(x, config, layout=problem.layout)
        # ||P1(x) - x|| / ||x||: how far the magnitude-constrained estimate is from a real signal's STFT.
        diff = p - x
        err = jnp.sum(jnp.real(diff) ** 2 + jnp.imag(diff) ** 2, axis=(-2, -1))
        terms = {"inconsistency": relative_error_from_sums(err, state.energy)}
        t = p if self.gamma == 1.0 else (1.0 - self.gamma) * state.d + self.gamma * p
        c = (1.0 + self.alpha) * t - self.alpha * state.t_prev if self.alpha else t
        d = t + self.beta * (t - state.t_prev) if self.gamma != 1.0 else state.d
        if self.alpha or self.gamma != 1.0:  # after c and d, the last reads of the old t_prev: written in place
            t_prev = written_after(t, c, d) if self.gamma != 1.0 else written_after(t, c)
        else:
            t_prev = state.t_prev
        return state._replace(c=c, t_prev=t_prev, d=d), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: GriffinLimState) -> jax.Array:
        return jnp.swapaxes(with_magnitude(state.magnitude, state.c), -1, -2)


def gla(*, init_phase: str = "random") -> GriffinLim:
    """Plain Griffin-Lim."""
    return GriffinLim(alpha=0.0, beta=0.0, gamma=1.0, init_phase=init_phase, name="gla")


def fgla(*, alpha: float = 0.99, init_phase: str = "random") -> GriffinLim:
    """Fast Griffin-Lim (momentum ``alpha``)."""
    return GriffinLim(alpha=alpha, beta=0.0, gamma=1.0, init_phase=init_phase, name="fgla")


def agla(*, alpha: float = 0.99, beta: float = 0.99, gamma: float = 1.1, init_phase: str = "random") -> GriffinLim:
    """Accelerated Griffin-Lim (Nenov et al. 2023; diffsptk's defaults)."""
    return GriffinLim(alpha=alpha, beta=beta, gamma=gamma, init_phase=init_phase, name="agla")
