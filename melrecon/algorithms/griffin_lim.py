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
>>> from melrecon import MelConfig, transforms
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

from ..config import MelConfig, ParameterError
from ..losses import project_consistent, sum_squares
from .base import Algorithm, Problem, apply_magnitude, initial_spectrogram

__all__ = ["GriffinLim", "GriffinLimState", "gla", "fgla", "agla"]

_INIT_PHASES = ("random", "zero")


class GriffinLimState(NamedTuple):
    c: jax.Array  # the iterate whose phase the next step uses
    t_prev: jax.Array  # t_{n-1} (momentum)
    d: jax.Array  # d_{n-1} (AGLA's second sequence)


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
    init_phase : {"random", "zero"}
        Phase of the first iterate when no spectrogram is given.
    """

    alpha: float = 0.99
    beta: float = 0.99
    gamma: float = 1.0
    init_phase: str = "random"
    name: str = "fgla"

    def __post_init__(self):
        for field in ("alpha", "beta", "gamma"):
            v = getattr(self, field)
            if not isinstance(v, (int, float)) or v != v or v < 0:
                raise ParameterError(f"{field}={v!r} must be a number >= 0.")
        if self.gamma == 0:
            raise ParameterError("gamma=0 would never move the iterate; use gamma > 0 (AGLA: 1.1).")
        if self.init_phase not in _INIT_PHASES:
            raise ParameterError(f"init_phase={self.init_phase!r} must be one of {_INIT_PHASES}.")

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        c = initial_spectrogram(problem, key, spec, self.init_phase)
        return GriffinLimState(c=c, t_prev=c, d=c)

    def step(self, problem: Problem, config: MelConfig, state: GriffinLimState):
        x = apply_magnitude(problem.magnitude, state.c)
        p = project_consistent(x, config)
        # ||P1(x) - x|| / ||x||: how far the magnitude-constrained estimate is from a real signal's STFT.
        terms = {"inconsistency": jnp.sqrt(sum_squares(p - x) / jnp.maximum(sum_squares(x), 1e-30))}
        t = p if self.gamma == 1.0 else (1.0 - self.gamma) * state.d + self.gamma * p
        diff = t - state.t_prev
        c = t + self.alpha * diff if self.alpha else t
        d = t + self.beta * diff if self.gamma != 1.0 else state.d
        return GriffinLimState(c=c, t_prev=t, d=d), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: GriffinLimState) -> jax.Array:
        return apply_magnitude(problem.magnitude, state.c)


def gla(*, init_phase: str = "random") -> GriffinLim:
    """Plain Griffin-Lim."""
    return GriffinLim(alpha=0.0, beta=0.0, gamma=1.0, init_phase=init_phase, name="gla")


def fgla(*, alpha: float = 0.99, init_phase: str = "random") -> GriffinLim:
    """Fast Griffin-Lim (momentum ``alpha``)."""
    return GriffinLim(alpha=alpha, beta=0.0, gamma=1.0, init_phase=init_phase, name="fgla")


def agla(*, alpha: float = 0.99, beta: float = 0.99, gamma: float = 1.1, init_phase: str = "random") -> GriffinLim:
    """Accelerated Griffin-Lim (Nenov et al. 2023; diffsptk's defaults)."""
    return GriffinLim(alpha=alpha, beta=beta, gamma=gamma, init_phase=init_phase, name="agla")
