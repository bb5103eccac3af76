"""ADMM Griffin-Lim (Masuyama, Yatabe, Koizumi, Oikawa & Harada, ICASSP 2019).

Phase retrieval as the feasibility problem "a consistent STFT whose magnitude lies in the set A",
solved with ADMM instead of alternating projections:

    X_n = P_A(Z_{n-1} - U_{n-1}),   Z_n = P_C(X_n + U_{n-1}),   U_n = U_{n-1} + X_n - Z_n

with ``P_C(X) = STFT(iSTFT(X))``. The magnitude set is either the classical one (``magnitude="estimate"``:
exactly the full-band magnitude estimate, as Griffin-Lim) or the Mel-constraint set
(``magnitude="mel"``: every magnitude whose Mel spectrogram is the target,
:func:`~melrecon.algorithms.mel_griffin_lim.mel_projection`). The output is ``iSTFT(Z_n)``, the
consistent iterate.

Example
-------
>>> import jax, jax.numpy as jnp
>>> from melrecon import MelConfig, transforms
>>> from melrecon.algorithms import ADMMGriffinLim, Problem
>>> cfg = MelConfig.preset("seed")
>>> mag = jnp.abs(transforms.stft(jnp.sin(0.05 * jnp.arange(4000.0)), cfg))
>>> prob = Problem(mel=transforms.mel_from_magnitude(mag, cfg), magnitude=mag)
>>> algo = ADMMGriffinLim()
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
from ..losses import relative_error_from_sums, sum_squares
from ..transforms import project_consistent
from .base import Algorithm, Problem, apply_magnitude, initial_spectrogram
from .mel_griffin_lim import OUTSIDE, mel_projection

__all__ = ["ADMMGriffinLim"]

_SETS = ("estimate", "mel")


class ADMMState(NamedTuple):
    z: jax.Array
    u: jax.Array


@dataclass(frozen=True)
class ADMMGriffinLim(Algorithm):
    """ADMM between a magnitude set and the consistent STFTs (module docstring).

    Parameters
    ----------
    magnitude : {"estimate", "mel"}
        The magnitude set: the fixed full-band estimate (ADMM-GLA) or the Mel-constraint set.
    outside : {"free", "zero", "estimate"}
        With ``magnitude="mel"``: what the bins outside every Mel band become.
    init_phase : {"random", "zero"}
    """

    magnitude: str = "estimate"
    outside: str = "free"
    init_phase: str = "random"
    name: str = "admm"

    family = "projection"
    default_iters = 300

    def __post_init__(self):
        super().__post_init__()
        if self.magnitude not in _SETS:
            raise ParameterError(f"magnitude={self.magnitude!r} must be one of {_SETS}.")
        if self.outside not in OUTSIDE:
            raise ParameterError(f"outside={self.outside!r} must be one of {OUTSIDE}.")

    def _project(self, spec, problem, config):
        if self.magnitude == "mel":
            return mel_projection(spec, problem, config, self.outside)
        return apply_magnitude(problem.magnitude, spec)

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        z = initial_spectrogram(problem, key, spec, self.init_phase)
        return ADMMState(z=z, u=jnp.zeros_like(z))

    def step(self, problem: Problem, config: MelConfig, state: ADMMState):
        x = self._project(state.z - state.u, problem, config)
        z = project_consistent(x + state.u, config, layout=problem.layout)
        u = state.u + x - z
        terms = {"inconsistency": relative_error_from_sums(sum_squares(x - z), sum_squares(x))}
        return ADMMState(z=z, u=u), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: ADMMState) -> jax.Array:
        return state.z
