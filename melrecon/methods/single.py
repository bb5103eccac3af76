"""The engine-level inversion of one checked problem: no checks, no planning, no front door.

:class:`Run` holds what every part of one call shares (configuration, built stages, seed, run
settings); :func:`invert_whole` inverts one checked mel with it (magnitude estimate, starting point,
every stage through :func:`melrecon.methods.runner.run_stages`, inverse STFT). Segments, pieces and
padded batches (:mod:`~melrecon.methods.segments`, :mod:`~melrecon.methods.batching`) call it, or the
runner, below :func:`melrecon.reconstruct`, which checked and planned the call once.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..algorithms import Problem
from ..core.config import MelConfig
from ..core.pghi import pghi_phase
from ..core.transforms import istft_compiled, linear_problem
from .registry import Stage
from .result import Reconstruction
from .runner import RunOutput, run_stages

__all__ = ["Run", "invert_whole", "phase_array"]


@dataclasses.dataclass(frozen=True)
class Run:
    """What the parts of one checked call share."""

    cfg: MelConfig
    stages: tuple[Stage, ...]
    name: str
    settings: dict
    seed: int = 0
    init_magnitude: str = "nnls"  # "given": the input is the linear STFT magnitude (melrecon.griffinlim)
    callback: Callable | None = None
    progress: bool = False
    chunk_size: int | None = None
    init_phases: tuple[str, ...] = ()  # starting phases to try, the result of lowest Mel SC kept (one run if empty)
    race: int | None = None  # with init_phases: a start race of this many first-stage steps instead of whole runs
    choice: Any = None  # the resolved Choice (melrecon.methods.resolve) the stages come from

    def replace(self, **changes: Any) -> "Run":
        return dataclasses.replace(self, **changes)

    def run(self, problem: Problem, *, batched: bool, init_spec=None) -> RunOutput:
        """The stages on one problem (or one padded batch), begun by the start race where the run has one."""
        race = (self.init_phases, self.race) if self.init_phases and self.race is not None else None
        return run_stages(problem, self.stages, self.cfg, batched=batched, seed=self.seed, callback=self.callback,
                          progress=self.progress, chunk_size=self.chunk_size, name=self.name, init_spec=init_spec,
                          race=race)


def problem_of(mel_np: np.ndarray, cfg: MelConfig, init_magnitude: str) -> Problem:
    """The linear Mel and its full-band magnitude estimate (from a checked mel: no checks again); with
    ``init_magnitude="given"``, ``mel_np`` is a checked linear STFT magnitude: no Mel."""
    if init_magnitude == "given":
        return Problem(mel=None, magnitude=jnp.asarray(mel_np, jnp.float32))
    mel_lin, magnitude = linear_problem(jnp.asarray(mel_np, jnp.float32), cfg, method=init_magnitude)
    return Problem(mel=mel_lin, magnitude=magnitude)


def _initial_spec(init_arr, problem: Problem):
    """Phases get the estimated magnitude; a complex STFT is used as it is."""
    if init_arr is None:
        return None
    if np.iscomplexobj(init_arr):
        return jnp.asarray(init_arr, jnp.complex64)
    return problem.magnitude * jnp.exp(1j * jnp.asarray(init_arr, jnp.float32))


def invert_whole(mel_np: np.ndarray, run: Run, *, init: np.ndarray | None = None,
                 length: int | None = None) -> Reconstruction:
    """Invert one checked mel ``(..., n_mels, frames)`` whole with ``run``'s stages."""
    cfg = run.cfg
    length = cfg.n_samples(mel_np.shape[-1]) if length is None else length
    problem = problem_of(mel_np, cfg, run.init_magnitude)
    out = run.run(problem, batched=False, init_spec=_initial_spec(init, problem))
    audio = np.asarray(jax.device_get(istft_compiled(out.best_spec, cfg, length=length)), np.float32)
    return Reconstruction.from_run(out, audio, config=cfg, method=run.name, settings=run.settings)


def phase_array(stages: Sequence[Stage], cfg: MelConfig, n_frames: int, seed: int,
                magnitude: Callable[[], Any] | None = None) -> np.ndarray:
    """Phases ``(n_freq, n_frames)`` for fresh frames: what the first stage starts from itself (zero, PGHI of
    the magnitude estimate ``magnitude()`` returns, or uniform random from ``seed``)."""
    start = getattr(stages[0].algorithm, "init_phase", "random")
    if start == "zero":
        return np.zeros((cfg.n_freq, n_frames), np.float32)
    if start == "pghi" and magnitude is not None:
        return np.array(pghi_phase(magnitude(), cfg), np.float32)
    rng = np.random.default_rng(seed)
    return rng.uniform(-np.pi, np.pi, (cfg.n_freq, n_frames)).astype(np.float32)
