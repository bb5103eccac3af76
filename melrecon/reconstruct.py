"""``reconstruct``: run any method (or a pipeline of methods) on a Mel spectrogram.

The front door: it checks the input once, builds the problem (the linear Mel and a full-band magnitude
estimate), hands the stages (:mod:`melrecon.methods`) to the runner (:mod:`melrecon.runner`: jitted
chunks, keep-best, callbacks, Ctrl-C) and wraps what comes back (:mod:`melrecon.result`). A list of
mels of different lengths goes through :mod:`melrecon.batching` (length buckets, padded batches).

The names of the former single module stay importable from here: ``reconstruct``, ``Reconstruction``,
``Progress``, ``METHODS``, ``DEFAULT_METHOD``, ``build_stages``, ``plan_buckets``, ``trace_count``.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import _cache
from .algorithms import INIT_PHASES, Problem
from .batching import batch_sharding as _batch_sharding  # noqa: F401 - the former private name
from .batching import default_batch_size, plan_buckets, reconstruct_list
from .config import MelConfig, ParameterError, get_config
from .diagnostics import warn_if_no_progress
from .methods import DEFAULT_METHOD, METHODS, Stage, build_stages
from .result import Progress, Reconstruction
from .runner import run_stages, trace_count
from .pieces import piece_count, piece_plan
from .segments import reconstruct_segmented, segment_plan
from .transforms import istft_compiled, linear_problem
from .validation import check_iterations, check_mel

__all__ = [
    "reconstruct", "Reconstruction", "Progress", "METHODS", "DEFAULT_METHOD", "build_stages", "plan_buckets",
    "trace_count",
]


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
    pieces: Any = "auto",
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
        Iterations (see :func:`~melrecon.methods.build_stages`): ``gl_iters`` sets every projection stage
        (Griffin-Lim, ADMM, the Mel-constrained ones), ``gd_iters`` every gradient stage; defaults: 300 +
        200 for the default, 500 ``melgl``, 200 GL, 300 ADMM, 500 GD, 200 L-BFGS (each algorithm's
        ``default_iters``).
    seed : int
        Seeds the random initial phase: the same inputs and seed give the same audio.
    init_magnitude : {"nnls", "pinv"}
        How the full-band magnitude is first estimated from the Mel bands.
    init : array or {"random", "zero", "pghi"}, optional
        A starting point for the first stage instead of the random (or ``init_phase="zero"``) phase: a
        real array of phases in radians, or a complex STFT, shape ``(..., n_fft // 2 + 1, frames)``. A
        name sets the stages' ``init_phase`` option (``"pghi"``: phase-gradient heuristic integration of
        the magnitude estimate, :mod:`melrecon.pghi`; the default method starts from zero phase).
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
    pieces : "auto", int or None
        A single mel is cut into independent, overlapping pieces along its frames, inverted at the same
        time (one thread, one CPU core each) and crossfaded together (:mod:`melrecon.pieces`).
        ``"auto"`` (default): on a CPU, inputs of at least 4 s go in as many pieces as the process may
        use cores (``$MELRECON_PIECES=off`` turns this off); an integer: up to that many pieces; 1 or
        None: never. Not with a ``callback``, nor for a batch or a list of mels.

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
    if isinstance(init, str):  # a named initial phase is the stages' init_phase option
        if init not in INIT_PHASES:
            raise ParameterError(f"init={init!r} must be an array (phases or a complex STFT) or one of {INIT_PHASES}.")
        options["init_phase"], init = init, None
    stages = build_stages(method, n_iter=n_iter, gl_iters=gl_iters, gd_iters=gd_iters, **options)
    _check_run_options(init_magnitude=init_magnitude, seed=seed, callback=callback)
    piece_count(pieces)  # checked here, used below for single mels
    chunk_size = None if chunk_size is None else check_iterations("chunk_size", chunk_size, minimum=1)
    name = method if isinstance(method, str) else "+".join(a.name for a, _ in stages)
    settings = {
        "method": name,
        "stages": [dict(algo.describe(), n_iter=n) for algo, n in stages],
        "seed": int(seed),
        "init_magnitude": init_magnitude,
        "config": cfg.to_dict(),
    }
    run = functools.partial(run_stages, stages=stages, cfg=cfg, seed=int(seed), callback=callback,
                            progress=progress, chunk_size=chunk_size, name=name)
    if _is_list(mel):
        if init is not None:
            raise ParameterError("init is not supported with a list of mels; invert such items one by one.")
        mels, batching = _check_list(mel, cfg, length=length, batch_size=batch_size, max_buckets=max_buckets,
                                     bucket_frames=bucket_frames)
        results = reconstruct_list(mels, functools.partial(run, batched=True), cfg, method=name,
                                   settings=settings, **batching)
        warn_if_no_progress(results)
        return results
    mel_np = check_mel(mel, cfg)
    init_arr = None if init is None else _check_init(init, mel_np.shape, cfg)
    length = None if length is None else check_iterations("length", length, minimum=1)
    plan = None if init is not None else segment_plan(mel_np.shape[-1], cfg, segment_seconds)
    if plan is not None and mel_np.ndim == 2:  # long inputs: overlapping segments in bounded memory
        return reconstruct_segmented(mel_np, cfg, plan, method=method, seed=int(seed), length=length, n_iter=n_iter,
                                     gl_iters=gl_iters, gd_iters=gd_iters, init_magnitude=init_magnitude,
                                     callback=callback, progress=progress, chunk_size=chunk_size, invert=reconstruct,
                                     pieces=pieces, **options)
    cut = None if callback is not None or mel_np.ndim != 2 else piece_plan(mel_np.shape[-1], cfg, pieces)
    if cut is not None:  # both cores: independent pieces at the same time, crossfaded
        return reconstruct_segmented(mel_np, cfg, cut, independent=True, init=init_arr, method=method, seed=int(seed),
                                     length=length, n_iter=n_iter, gl_iters=gl_iters, gd_iters=gd_iters,
                                     init_magnitude=init_magnitude, progress=progress, chunk_size=chunk_size,
                                     invert=reconstruct, **options)
    length = cfg.n_samples(mel_np.shape[-1]) if length is None else length
    problem = _problem(mel_np, cfg, init_magnitude)
    out = run(problem, batched=False, init_spec=_initial_spec(init_arr, problem))
    audio = np.asarray(jax.device_get(istft_compiled(out.best_spec, cfg, length=length)), np.float32)
    result = Reconstruction.from_run(out, audio, config=cfg, method=name, settings=settings)
    warn_if_no_progress(result)
    return result


def _is_list(mel) -> bool:
    """A list of arrays is a batch of mels; nested Python lists are one mel (as NumPy reads them)."""
    if isinstance(mel, (list, tuple)) and not mel:
        raise ParameterError("mel is an empty list; give a (n_mels, frames) array or a list of them.")
    return isinstance(mel, (list, tuple)) and any(hasattr(m, "ndim") for m in mel)


def _check_run_options(*, init_magnitude, seed, callback) -> None:
    if init_magnitude not in ("nnls", "pinv"):
        raise ParameterError(f"init_magnitude={init_magnitude!r} must be 'nnls' or 'pinv'.")
    if isinstance(seed, bool) or not hasattr(seed, "__index__") or not -2**63 <= int(seed) < 2**63:
        raise ParameterError(f"seed={seed!r} must be an integer (64-bit).")
    if callback is not None and not callable(callback):
        raise ParameterError(f"callback={callback!r} must be callable (it receives a Progress), or None.")


def _check_list(mel, cfg: MelConfig, *, length, batch_size, max_buckets, bucket_frames) -> tuple[list, dict]:
    """The checked mels of a list and the batching settings."""
    mels = [check_mel(m, cfg, name=f"mel[{i}]") for i, m in enumerate(mel)]
    for i, m in enumerate(mels):
        if m.ndim != 2:
            raise ParameterError(f"mel[{i}] has shape {m.shape}; list items must be (n_mels, frames) arrays.")
    if length is not None:
        raise ParameterError("length is not supported with a list of mels (each item keeps its own length).")
    batch_size = default_batch_size() if batch_size is None else check_iterations("batch_size", batch_size, minimum=1)
    max_buckets = check_iterations("max_buckets", max_buckets, minimum=1)
    if bucket_frames is not None:
        bucket_frames = check_iterations("bucket_frames", bucket_frames, minimum=1)
        longest = max(m.shape[-1] for m in mels)
        if bucket_frames < longest:
            raise ParameterError(f"bucket_frames={bucket_frames} is shorter than the longest mel ({longest} "
                                 f"frames); pass at least {longest} or None.")
    return mels, dict(batch_size=batch_size, max_buckets=max_buckets, bucket_frames=bucket_frames)


def _check_init(init, mel_shape: tuple, cfg: MelConfig) -> np.ndarray:
    arr = np.asarray(init)
    want = (*mel_shape[:-2], cfg.n_freq, mel_shape[-1])
    if arr.shape != want:
        raise ParameterError(f"init has shape {arr.shape}; it must match the STFT of the mel, {want}.")
    if not (np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all()):
        raise ParameterError("init must hold finite phases (radians) or a finite complex STFT.")
    return arr


def _problem(mel_np: np.ndarray, cfg: MelConfig, init_magnitude: str) -> Problem:
    """The linear Mel and its full-band magnitude estimate (from a checked mel: no checks again)."""
    mel_lin, magnitude = linear_problem(jnp.asarray(mel_np, jnp.float32), cfg, method=init_magnitude)
    return Problem(mel=mel_lin, magnitude=magnitude)


def _initial_spec(init_arr, problem: Problem):
    """Phases get the estimated magnitude; a complex STFT is used as it is."""
    if init_arr is None:
        return None
    if np.iscomplexobj(init_arr):
        return jnp.asarray(init_arr, jnp.complex64)
    return problem.magnitude * jnp.exp(1j * jnp.asarray(init_arr, jnp.float32))
