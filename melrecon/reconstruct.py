"""``reconstruct``: run any method (or a pipeline of methods) on a Mel spectrogram.

Every method runs in the same loop: jitted ``lax.scan`` chunks of its pure ``step`` (compiled once per
method, config and shape, reused across chunks and calls), driven from Python so that a progress bar,
a callback and Ctrl-C can act between chunks. After each chunk the output audio's Mel spectral
convergence is measured and the best estimate so far is kept; an interrupt, a callback asking to stop or
a non-finite loss ends the run and returns that best estimate.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import _cache
from .algorithms import (
    ADMMGriffinLim, Algorithm, MelGriffinLim, Problem, STFTGradientDescent, TolerantMelADMM, TolerantMelGriffinLim,
    WaveformGradientDescent, agla, fgla, gla,
)
from .config import MelConfig, ParameterError, get_config
from .diagnostics import warn_if_no_progress
from .filters import mel_filterbank
from .losses import spectral_convergence
from .transforms import decompress, istft, magnitude, mel_to_linear, project_consistent_tm
from .validation import check_iterations, check_mel

__all__ = [
    "reconstruct", "Reconstruction", "Progress", "METHODS", "DEFAULT_METHOD", "build_stages", "plan_buckets",
    "trace_count",
]

#: Single methods by name; a pipeline joins names with "+" ("gl" is an alias of "fgla").
METHODS: dict[str, Callable[[], Algorithm]] = {
    "gla": gla,
    "fgla": fgla,
    "gl": fgla,
    "agla": agla,
    "gd": STFTGradientDescent,
    "waveform": lambda: WaveformGradientDescent(optimizer="adam", learning_rate=1e-3, name="waveform"),
    "lbfgs": lambda: WaveformGradientDescent(optimizer="lbfgs", learning_rate=None, name="lbfgs"),
    "melgl": MelGriffinLim,
    "admm": ADMMGriffinLim,
    # Zero initial phase: deterministic, and on speech at the hifigan preset it averaged higher PESQ
    # than random phases (4.02 vs 3.97-3.98 over 8 clips) and avoided their occasional poor draw.
    "meladmm": lambda: ADMMGriffinLim(magnitude="mel", init_phase="zero", name="meladmm"),
    # Noise-aware: a log-domain tolerance box around the Mel target, its width from the mel's inconsistency.
    "tolmeladmm": TolerantMelADMM,
    "tolmelgl": TolerantMelGriffinLim,
}
#: The default: 300 iterations of ADMM between the Mel-constraint set and the consistent STFTs, then 200 of
#: Mel-consistent fast Griffin-Lim (the best PESQ and Mel distance, at a real-time factor under the L-BFGS
#: peer's, in ``benchmarks/quality.py``; see docs/quality.md).
DEFAULT_METHOD = "meladmm+melgl"
#: Iterations per method, or per stage for a pipeline named here.
_DEFAULT_ITERS = {
    "gla": 200, "fgla": 200, "gl": 200, "agla": 200, "gd": 500, "waveform": 500, "lbfgs": 200,
    "melgl": 500, "admm": 300, "meladmm": 300, "meladmm+melgl": (300, 200),
    "tolmeladmm": 300, "tolmelgl": 500, "tolmeladmm+tolmelgl": (300, 200),
}

_GL_NAMES = ("gla", "fgla", "agla", "melgl", "admm", "meladmm", "tolmeladmm", "tolmelgl")

_TRACES: collections.Counter = collections.Counter()
_COMPILED: dict = {}


def trace_count(name: str | None = None) -> int:
    """How many times the chunk loop was traced (for one method name, or in all)."""
    return sum(_TRACES.values()) if name is None else _TRACES[name]


@dataclass
class Progress:
    """What a ``callback`` receives after each chunk."""

    iteration: int
    total: int
    stage: int
    stage_name: str
    mel_sc: np.ndarray
    best_mel_sc: np.ndarray
    elapsed: float
    history: dict[str, np.ndarray]


@dataclass
class Reconstruction:
    """The result of :func:`reconstruct`.

    Attributes
    ----------
    audio : float32 array (..., n_samples)
        The best estimate's audio (inverse STFT).
    sample_rate : int
    config : MelConfig
    method : str
    history : dict of arrays (n_iterations, ...)
        Every loss term of every step (NaN where a stage has no such term), plus ``"stage"`` (index of
        the stage) and ``"time"`` (seconds since the start, excluding compilation).
    evaluations : dict of arrays
        At chunk ends: ``"iteration"``, ``"time"`` and ``"mel_sc"`` (Mel spectral convergence of the
        output audio against the target).
    stages : list of (name, first_iteration, stop_iteration)
    mel_sc : array (...)
        Mel spectral convergence of the returned audio.
    best_iteration : int
        Iterations done when the returned estimate was taken (the largest over a batch).
    interrupted : bool
        True when a KeyboardInterrupt (Ctrl-C) ended the run.
    stop_reason : str or None
        ``"interrupted"``, ``"callback"``, ``"non-finite"`` or None when the run completed.
    seconds, compile_seconds : float
        Wall-clock time of the iterations, and of compiling them.
    settings : dict
    spectrogram : complex64 array (..., n_fft // 2 + 1, frames)
        The returned estimate's STFT before inversion.
    """

    audio: np.ndarray
    sample_rate: int
    config: MelConfig
    method: str
    history: dict[str, np.ndarray]
    evaluations: dict[str, np.ndarray]
    stages: list[tuple[str, int, int]]
    mel_sc: np.ndarray
    best_iteration: int
    interrupted: bool
    stop_reason: str | None
    seconds: float
    compile_seconds: float
    settings: dict[str, Any]
    spectrogram: np.ndarray = field(repr=False)

    @property
    def n_iterations(self) -> int:
        return int(self.history["stage"].shape[0])

    def save(self, path, **kwargs) -> None:
        """Write the audio atomically (see :func:`melrecon.io.save_audio`)."""
        from .io import save_audio

        save_audio(path, self.audio, self.sample_rate, **kwargs)


# --------------------------------------------------------------------------------------------- stages
_STAGE_OPTIONS = {
    "alpha", "beta", "gamma", "init_phase", "optimizer", "learning_rate", "consistency_weight", "mel_weight",
    "mel_loss", "init_noise", "exponent", "outside", "magnitude", "tolerance",
}


def _with_options(algo: Algorithm, options: dict[str, Any]) -> Algorithm:
    names = {f.name for f in dataclasses.fields(algo)}
    usable = {k: v for k, v in options.items() if k in names and v is not None}
    if "learning_rate" in usable and getattr(algo, "optimizer", None) == "lbfgs" and options.get("optimizer") is None:
        usable.pop("learning_rate")  # the line search sets the step
    return dataclasses.replace(algo, **usable) if usable else algo


def build_stages(method, *, n_iter=None, gl_iters=None, gd_iters=None, **options) -> list[tuple[Algorithm, int]]:
    """Resolve ``method`` into a list of ``(algorithm, iterations)`` stages.

    ``method`` is a name from :data:`METHODS`, a pipeline such as ``"gl+gd"`` or ``"agla+lbfgs"``, an
    :class:`~melrecon.algorithms.Algorithm`, or a list of ``(algorithm or name, iterations)``.
    ``n_iter`` (an int, or one per stage) overrides the defaults; ``gl_iters`` applies to Griffin-Lim
    stages and ``gd_iters`` to gradient stages. Other keyword options (``alpha``, ``learning_rate``,
    ``optimizer``, ``mel_weight``, ...) go to every stage that has such a parameter.
    """
    unknown = set(options) - _STAGE_OPTIONS
    if unknown:
        raise ParameterError(f"unknown option(s) {sorted(unknown)}; known: {sorted(_STAGE_OPTIONS)}.")
    if isinstance(method, Algorithm):
        items: list = [(method, None)]
    elif isinstance(method, str):
        names = [m.strip().lower() for m in method.split("+")]
        for n in names:
            if n not in METHODS:
                raise ParameterError(
                    f"method={method!r}: unknown method {n!r}; choose from {sorted(METHODS)} or join them with "
                    f"'+' (e.g. 'gl+gd')."
                )
        items = [(METHODS[n](), n) for n in names]
    elif isinstance(method, (list, tuple)):
        items = []
        for entry in method:
            if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
                raise ParameterError(f"method entries must be (algorithm or name, n_iter) pairs, got {entry!r}.")
            algo, n = entry
            if isinstance(algo, str):
                if algo not in METHODS:
                    raise ParameterError(f"unknown method {algo!r}; choose from {sorted(METHODS)}.")
                algo = METHODS[algo]()
            items.append((algo, check_iterations("n_iter", n)))
    else:
        raise ParameterError(f"method={method!r} must be a name such as 'gl+gd', an Algorithm or a list of stages.")

    per_stage = n_iter if n_iter is None or isinstance(n_iter, (list, tuple)) else [n_iter] * len(items)
    if per_stage is None and isinstance(method, str) and isinstance(_DEFAULT_ITERS.get(method.lower()), tuple):
        per_stage = list(_DEFAULT_ITERS[method.lower()])
    if per_stage is not None and len(per_stage) != len(items):
        raise ParameterError(f"n_iter={n_iter!r} gives {len(per_stage)} counts for {len(items)} stage(s).")
    stages = []
    for i, (algo, n) in enumerate(items):
        algo = _with_options(algo, options)
        kind_iters = gl_iters if algo.name in _GL_NAMES else gd_iters
        if isinstance(n, int) and not isinstance(n, bool):
            count = n
        elif kind_iters is not None:
            count = kind_iters
        elif per_stage is not None:
            count = per_stage[i]
        else:
            count = _DEFAULT_ITERS.get(n if isinstance(n, str) else algo.name, 200)
        stages.append((algo, check_iterations("n_iter", count)))
    return stages


# ----------------------------------------------------------------------------------------- jitted parts
def _step_fn(algo: Algorithm, config: MelConfig, batched: bool):
    """``(problem, state) -> (state, terms)``; vmapped over the leading axis for a padded batch."""
    step = lambda problem, state: algo.step(problem, config, state)  # noqa: E731
    return jax.vmap(step) if batched else step


def _chunk_fn(algo: Algorithm, config: MelConfig, n_steps: int, batched: bool = False):
    """Up to ``n_steps`` steps in a ``fori_loop`` with a traced trip count (no per-step branch).

    The per-step terms go into a NaN-filled ``(n_steps, ...)`` buffer, so any count ``<= n_steps``
    runs the same compiled loop. Methods with ``unroll = 2`` (Griffin-Lim) run two steps per loop
    iteration (and a last single step when the count is odd): a loop-carried buffer can then be
    written in place instead of being copied each step.
    """
    step = _step_fn(algo, config, batched)
    unroll = int(getattr(algo, "unroll", 1))

    def run(problem: Problem, state, n_active):
        _TRACES[algo.name] += 1  # runs at trace time only
        template = jax.eval_shape(lambda s: step(problem, s)[1], state)
        buffer = jax.tree.map(lambda t: jnp.full((n_steps, *t.shape), jnp.nan, t.dtype), template)
        count = jnp.minimum(n_active, n_steps)

        def one(i, carry):
            s, buf = carry
            s, terms = step(problem, s)
            buf = jax.tree.map(lambda b, v: jax.lax.dynamic_update_index_in_dim(b, v, i, 0), buf, terms)
            return s, buf

        if unroll < 2:
            return jax.lax.fori_loop(0, count, one, (state, buffer))

        def pair(j, carry):
            return one(2 * j + 1, one(2 * j, carry))

        carry = jax.lax.fori_loop(0, count // 2, pair, (state, buffer))
        return jax.lax.cond(count % 2 == 1, lambda c: one(count - 1, c), lambda c: c, carry)

    return run


def _signature(tree) -> tuple:
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((tuple(x.shape), str(x.dtype), _sharding_key(x)) for x in leaves)


def _sharding_key(x) -> str:
    sharding = getattr(x, "sharding", None)
    if sharding is None or len(getattr(sharding, "device_set", ())) < 2:
        return ""
    return repr(sharding)


def _compiled_chunk(algo, config, n_steps, problem, state, batched=False):
    """The compiled chunk for this method, config and shape (compiled on first use, then cached).

    The state is donated: the loop updates it in place instead of holding two copies.
    """
    key = (algo, config, n_steps, batched, _signature((problem, state)))
    fn = _COMPILED.get(key)
    compile_s = 0.0
    if fn is None:
        t0 = time.perf_counter()
        jitted = jax.jit(_chunk_fn(algo, config, n_steps, batched), donate_argnums=(1,))
        fn = jitted.lower(problem, state, jnp.int32(0)).compile()
        compile_s = time.perf_counter() - t0
        if len(_COMPILED) > 64:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = fn
    return fn, compile_s


_INITS: dict = {}


def _init(algo, config, problem, key, spec, batched=False):
    cache_key = (algo, config, batched)
    fn = _INITS.get(cache_key)
    if fn is None:
        init = lambda p, k, s: algo.init(p, config, k, s)  # noqa: E731
        if batched:
            init = jax.vmap(init, in_axes=(0, None, 0))
        fn = _INITS[cache_key] = jax.jit(init)
    return fn(problem, key, spec)


def _evaluate_fn(algo: Algorithm, config: MelConfig, batched: bool):
    """``(problem, state) -> (time-major STFT estimate, Mel SC of its output audio)``.

    Time-major throughout (the layout of the fast projection); the estimate is transposed back to
    ``(..., F, frames)`` only when a stage ends or the result is returned.
    """
    fb_t = np.ascontiguousarray(mel_filterbank(config).T)

    def evaluate(problem: Problem, state):
        spec_tm = jnp.swapaxes(algo.spectrogram(problem, config, state), -1, -2)
        consistent = project_consistent_tm(spec_tm, config, layout=problem.layout)
        mag = magnitude(consistent, config.power)
        target = algo.mel_target(problem, state) if hasattr(algo, "mel_target") else problem.mel  # tolerant methods
        sc = spectral_convergence(mag @ fb_t, jnp.swapaxes(target, -1, -2))
        return spec_tm, sc

    return jax.vmap(evaluate) if batched else evaluate


_EVALUATORS: dict = {}


def _evaluate(algo, config, problem, state, batched=False):
    key = (algo, config, batched)
    fn = _EVALUATORS.get(key)
    if fn is None:
        fn = _EVALUATORS[key] = jax.jit(_evaluate_fn(algo, config, batched))
    return fn(problem, state)


def _auto_chunk(problem: Problem) -> int:
    elements = int(np.prod(problem.magnitude.shape))
    return int(min(100, max(10, 1e8 // max(elements, 1))))


# ----------------------------------------------------------------------------------------- the loop
def reconstruct(
    mel,
    config: MelConfig | str = "hifigan",
    *,
    method: Any = DEFAULT_METHOD,
    n_iter: int | Sequence[int] | None = None,
    gl_iters: int | None = None,
    gd_iters: int | None = None,
    seed: int = 0,
    init_magnitude: str = "nnls",
    init: Any = None,
    length: int | None = None,
    callback: Callable[[Progress], Any] | None = None,
    progress: bool = True,
    chunk_size: int | None = None,
    batch_size: int | None = None,
    max_buckets: int = 4,
    bucket_frames: int | None = None,
    segment_seconds: Any = "auto",
    **options: Any,
):
    """Reconstruct audio from a Mel spectrogram.

    Parameters
    ----------
    mel : array, shape (..., n_mels, frames), or a list of (n_mels, frames_i) arrays
        The Mel spectrogram in ``config``'s power and compression (leading dims: a batch of equal-length
        mels). A list (or tuple) of mels of different lengths is inverted as a padded batch: the mels
        are grouped into at most ``max_buckets`` length buckets, each bucket is padded to one length
        and run in batches of up to ``batch_size`` (one compilation per bucket); padding never reaches
        an item's losses or output, so each item comes out as it would alone (same seed), up to
        floating-point rounding. A list of :class:`Reconstruction` is then returned, in input order.
    config : MelConfig or preset name
        The settings the mel was made with (default ``"hifigan"``).
    method : str, Algorithm or list of (algorithm, n_iter)
        ``"meladmm+melgl"`` (default: ADMM, then fast Griffin-Lim, between the Mel-constraint set and
        the consistent STFTs; 300 + 200 iterations), any single method of :data:`METHODS` (``"gla"``,
        ``"fgla"``, ``"agla"``, ``"melgl"``, ``"admm"``, ``"meladmm"``, ``"gd"``, ``"waveform"``,
        ``"lbfgs"``) or a ``"+"``-joined pipeline such as ``"gl+gd"`` (the seed's method).
    n_iter, gl_iters, gd_iters : int
        Iterations (see :func:`build_stages`); defaults: 300 + 200 for the default, 500 ``melgl``,
        200 GL, 300 ADMM, 500 GD, 200 L-BFGS. ``gl_iters`` also sets the Mel-constrained stages.
    seed : int
        Seeds the random initial phase: the same inputs and seed give the same audio.
    init_magnitude : {"nnls", "pinv"}
        How the full-band magnitude is first estimated from the Mel bands.
    init : array, optional
        A starting point for the first stage instead of the random (or ``init_phase="zero"``) phase: a
        real array of phases in radians, or a complex STFT, shape ``(..., n_fft // 2 + 1, frames)``.
    length : int, optional
        Output length in samples (default: what the frames describe, ``config.n_samples(frames)``).
    callback : callable, optional
        Called with a :class:`Progress` after every chunk; return ``False`` to stop (the best result is
        returned). An exception it raises propagates, except KeyboardInterrupt, which ends the run like
        Ctrl-C.
    progress : bool
        Show a ``tqdm`` progress bar.
    chunk_size : int, optional
        Steps per jitted chunk (default: 10-100 depending on size). Ctrl-C and callbacks act between
        chunks.
    batch_size : int, optional
        With a list of mels: most items per padded batch (default: 4 on a CPU, where larger batches
        only add cache misses, 32 on accelerators).
    max_buckets : int
        With a list of mels: most distinct padded lengths (default 4).
    bucket_frames : int, optional
        With a list of mels: pad every batch to this many frames (at least the longest mel) instead of
        choosing bucket lengths, e.g. to reuse one compilation over many calls.
    segment_seconds : "auto", float or None
        Long single mels are inverted in overlapping segments of this many seconds, so memory depends
        on the segment, not on the input (see :mod:`melrecon.segments`). ``"auto"`` (default): inputs
        longer than 60 s go in 30 s segments; a number: anything longer goes in segments of that
        length; None: never segment.

    With a list of mels and several local JAX devices (``jax.local_devices()``), every padded batch is
    split along its batch axis over the devices (batches are filled up to a multiple of the device
    count).
    **options
        Hyper-parameters passed to the stages that have them: ``alpha``, ``beta``, ``gamma``,
        ``learning_rate``, ``optimizer``, ``consistency_weight``, ``mel_weight``, ``mel_loss``, ...

    Returns
    -------
    Reconstruction, or a list of them for a list of mels (each with its own audio, spectrogram,
    history and ``mel_sc``; ``seconds`` and ``compile_seconds`` are those of the whole padded batch it
    ran in, and ``settings["batch"]`` gives that batch's size and padded frame count).

    Examples
    --------
    >>> import numpy as np
    >>> from melrecon import MelConfig, mel_spectrogram, reconstruct
    >>> cfg = MelConfig.preset("seed")
    >>> t = np.arange(8000) / 16000
    >>> mel = np.asarray(mel_spectrogram(np.sin(2 * np.pi * 440 * t).astype(np.float32), cfg))
    >>> out = reconstruct(mel, cfg, method="gl+gd", gl_iters=20, gd_iters=20, progress=False)
    >>> out.audio.shape
    (7936,)
    """
    _cache.enable()  # JAX's persistent compilation cache (melrecon/_cache.py), once per process
    cfg = get_config(config)
    # A list of arrays is a batch of mels; nested Python lists are one mel (as NumPy reads them).
    is_list = isinstance(mel, (list, tuple)) and any(hasattr(m, "ndim") for m in mel)
    if isinstance(mel, (list, tuple)) and not mel:
        raise ParameterError("mel is an empty list; give a (n_mels, frames) array or a list of them.")
    if is_list:
        if not mel:
            raise ParameterError("mel is an empty list; give at least one (n_mels, frames) array.")
        mels = [check_mel(m, cfg, name=f"mel[{i}]") for i, m in enumerate(mel)]
        for i, m in enumerate(mels):
            if m.ndim != 2:
                raise ParameterError(f"mel[{i}] has shape {m.shape}; list items must be (n_mels, frames) arrays.")
        if length is not None:
            raise ParameterError("length is not supported with a list of mels (each item keeps its own length).")
        batch_size = default_batch_size() if batch_size is None else check_iterations("batch_size", batch_size,
                                                                                      minimum=1)
        max_buckets = check_iterations("max_buckets", max_buckets, minimum=1)
        if bucket_frames is not None:
            bucket_frames = check_iterations("bucket_frames", bucket_frames, minimum=1)
            longest = max(m.shape[-1] for m in mels)
            if bucket_frames < longest:
                raise ParameterError(f"bucket_frames={bucket_frames} is shorter than the longest mel ({longest} "
                                     f"frames); pass at least {longest} or None.")
    else:
        mel_np = check_mel(mel, cfg)
    stages = build_stages(method, n_iter=n_iter, gl_iters=gl_iters, gd_iters=gd_iters, **options)
    if init_magnitude not in ("nnls", "pinv"):
        raise ParameterError(f"init_magnitude={init_magnitude!r} must be 'nnls' or 'pinv'.")
    if isinstance(seed, bool) or not hasattr(seed, "__index__") or not -2**63 <= int(seed) < 2**63:
        raise ParameterError(f"seed={seed!r} must be an integer (64-bit).")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={callback!r} must be callable (it receives a Progress), or None.")
    if length is not None:
        length = check_iterations("length", length, minimum=1)
    if chunk_size is not None:
        chunk_size = check_iterations("chunk_size", chunk_size, minimum=1)
    method_name = method if isinstance(method, str) else "+".join(a.name for a, _ in stages)
    settings = {
        "method": method_name,
        "stages": [dict(algo.describe(), n_iter=n) for algo, n in stages],
        "seed": int(seed),
        "init_magnitude": init_magnitude,
        "config": cfg.to_dict(),
    }
    if init is not None and is_list:
        raise ParameterError("init is not supported with a list of mels; invert such items one by one.")
    init_arr = None if init is None else _check_init(init, mel_np.shape, cfg)
    if not is_list and init is None:  # long inputs: overlapping segments in bounded memory
        from .segments import reconstruct_segmented, segment_plan

        plan = segment_plan(mel_np.shape[-1], cfg, segment_seconds)
        if plan is not None and mel_np.ndim == 2:
            return reconstruct_segmented(mel_np, cfg, plan, method=method, seed=int(seed), length=length,
                                         n_iter=n_iter, gl_iters=gl_iters, gd_iters=gd_iters,
                                         init_magnitude=init_magnitude, callback=callback, progress=progress,
                                         chunk_size=chunk_size, **options)
    run = functools.partial(_run, cfg=cfg, stages=stages, seed=int(seed), init_magnitude=init_magnitude,
                            callback=callback, progress=progress, chunk_size=chunk_size, method_name=method_name)
    if is_list:
        results = _reconstruct_list(mels, run, cfg, method_name, settings, batch_size, max_buckets, bucket_frames)
        warn_if_no_progress(results)
        return results

    mel_lin = decompress(jnp.asarray(mel_np), cfg)
    problem = Problem(mel=mel_lin, magnitude=mel_to_linear(mel_lin, cfg, method=init_magnitude, compressed=False))
    spec = None
    if init_arr is not None:  # phases get the estimated magnitude; a complex STFT is used as it is
        spec = (jnp.asarray(init_arr, jnp.complex64) if np.iscomplexobj(init_arr)
                else problem.magnitude * jnp.exp(1j * jnp.asarray(init_arr, jnp.float32)))
    out = run(problem, batched=False, init_spec=spec)
    out_len = cfg.n_samples(mel_np.shape[-1]) if length is None else length
    audio = np.asarray(jax.device_get(istft(out.best_spec, cfg, length=out_len)), np.float32)
    if not np.isfinite(audio).all():  # cannot happen with a finite best estimate; never hand out NaN audio
        raise FloatingPointError("reconstruction produced non-finite audio")
    batch_shape = mel_np.shape[:-2]
    result = Reconstruction(
        audio=audio,
        sample_rate=cfg.sample_rate,
        config=cfg,
        method=method_name,
        history=_assemble(out.history, out.spans, batch_shape),
        evaluations={k: np.asarray(v) for k, v in out.evaluations.items()},
        stages=out.spans,
        mel_sc=out.best_sc if batch_shape else np.float32(out.best_sc),
        best_iteration=int(out.best_iter),
        interrupted=out.stop_reason == "interrupted",
        stop_reason=out.stop_reason,
        seconds=out.run_s,
        compile_seconds=out.compile_s,
        settings=dict(settings, chunk_size=out.chunk),
        spectrogram=np.asarray(out.best_spec),
    )
    warn_if_no_progress(result)
    return result


def default_batch_size() -> int:
    """Items per padded batch by default: 4 on a CPU (measured: larger batches run slower there, the
    per-item work already fills the cores and caches), 32 on accelerators."""
    return 4 if jax.default_backend() == "cpu" else 32


def plan_buckets(n_frames: Sequence[int], *, batch_size: int = 32, max_buckets: int = 4, multiple: int = 1,
                 bucket_frames: int | None = None) -> list[tuple[int, list[int]]]:
    """Group items by length: ``[(padded_frames, [item indices]), ...]``, one entry per padded batch.

    Items are sorted by length and cut into at most ``max_buckets`` groups of about equal count; a
    group's padded length is its longest item rounded up to a multiple of 8 frames. A group larger than
    ``batch_size`` is split into equal-size batches (so every batch of a bucket has the same shape and
    reuses one compilation; the last batch is filled up with repeats of its items, dropped afterwards).
    Batch sizes are rounded up to a multiple of ``multiple`` (the device count). With ``bucket_frames``
    every batch is padded to that length (one bucket).
    """
    if len(n_frames) == 0:
        return []
    order = sorted(range(len(n_frames)), key=lambda i: n_frames[i])
    n_groups = 1 if bucket_frames is not None else min(max_buckets, len(order))
    bounds = [round(k * len(order) / n_groups) for k in range(n_groups + 1)]
    plan = []
    for g in range(n_groups):
        members = order[bounds[g]:bounds[g + 1]]
        if not members:
            continue
        padded = bucket_frames or -(-max(n_frames[i] for i in members) // 8) * 8
        n_batches = -(-len(members) // batch_size)
        per_batch = -(-len(members) // n_batches)
        size = -(-per_batch // multiple) * multiple
        for k in range(n_batches):
            plan.append((padded, members[k * per_batch:(k + 1) * per_batch], size))
    return [(padded, idx) if len(idx) == size else (padded, idx + [idx[j % len(idx)] for j in range(size - len(idx))])
            for padded, idx, size in plan]


def _batch_sharding():
    """Split the leading (batch) axis over all local devices, or None with one device."""
    devices = jax.local_devices()
    if len(devices) < 2:
        return None, 1
    mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch")), len(devices)


def _reconstruct_list(mels, run, cfg, method_name, settings, batch_size, max_buckets, bucket_frames=None):
    from .transforms import batch_layout

    frames = [m.shape[-1] for m in mels]
    sharding, n_devices = _batch_sharding()
    plan = plan_buckets(frames, batch_size=batch_size, max_buckets=max_buckets, multiple=n_devices,
                        bucket_frames=bucket_frames)
    results: list[Reconstruction | None] = [None] * len(mels)
    for padded, members in plan:
        mel_lin = np.zeros((len(members), cfg.n_mels, padded), np.float32)
        for row, i in enumerate(members):  # pad the *linear* mel with zeros (no energy in padding frames)
            mel_lin[row, :, :frames[i]] = np.asarray(decompress(jnp.asarray(mels[i]), cfg))
        mel_lin = jnp.asarray(mel_lin)
        layout = batch_layout(cfg, [frames[i] for i in members], padded)
        mag = mel_to_linear(mel_lin, cfg, method=settings["init_magnitude"], compressed=False)
        problem = Problem(mel=mel_lin, magnitude=mag, layout=layout)
        if sharding is not None:
            problem = jax.device_put(problem, sharding)
        out = run(problem, batched=True)
        padded_audio = np.asarray(jax.device_get(istft(out.best_spec, cfg, layout=layout)), np.float32)
        history = _assemble(out.history, out.spans, (len(members),))
        batch_info = {"size": len(members), "padded_frames": int(padded), "devices": n_devices}
        for row, i in enumerate(members):
            if results[i] is not None:  # a repeat that filled up the batch
                continue
            audio = padded_audio[row, : cfg.n_samples(frames[i])]
            if not np.isfinite(audio).all():
                raise FloatingPointError("reconstruction produced non-finite audio")
            results[i] = Reconstruction(
                audio=audio,
                sample_rate=cfg.sample_rate,
                config=cfg,
                method=method_name,
                history={k: (v[:, row] if v.ndim == 2 else v) for k, v in history.items()},
                evaluations={k: (np.asarray(v)[:, row] if np.asarray(v).ndim == 2 else np.asarray(v))
                             for k, v in out.evaluations.items()},
                stages=out.spans,
                mel_sc=np.float32(out.best_sc[row]),
                best_iteration=int(out.best_iter),
                interrupted=out.stop_reason == "interrupted",
                stop_reason=out.stop_reason,
                seconds=out.run_s,
                compile_seconds=out.compile_s,
                settings=dict(settings, chunk_size=out.chunk, batch=batch_info),
                spectrogram=np.asarray(out.best_spec[row, :, : frames[i]]),
            )
        if out.stop_reason in ("interrupted", "callback"):
            break
    done = [r for r in results if r is not None]
    if len(done) < len(results):  # stopped early: the unfinished items are not returned
        warnings.warn(f"stopped after {len(done)} of {len(results)} items; returning those.", RuntimeWarning,
                      stacklevel=3)
        return done
    return results


@dataclass
class _RunOutput:
    best_spec: Any
    best_sc: np.ndarray
    best_iter: int
    history: dict
    evaluations: dict
    spans: list
    stop_reason: str | None
    run_s: float
    compile_s: float
    chunk: int


def _run(problem: Problem, *, batched: bool, cfg, stages, seed, init_magnitude, callback, progress, chunk_size,
         method_name, init_spec=None) -> _RunOutput:
    """Run the stages on one problem (or one padded batch); keep the best estimate by output Mel SC."""
    batch_shape = problem.mel.shape[:-2]
    chunk = chunk_size or _auto_chunk(problem)
    total = sum(n for _, n in stages)
    key = jax.random.key(int(seed))

    history: dict[str, list] = collections.defaultdict(list)
    evaluations: dict[str, list] = collections.defaultdict(list)
    stage_spans: list[tuple[str, int, int]] = []
    best_spec = None
    best_sc = np.full(batch_shape, np.inf, np.float32)
    best_iter = 0
    done = 0
    stop_reason = None
    compile_s = 0.0
    run_s = 0.0
    spec_tm = None if init_spec is None else jnp.swapaxes(init_spec, -1, -2)  # time-major estimates

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, desc=method_name, unit="it", leave=False)

    def keep_best(spec_now, sc_now, it):
        nonlocal best_spec, best_sc, best_iter
        sc_host = np.asarray(sc_now, np.float32).reshape(batch_shape)
        better = np.isfinite(sc_host) & (sc_host < best_sc)
        if better.any():
            if best_spec is None or better.all():
                best_spec = spec_now
            else:
                mask = jnp.asarray(better)[..., None, None]
                best_spec = jnp.where(mask, spec_now, best_spec)
            best_sc = np.where(better, sc_host, best_sc)
            best_iter = it
        return sc_host

    try:
        for index, (algo, n_steps) in enumerate(stages):
            key, sub = jax.random.split(key)
            spec = None if spec_tm is None else jnp.swapaxes(spec_tm, -1, -2)
            state = _init(algo, cfg, problem, sub, spec, batched)
            start = done
            stage_spans.append((algo.name, start, start))
            if index == 0:  # the starting point counts as a candidate
                spec0, sc0 = _evaluate(algo, cfg, problem, state, batched)
                keep_best(spec0, sc0, 0)
                evaluations["iteration"].append(0)
                evaluations["time"].append(0.0)
                evaluations["mel_sc"].append(np.asarray(sc0))
            remaining = n_steps
            while remaining > 0:
                n_active = min(chunk, remaining)
                fn, c_s = _compiled_chunk(algo, cfg, chunk, problem, state, batched)
                compile_s += c_s
                t0 = time.perf_counter()
                new_state, terms = fn(problem, state, jnp.int32(n_active))
                state = None  # donated to the chunk
                spec_now, sc_now = _evaluate(algo, cfg, problem, new_state, batched)
                terms = jax.device_get(terms)
                sc_host = np.asarray(sc_now)
                dt = time.perf_counter() - t0
                for name, values in terms.items():
                    history[(index, name)].append(np.asarray(values)[:n_active])
                history[(index, "time")].append(run_s + dt * (np.arange(1, n_active + 1) / n_active))
                run_s += dt
                finite = all(np.isfinite(np.asarray(v)[:n_active]).all() for v in terms.values())
                if not finite or not np.isfinite(sc_host).all():
                    done += n_active
                    stage_spans[-1] = (algo.name, start, done)
                    stop_reason = "non-finite"
                    warnings.warn(
                        f"the loss of stage {algo.name!r} became non-finite at iteration {done}; stopping and "
                        f"returning the best finite estimate (iteration {best_iter}). Lower the learning rate.",
                        RuntimeWarning,
                        stacklevel=3,
                    )
                    break
                state = new_state
                spec_tm = spec_now
                done += n_active
                remaining -= n_active
                stage_spans[-1] = (algo.name, start, done)
                keep_best(spec_now, sc_now, done)
                evaluations["iteration"].append(done)
                evaluations["time"].append(run_s)
                evaluations["mel_sc"].append(sc_host)
                if bar is not None:
                    bar.update(n_active)
                    bar.set_postfix(stage=algo.name, mel_sc=f"{float(np.mean(sc_host)):.4f}")
                if callback is not None:
                    info = Progress(
                        iteration=done, total=total, stage=index, stage_name=algo.name, mel_sc=sc_host,
                        best_mel_sc=best_sc.copy(), elapsed=run_s,
                        history=_assemble(history, stage_spans, batch_shape),
                    )
                    if callback(info) is False:
                        stop_reason = "callback"
                        break
            if stop_reason is not None:
                break
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    finally:
        if bar is not None:
            bar.close()

    if best_spec is None:
        if stop_reason != "non-finite":  # interrupted before anything was evaluated
            raise KeyboardInterrupt
        raise FloatingPointError(
            "every estimate of this run was non-finite (not even the starting point could be measured); "
            "check the mel's scale and lower the learning rate."
        )
    return _RunOutput(best_spec=jnp.swapaxes(best_spec, -1, -2), best_sc=best_sc, best_iter=best_iter, history=history,
                      evaluations=evaluations, spans=stage_spans, stop_reason=stop_reason, run_s=run_s,
                      compile_s=compile_s, chunk=chunk)


def _check_init(init, mel_shape: tuple, cfg: MelConfig) -> np.ndarray:
    arr = np.asarray(init)
    want = (*mel_shape[:-2], cfg.n_freq, mel_shape[-1])
    if arr.shape != want:
        raise ParameterError(f"init has shape {arr.shape}; it must match the STFT of the mel, {want}.")
    if not (np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all()):
        raise ParameterError("init must hold finite phases (radians) or a finite complex STFT.")
    return arr


def _assemble(history: dict, spans: list, batch_shape: tuple) -> dict[str, np.ndarray]:
    """Per-stage lists of chunk arrays -> one array per term over all iterations (NaN where absent)."""
    names = sorted({name for (_, name) in history if name != "time"})
    n_total = spans[-1][2] if spans else 0
    out = {name: np.full((n_total, *batch_shape), np.nan, np.float32) for name in names}
    out["stage"] = np.zeros(n_total, np.int32)
    out["time"] = np.zeros(n_total, np.float64)
    for index, (_, start, stop) in enumerate(spans):
        out["stage"][start:stop] = index
        for name in names + ["time"]:
            parts = history.get((index, name))
            if parts:
                values = np.concatenate(parts)[: stop - start]
                out[name][start:start + len(values)] = values
    return out
