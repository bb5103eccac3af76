"""Gradient descent with any optax optimizer: on the STFT (the original method) or on the waveform.

:class:`STFTGradientDescent` (the seed's method)
    Parameters are the STFT's magnitude and phase, ``X = s * m * exp(i phi)`` (``s``: the target
    magnitude's RMS, so ``m`` is of order 1 whatever the level). The loss is
    ``wc * ||P1(X) - X||^2 / ||A||^2 + wm * mel_error(|X|, M)`` (``A``: the target magnitude estimate): STFT
    consistency plus Mel error. The output is ``iSTFT(X)``.
:class:`WaveformGradientDescent`
    Parameters are the samples themselves; the loss is the Mel error of their STFT (consistent by
    construction). With ``optimizer="lbfgs"`` this is L-BFGS with a zoom (strong-Wolfe) line search.

Example
-------
>>> import jax, jax.numpy as jnp
>>> from melrecon import MelConfig
>>> from melrecon.core import transforms
>>> from melrecon.algorithms import Problem, STFTGradientDescent
>>> cfg = MelConfig.preset("seed")
>>> mag = jnp.abs(transforms.stft(jnp.sin(0.05 * jnp.arange(4000.0)), cfg))
>>> prob = Problem(mel=transforms.mel_from_magnitude(mag, cfg), magnitude=mag)
>>> gd = STFTGradientDescent(optimizer="adam", learning_rate=1e-2)
>>> state = gd.init(prob, cfg, jax.random.key(0))
>>> state, terms = jax.jit(gd.step, static_argnums=1)(prob, cfg, state)
>>> sorted(terms)
['inconsistency', 'loss', 'mel_error']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from ..core.config import MelConfig, ParameterError
from ..core.losses import MEL_LOSSES, energy_ratio, mel_error, sum_squares
from ..core.transforms import (
    istft_kernel,
    magnitude,
    mel_from_magnitude_kernel,
    project_consistent,
    stft_kernel,
    window,
)
from .base import Algorithm, Problem, initial_spectrogram, valid_mean

__all__ = ["OptaxDescent", "STFTGradientDescent", "WaveformGradientDescent", "make_optimizer", "OPTIMIZERS"]

OPTIMIZERS = ("adam", "adamw", "nadam", "rmsprop", "sgd", "lbfgs")
#: History size of the "lbfgs" optimizer.
LBFGS_MEMORY = 100


def _is_transformation(optimizer: Any) -> bool:
    return not isinstance(optimizer, str) and isinstance(optimizer, optax.GradientTransformation)


def make_optimizer(optimizer: Any, learning_rate: float | None) -> optax.GradientTransformation:
    """An optax transformation from a name in :data:`OPTIMIZERS` or an optax instance (returned as is)."""
    if _is_transformation(optimizer):
        return optimizer
    if optimizer == "lbfgs":
        # History 100 and a zoom (strong-Wolfe) line search: the L-BFGS of Decorsiere et al. (2015).
        return optax.lbfgs(learning_rate=learning_rate, memory_size=LBFGS_MEMORY)
    if optimizer == "sgd":
        return optax.sgd(learning_rate, momentum=0.9)
    if optimizer in OPTIMIZERS:
        return getattr(optax, optimizer)(learning_rate)
    raise ParameterError(
        f"optimizer={optimizer!r} is not supported; choose one of {OPTIMIZERS} or pass an optax "
        f"GradientTransformation."
    )


def _descend(opt, loss_fn, params, opt_state, batch_shape):
    """One optax update of ``params``; returns (params, opt_state, terms).

    ``loss_fn(params) -> (scalar, terms)``. Optimizers with a line search (their state stores the value
    and gradient at the current point) reuse those; their per-step terms are then the total loss only.
    """
    scalar_loss = lambda p: loss_fn(p)[0]  # noqa: E731
    if optax.tree.get(opt_state, "value") is not None:
        value, grad = optax.value_and_grad_from_state(scalar_loss)(params, state=opt_state)
        terms = {"loss": jnp.broadcast_to(value, batch_shape)}
    else:
        (value, terms), grad = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = opt.update(grad, opt_state, params, value=value, grad=grad, value_fn=scalar_loss)
    return optax.apply_updates(params, updates), opt_state, terms


class GradientState(NamedTuple):
    params: Any
    opt_state: Any
    scale: jax.Array


class OptaxDescent(Algorithm):
    """What the gradient methods share: an optax optimizer on parameters, one update per step.

    Subclasses are frozen dataclasses with the fields ``optimizer``, ``learning_rate`` and ``mel_loss``,
    and define ``_start(problem, config, key, spec) -> (params, scale)``,
    ``_loss(problem, config, scale) -> loss_fn`` (``params -> (scalar, terms)``) and ``spectrogram``.
    """

    family = "gradient"
    default_iters = 500

    def __post_init__(self):
        super().__post_init__()
        named = isinstance(self.optimizer, str) and self.optimizer in OPTIMIZERS
        if not (named or _is_transformation(self.optimizer)):
            make_optimizer(self.optimizer, self.learning_rate)  # raises the message
        if self.learning_rate is not None:
            lr = self.learning_rate
            if not isinstance(lr, (int, float)) or not lr > 0 or lr != lr or lr == float("inf"):
                raise ParameterError(f"learning_rate={lr!r} must be a finite number > 0 (e.g. 1e-2).")
        elif self.optimizer != "lbfgs" and not _is_transformation(self.optimizer):
            raise ParameterError("learning_rate=None is only allowed with optimizer='lbfgs' (line search).")
        if self.mel_loss not in MEL_LOSSES:
            raise ParameterError(f"mel_loss={self.mel_loss!r} is not supported; choose one of {MEL_LOSSES}.")

    def takes(self, option: str, options: dict[str, Any] | None = None) -> bool:
        """As :meth:`Algorithm.takes`; a method whose own optimizer is ``"lbfgs"`` (its line search sets the
        step) takes ``learning_rate`` only together with another ``optimizer``."""
        if option == "learning_rate" and (options or {}).get("optimizer") is None:
            return not (isinstance(self.optimizer, str) and self.optimizer == "lbfgs")
        return super().takes(option, options)

    def _optimizer(self) -> optax.GradientTransformation:
        return make_optimizer(self.optimizer, self.learning_rate)

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None):
        params, scale = self._start(problem, config, key, spec)
        return GradientState(params=params, opt_state=self._optimizer().init(params), scale=scale)

    def step(self, problem: Problem, config: MelConfig, state: GradientState):
        loss_fn = self._loss(problem, config, state.scale)
        params, opt_state, terms = _descend(self._optimizer(), loss_fn, state.params, state.opt_state,
                                            problem.mel.shape[:-2])
        return GradientState(params, opt_state, state.scale), terms


@dataclass(frozen=True)
class STFTGradientDescent(OptaxDescent):
    """The seed's gradient descent over the STFT's magnitude and phase.

    Parameters
    ----------
    optimizer : str or optax.GradientTransformation
        A name from :data:`OPTIMIZERS` (default Adam) or any optax transformation.
    learning_rate : float
        Step size in units of the target's RMS magnitude (magnitude) and radians (phase).
    consistency_weight, mel_weight : float
        Weights of the two loss terms.
    mel_loss : {"linear", "log", "sc"}
        How the Mel error is measured (:func:`melrecon.core.losses.mel_error`).
    init_phase : {"random", "zero", "pghi"}
        Phase when it starts on its own (in a pipeline it starts from the previous stage's STFT).
    """

    optimizer: Any = "adam"
    learning_rate: float | None = 1e-2
    consistency_weight: float = 1.0
    mel_weight: float = 1.0
    mel_loss: str = "linear"
    init_phase: str = "random"
    name: str = "gd"

    def __post_init__(self):
        super().__post_init__()
        for f in ("consistency_weight", "mel_weight"):
            v = getattr(self, f)
            if not isinstance(v, (int, float)) or not v >= 0:
                raise ParameterError(f"{f}={v!r} must be a number >= 0.")

    def _loss(self, problem: Problem, config: MelConfig, scale):
        energy = sum_squares(problem.magnitude)

        def loss_fn(params):
            spec = self._spec(params, scale)
            p = project_consistent(spec, config, layout=problem.layout)
            # Relative to the (fixed) target energy: dividing by ||X|| would reward inflating X.
            cons = energy_ratio(sum_squares(p - spec), energy)
            mel = mel_error(scale * jnp.abs(params["mag"]), problem.mel, config, kind=self.mel_loss)
            total = self.consistency_weight * cons + self.mel_weight * mel
            return jnp.sum(total), {"loss": total, "inconsistency": jnp.sqrt(cons), "mel_error": mel}

        return loss_fn

    @staticmethod
    def _spec(params, scale):
        return (scale * params["mag"]) * jnp.exp(1j * params["phase"])

    def _start(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None):
        spec = initial_spectrogram(problem, key, spec, self.init_phase, config)
        scale = jnp.sqrt(valid_mean(problem.magnitude ** 2, problem)) + 1e-12
        return {"mag": jnp.abs(spec) / scale, "phase": jnp.angle(spec)}, scale

    def spectrogram(self, problem: Problem, config: MelConfig, state: GradientState) -> jax.Array:
        return self._spec(state.params, state.scale)


@dataclass(frozen=True)
class WaveformGradientDescent(OptaxDescent):
    """Gradient descent on the samples, minimising the Mel error of their STFT.

    Parameters
    ----------
    optimizer : str or optax.GradientTransformation
        Default ``"lbfgs"`` (L-BFGS with a zoom line search, ``learning_rate=None``); ``"adam"`` etc.
        need a ``learning_rate`` (in units of the estimated signal RMS).
    mel_loss : {"linear", "log", "sc"}
    init_noise : float or None
        When starting on its own: std of the initial white noise, relative to the estimated signal RMS.
        None (default): 1e-3 for a magnitude Mel (``config.power == 1``) and 1 otherwise. With a power-2
        Mel (e.g. ``librosa.feature.melspectrogram``) the Mel of a signal ``s`` grows like ``s**4``, so
        its gradient vanishes like ``s**3`` near silence: a quiet start never moves (Mel SC stays 1).
    exponent : float
        1 (default): the ``mel_loss``. Otherwise the squared error of ``(mel + e) ** exponent`` (power-law
        compressed Mel, ``e = 1e-6 max(M)``) relative to the target's; it measured much worse than the
        linear Mel MSE (``docs/quality.md``) and is kept for that comparison.
    """

    optimizer: Any = "lbfgs"
    learning_rate: float | None = None
    mel_loss: str = "linear"
    init_noise: float | None = None
    exponent: float = 1.0
    name: str = "waveform"

    @property
    def default_iters(self) -> int:
        """200 with L-BFGS (a line search per step), 500 with a first-order optimizer."""
        return 200 if self.optimizer == "lbfgs" else 500

    def __post_init__(self):
        super().__post_init__()
        noise = self.init_noise
        if noise is not None and (isinstance(noise, bool) or not isinstance(noise, (int, float))
                                  or not 0 < noise < float("inf")):
            raise ParameterError(f"init_noise={noise!r} must be a finite number > 0, or None (automatic).")
        e = self.exponent
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 < e < float("inf"):
            raise ParameterError(f"exponent={e!r} must be a finite number > 0 (1: the plain Mel loss).")

    def _loss(self, problem: Problem, config: MelConfig, scale):
        def loss_fn(params):
            spec = stft_kernel(scale * params["signal"], config, layout=problem.layout)
            if self.exponent != 1.0:
                mel = mel_from_magnitude_kernel(magnitude(spec), config)
                e = 1e-6 * jnp.max(problem.mel, axis=(-2, -1), keepdims=True)
                a = (mel + e) ** self.exponent
                b = (problem.mel + e) ** self.exponent
                per_item = sum_squares(a - b) / sum_squares(b)
            else:
                per_item = mel_error(magnitude(spec), problem.mel, config, kind=self.mel_loss)
            return jnp.sum(per_item), {"loss": per_item, "mel_error": per_item}

        return loss_fn

    def _start(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None):
        w2 = float((window(config).astype("float64") ** 2).sum())
        scale = jnp.sqrt(valid_mean(problem.magnitude ** 2, problem) / w2)[..., 0] + 1e-12
        n = config.n_samples(problem.mel.shape[-1])
        if spec is not None:
            length = None if problem.layout is not None else n
            signal = istft_kernel(jnp.asarray(spec), config, length=length, layout=problem.layout) / scale
        else:
            signal = self.start_noise(config) * jax.random.normal(key, problem.mel.shape[:-2] + (n,), jnp.float32)
        return {"signal": signal}, scale

    def start_noise(self, config: MelConfig) -> float:
        """The initial noise's std relative to the estimated RMS (``init_noise``, or its default)."""
        if self.init_noise is not None:
            return float(self.init_noise)
        return 1e-3 if config.power == 1 else 1.0

    def spectrogram(self, problem: Problem, config: MelConfig, state: GradientState) -> jax.Array:
        return stft_kernel(state.scale * state.params["signal"], config, layout=problem.layout)
