"""What every reconstruction method shares: the problem it solves and the (init, step) protocol.

A method is a frozen, hashable dataclass (its hyper-parameters are static, so a jitted loop compiles
once per method, config and shape) with three pure functions:

``init(problem, config, key, spec=None) -> state``
    Start from a random (seeded) or given complex STFT ``spec``.
``step(problem, config, state) -> (state, terms)``
    One iteration. ``terms`` maps loss-term names to per-item values (shape ``batch``) evaluated at the
    incoming state; they are stacked into the run's history.
``spectrogram(problem, config, state) -> complex STFT``
    The current estimate, whose inverse STFT is the method's output audio.

:mod:`melrecon.methods.runner` runs ``step`` inside jitted ``fori_loop`` chunks; nothing here knows about files,
progress bars or interrupts. Each method also declares its ``family``, its options and its
``default_iters`` (:class:`Algorithm`), which is all :mod:`melrecon.methods` needs to know about it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from ..core.config import MelConfig, ParameterError
from ..core.pghi import pghi_phase

__all__ = [
    "Problem", "Algorithm", "FAMILIES", "INIT_PHASES", "check_init_phase", "initial_spectrogram", "random_phase",
    "valid_mean", "phase_of", "apply_magnitude", "written_after",
]


class Problem(NamedTuple):
    """The target of a reconstruction (a pytree of arrays).

    Attributes
    ----------
    mel : (..., n_mels, frames)
        Target Mel spectrogram, linear (decompressed), in the config's power.
    magnitude : (..., n_fft // 2 + 1, frames)
        An estimate of the full STFT magnitude behind ``mel`` (e.g. non-negative least squares).
    layout : melrecon.core.transforms.Layout or None
        For items of different lengths padded into one batch: where each item is valid (its padding
        frames are zero in ``mel`` and ``magnitude``, and never leak into its losses or output).
    """

    mel: jax.Array
    magnitude: jax.Array
    layout: Any = None


def valid_mean(x: jax.Array, problem: Problem) -> jax.Array:
    """Mean of ``x`` (..., F, frames) over its last two axes, counting only the item's own frames."""
    if problem.layout is None:
        return jnp.mean(x, axis=(-2, -1), keepdims=True)
    frames = jnp.sum(problem.layout.frame_mask, axis=(-2, -1))[..., None, None]
    return jnp.sum(x, axis=(-2, -1), keepdims=True) / (x.shape[-2] * frames)


def phase_of(spec: jax.Array) -> jax.Array:
    """Unit-modulus phase factor ``spec / |spec|`` (1 where ``spec`` is 0)."""
    mag = jnp.abs(spec)
    return jnp.where(mag > 0, spec / jnp.where(mag > 0, mag, 1.0), 1.0 + 0.0j)


def apply_magnitude(mag: jax.Array, spec: jax.Array) -> jax.Array:
    """Projection P2 of Griffin-Lim: magnitude ``mag`` with the phase of ``spec``."""
    return mag * phase_of(spec)


def written_after(new: jax.Array, *reads: jax.Array) -> jax.Array:
    """``new``, made to depend (times 0) on one element of each of ``reads``. A step's new value of a
    loop-carried buffer computed this way comes after the step's last reads of the old value, so XLA
    writes it over the old buffer in place instead of copying the buffer every step."""
    tie = sum(jnp.real(jnp.ravel(r)[0]) for r in reads)
    return new + 0.0 * tie


def initial_spectrogram(problem: Problem, key: jax.Array, spec: jax.Array | None, init_phase: str,
                        config: MelConfig | None = None) -> jax.Array:
    """The target magnitude with a random (seeded), zero or PGHI phase (:func:`melrecon.core.pghi.pghi_phase`
    of that magnitude; needs ``config``), or ``spec`` when given."""
    if spec is not None:
        return jnp.asarray(spec).astype(jnp.complex64)
    mag = problem.magnitude
    if init_phase == "zero":
        return mag.astype(jnp.complex64)
    if init_phase == "pghi":
        mask = None if problem.layout is None else problem.layout.frame_mask
        return (mag * jnp.exp(1j * pghi_phase(mag, config, frame_mask=mask))).astype(jnp.complex64)
    angles = random_phase(key, mag.shape)
    return (mag * jnp.exp(1j * angles)).astype(jnp.complex64)


def random_phase(key: jax.Array, shape: tuple) -> jax.Array:
    """Uniform phases in [0, 2 pi) of ``shape`` (..., F, frames), frame ``t`` drawn from ``fold_in(key, t)``.

    A frame's phases do not depend on how many frames follow, so an item padded into a longer batch
    starts exactly as it would alone.
    """
    *lead, n_freq, n_frames = shape
    per_frame = jax.vmap(lambda t: jax.random.uniform(jax.random.fold_in(key, t), (*lead, n_freq), jnp.float32,
                                                        0.0, 2.0 * jnp.pi))(jnp.arange(n_frames))
    return jnp.moveaxis(per_frame, 0, -1)


#: Initial phases a method accepts when it starts on its own ("pghi": phase-gradient heuristic integration
#: of the magnitude estimate, :mod:`melrecon.core.pghi`).
INIT_PHASES = ("random", "zero", "pghi")
#: What a method is: "projection" (alternating projections: Griffin-Lim, ADMM, ...) or "gradient" (an
#: optimizer on a loss). Callers (the ``gl_iters`` / ``gd_iters`` split, the workbench) ask this, never a name.
FAMILIES = ("projection", "gradient")


def check_init_phase(value) -> str:
    """The one check of an ``init_phase`` option (every method that has one calls it)."""
    if value not in INIT_PHASES:
        raise ParameterError(f"init_phase={value!r} must be one of {INIT_PHASES}.")
    return value


#: Every subclass of :class:`Algorithm`, in definition order (filled as they are defined).
SUBCLASSES: list = []


class Algorithm:
    """Protocol of a reconstruction method (subclasses are frozen dataclasses).

    A method says what it is on itself: its ``family`` (one of :data:`FAMILIES`), its options (its
    dataclass fields other than ``name``: :meth:`options`) and its ``default_iters``. Subclasses that
    define ``__post_init__`` call ``super().__post_init__()`` (the shared checks, e.g. ``init_phase``).
    """

    name: str = "algorithm"
    family: ClassVar[str] = "projection"
    default_iters: ClassVar[int] = 200

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        SUBCLASSES.append(cls)  # every algorithm class is known without a list to edit

    def __post_init__(self):
        if "init_phase" in self.options():
            check_init_phase(getattr(self, "init_phase"))

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """The option names this method takes (its dataclass fields, ``name`` excluded)."""
        if not dataclasses.is_dataclass(cls):
            return ()
        return tuple(f.name for f in dataclasses.fields(cls) if f.name != "name")

    def takes(self, option: str, options: dict[str, Any] | None = None) -> bool:
        """Whether this method uses ``option`` when given together with ``options`` (default: it is one
        of its :meth:`options`)."""
        return option in self.options()

    def route(self, options: dict[str, Any]) -> dict[str, Any]:
        """The subset of ``options`` (name -> value; None means "not given") that this method takes."""
        return {k: v for k, v in options.items() if v is not None and self.takes(k, options)}

    def with_options(self, options: dict[str, Any]) -> "Algorithm":
        """A copy with the :meth:`route`-d options applied."""
        usable = self.route(options)
        return dataclasses.replace(self, **usable) if usable else self

    def init(self, problem: Problem, config: MelConfig, key: jax.Array, spec: jax.Array | None = None) -> Any:
        raise NotImplementedError

    def step(self, problem: Problem, config: MelConfig, state: Any) -> tuple[Any, dict[str, jax.Array]]:
        raise NotImplementedError

    def spectrogram(self, problem: Problem, config: MelConfig, state: Any) -> jax.Array:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """The hyper-parameters, for the result's settings."""
        out = {"name": self.name}
        if dataclasses.is_dataclass(self):
            for f in dataclasses.fields(self):
                v = getattr(self, f.name)
                out[f.name] = v if isinstance(v, (int, float, str, bool, type(None))) else repr(v)
        return out
