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
>>> from melrecon import MelConfig
>>> from melrecon.core import transforms
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

from ..core.config import MelConfig, ParameterError
from ..core.transforms import project_consistent_tm
from .base import Algorithm, Problem, initial_spectrogram, written_after
from .griffin_lim import with_magnitude
from .mel_griffin_lim import MelTarget, check_mel_options, mel_projection_tm, mel_target, norm_ratio

__all__ = ["ADMMGriffinLim"]

_SETS = ("estimate", "mel")


class ADMMState(NamedTuple):
    """Time-major iterates ``(..., frames, n_freq)`` and the run's constant target."""

    z: jax.Array
    u: jax.Array
    target: MelTarget  # magnitude="mel": the Mel target; "estimate": its ``estimate`` is the magnitude


@dataclass(frozen=True)
class ADMMGriffinLim(Algorithm):
    """ADMM between a magnitude set and the consistent STFTs (module docstring).

    Parameters
    ----------
    magnitude : {"estimate", "mel"}
        The magnitude set: the fixed full-band estimate (ADMM-GLA) or the Mel-constraint set.
    outside : {"free", "zero", "estimate", "extend"}
        With ``magnitude="mel"``: what the bins outside every Mel band become.
    init_phase : {"random", "zero", "pghi"}
    metric : {"auto", "euclidean", "relative"}
        With ``magnitude="mel"``: the metric of the Mel-constraint projection
        (:func:`~melrecon.algorithms.mel_griffin_lim.mel_projection_tm`).
    """

    magnitude: str = "estimate"
    outside: str = "free"
    init_phase: str = "random"
    metric: str = "auto"
    name: str = "admm"

    family = "projection"
    default_iters = 300

    def __post_init__(self):
        super().__post_init__()
        if self.magnitude not in _SETS:
            raise ParameterError(f"magnitude={self.magnitude!r} must be one of {_SETS}.")
        check_mel_options(self.outside, self.metric)

    def _project(self, spec_tm, target: MelTarget, config):
        if self.magnitude == "mel":
            return mel_projection_tm(spec_tm, target, config, self.outside, self.metric)
        return with_magnitude(target.estimate, spec_tm)

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        z = jnp.swapaxes(initial_spectrogram(problem, key, spec, self.init_phase, config), -1, -2)
        if problem.layout is not None:
            z = z * problem.layout.frame_mask
        target = mel_target(problem, config, "estimate" if self.magnitude == "estimate" else self.outside)
        return ADMMState(z=z, u=jnp.zeros_like(z), target=target)

    def step(self, problem: Problem, config: MelConfig, state: ADMMState):
        x = self._project(state.z - state.u, state.target, config)
        w = x + state.u  # P_C reads w; u_n = w - z_n (= u + x - z_n)
        z = project_consistent_tm(w, config, layout=problem.layout)
        x = w - state.u  # the terms read stored arrays (x itself is not written out)
        terms = {"inconsistency": norm_ratio(x - z, x)}
        # after the terms, the last read of the old u: u is written in place
        return state._replace(z=z, u=written_after(w - z, terms["inconsistency"])), terms

    def spectrogram(self, problem: Problem, config: MelConfig, state: ADMMState) -> jax.Array:
        return jnp.swapaxes(state.z, -1, -2)
