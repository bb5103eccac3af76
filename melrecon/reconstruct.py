"""``reconstruct``: the front door. Check -> plan -> execute -> result, each once per call.

1. **check and resolve**: the configuration, the user's choices of what to run (resolved once into a
   :class:`~melrecon.methods.resolve.Choice`: method, stages, starting phases,
   :func:`melrecon.methods.resolve.resolve`),
   the run options and the mel(s) (:mod:`melrecon.core.validation`);
2. **plan**: how the checked problem runs (:mod:`melrecon.methods.planner`: whole, a padded bucket,
   segments for long inputs, pieces across cores; length buckets for a list);
3. **execute**: :mod:`melrecon.methods.execute` runs the plan below this function (segments and pieces
   call the engine-level :func:`melrecon.methods.single.invert_whole`, never this function again);
4. **result**: :class:`~melrecon.methods.result.Reconstruction` (one, or a list for a list of mels),
   warned about once when it made no progress.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from .algorithms import INIT_PHASES
from .core import cache as _cache
from .core.config import DEFAULT_PRESET, MelConfig, ParameterError, get_config
from .core.validation import check_iterations, check_mel
from .methods.batching import batch_sharding
from .methods.diagnostics import warn_if_no_progress
from .methods.execute import best_start, estimated, execute_items, execute_single
from .methods.planner import check_batching, piece_count, plan_items, plan_single, segment_plan
from .methods.resolve import resolve
from .methods.result import Progress
from .methods.single import Run

__all__ = ["reconstruct", "RUN_OPTIONS", "check_call"]


def reconstruct(
    mel,
    config: MelConfig | str = DEFAULT_PRESET,
    *,
    method: Any = None,
    effort: str | None = None,
    source: str | None = None,
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
    bucket_frames: int | str | None = None,
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
        The settings the mel was made with (default :data:`~melrecon.core.config.DEFAULT_PRESET`, ``"hifigan"``).
    method : str, Algorithm or list of (algorithm, n_iter), optional
        Default: by ``source``. For a mel melrecon computed from audio (``source="analysis"``),
        ``"meladmm+melgl"`` (ADMM, then fast Griffin-Lim, between the Mel-constraint set and the consistent
        STFTs); for a mel handed in (the default: ``source="predicted"``), ``"tolmeladmm+tolmelgl"``, the
        same towards a target cleaned of what the mel's statistics read as an acoustic model's noise, time
        smoothing or band blur (the same audio when nothing is read; docs/robustness.md). Or any single method
        of :data:`METHODS` (``"gla"``, ``"fgla"``, ``"agla"``, ``"melgl"``, ``"admm"``, ``"meladmm"``, ``"gd"``,
        ``"waveform"``, ``"lbfgs"``) or a ``"+"``-joined pipeline such as ``"gl+gd"`` (the seed's method).
    source : {"predicted", "analysis"}, optional
        Where the mel came from, which chooses the default ``method``: ``"predicted"`` (default: handed in,
        e.g. by an acoustic model) or ``"analysis"`` (computed by melrecon from audio, exact). The result's
        ``settings["source"]`` says which path ran and ``settings["estimated"]`` what it read in the mel.
    effort : {"fast", "default", "balanced", "best"}, optional
        How much work the inversion gets when no counts are given (default ``"default"``): each method's
        stage counts at that level (``melrecon methods`` lists them; docs/speed.md has the measured time
        and quality of each). Explicit ``n_iter`` / ``gl_iters`` / ``gd_iters`` win.
    n_iter, gl_iters, gd_iters : int
        Iterations (see :func:`~melrecon.methods.build_stages`): ``gl_iters`` sets every projection stage
        (Griffin-Lim, ADMM, the Mel-constrained ones), ``gd_iters`` every gradient stage; defaults: the method's
        counts at ``effort`` (at ``"balanced"``: 300 + 200 for the default method, 500 ``melgl``, 200 GL,
        300 ADMM, 500 GD, 200 L-BFGS, each algorithm's ``default_iters``).
    seed : int
        Seeds the random initial phase: the same inputs and seed give the same audio.
    init_magnitude : {"nnls", "pinv"}
        How the full-band magnitude is first estimated from the Mel bands.
    init : array or {"random", "zero", "pghi"}, optional
        A starting point for the first stage instead of the random (or ``init_phase="zero"``) phase: a
        real array of phases in radians, or a complex STFT, shape ``(..., n_fft // 2 + 1, frames)``. A
        name sets the stages' ``init_phase`` option (``"pghi"``: phase-gradient heuristic integration of
        the magnitude estimate, :mod:`melrecon.core.pghi`; the default method starts from PGHI at the fast,
        default and balanced efforts, and tries both a zero and a PGHI start at the best one).
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
    bucket_frames : int or "auto", optional
        Pad to this many frames (at least the longest mel) and run as a padded batch, e.g. to reuse one
        compilation over many calls of different lengths; ``"auto"``: the planner's padded length
        (:func:`melrecon.methods.planner.padded_length`, what the command line uses); with a list of
        mels, every batch instead of choosing bucket lengths. Inputs long enough to be segmented are
        segmented all the same.
    segment_seconds : "auto", float or None
        Long single mels are inverted in overlapping segments of this many seconds, so memory depends
        on the segment, not on the input (see :mod:`melrecon.methods.segments`). ``"auto"`` (default): inputs
        longer than 60 s go in 30 s segments; a number: anything longer goes in segments of that
        length; None: never segment.
    pieces : "auto", int or None
        A single mel is cut into independent, overlapping pieces along its frames, inverted at the same
        time (one thread, one CPU core each) and crossfaded together (:mod:`melrecon.methods.planner`).
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
    _cache.enable()  # JAX's persistent compilation cache (melrecon/core/cache.py), once per process
    run, init = check_call(config, method=method, effort=effort, source=source, n_iter=n_iter, gl_iters=gl_iters,
                           gd_iters=gd_iters, seed=seed, init_magnitude=init_magnitude, init=init, callback=callback,
                           progress=progress, chunk_size=chunk_size, segment_seconds=segment_seconds, pieces=pieces,
                           options=options)
    if _is_list(mel):
        if init is not None:
            raise ParameterError("init is not supported with a list of mels; invert such items one by one.")
        mels, batching = _check_list(mel, run.cfg, length=length, batch_size=batch_size, max_buckets=max_buckets,
                                     bucket_frames=bucket_frames)
        plan = plan_items([m.shape[-1] for m in mels], run.cfg, segment_seconds=segment_seconds,
                          multiple=batch_sharding()[1], **batching)
        results = best_start(run, lambda r: execute_items(mels, r, plan, segment_seconds=segment_seconds,
                                                          pieces=pieces))
    else:
        mel_np = check_mel(mel, run.cfg)
        init = None if init is None else _check_init(init, mel_np.shape, run.cfg)
        length = None if length is None else check_iterations("length", length, minimum=1)
        bucket_frames = _check_bucket_frames(bucket_frames, mel_np.shape[-1])
        plan = plan_single(mel_np.shape[-1], run.cfg, segment_seconds=segment_seconds, pieces=pieces,
                           bucket_frames=bucket_frames, callback=callback is not None, init=init is not None,
                           batched=mel_np.ndim != 2)
        results = best_start(run, lambda r: execute_single(mel_np, r, plan, init=init, length=length))
        estimated(results, run)
    warn_if_no_progress(results)
    return results


#: The keyword arguments of :func:`reconstruct` that set how it runs rather than a stage's option.
RUN_OPTIONS = tuple(name for name in inspect.signature(reconstruct).parameters
                    if name not in ("mel", "config", "method", "options"))


def check_call(config: MelConfig | str = DEFAULT_PRESET, *, method: Any = None, effort=None, source=None, n_iter=None,
               gl_iters=None,
               gd_iters=None, seed: int = 0, init_magnitude: str = "nnls", init: Any = None, callback=None,
               progress: bool = True, chunk_size=None, segment_seconds: Any = "auto", pieces: Any = "auto",
               options: dict | None = None) -> tuple[Run, Any]:
    """Check everything of a call but the mel; -> (the :class:`~melrecon.methods.single.Run` its parts
    share, with the stages built once; ``init`` as an array or None). Apps that invert many inputs with
    one setting (folder inversion, its engines) call it first to fail early, once."""
    cfg, options = get_config(config), dict(options or {})
    init_phase = options.pop("init_phase", None)
    if isinstance(init, str):  # a named starting phase is the stages' init_phase option
        if init not in INIT_PHASES:
            raise ParameterError(f"init={init!r} must be an array (phases or a complex STFT) or one of {INIT_PHASES}.")
        init_phase, init = init, None
    choice = resolve(method, source=source, effort=effort, n_iter=n_iter, gl_iters=gl_iters, gd_iters=gd_iters,
                     init_phase=init_phase, init_given=init is not None, options=options)
    _check_run_options(init_magnitude=init_magnitude, seed=seed, callback=callback)
    piece_count(pieces)
    segment_plan(1, cfg, segment_seconds)  # checks the setting
    chunk_size = None if chunk_size is None else check_iterations("chunk_size", chunk_size, minimum=1)
    settings = dict(choice.settings(), seed=int(seed), init_magnitude=init_magnitude, config=cfg.to_dict())
    run = Run(cfg=cfg, stages=choice.stages, name=choice.method, settings=settings, seed=int(seed),
              init_magnitude=init_magnitude, callback=callback, progress=progress, chunk_size=chunk_size,
              init_phases=choice.init_phases, race=choice.race, choice=choice)
    return run, init


def _check_bucket_frames(bucket_frames, n_frames: int) -> int | str | None:
    if bucket_frames is None or bucket_frames == "auto":
        return bucket_frames
    bucket_frames = check_iterations("bucket_frames", bucket_frames, minimum=1)
    if bucket_frames < n_frames:
        raise ParameterError(f"bucket_frames={bucket_frames} is shorter than the longest mel ({n_frames} "
                             f"frames); pass at least {n_frames} or None.")
    return bucket_frames


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
    batch_size, max_buckets = check_batching(batch_size, max_buckets)
    bucket_frames = _check_bucket_frames(bucket_frames, max(m.shape[-1] for m in mels))
    bucket_frames = None if bucket_frames == "auto" else bucket_frames  # a list is bucketed by length anyway
    return mels, dict(batch_size=batch_size, max_buckets=max_buckets, bucket_frames=bucket_frames)


def _check_init(init, mel_shape: tuple, cfg: MelConfig) -> np.ndarray:
    arr = np.asarray(init)
    want = (*mel_shape[:-2], cfg.n_freq, mel_shape[-1])
    if arr.shape != want:
        raise ParameterError(f"init has shape {arr.shape}; it must match the STFT of the mel, {want}.")
    if not (np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all()):
        raise ParameterError("init must hold finite phases (radians) or a finite complex STFT.")
    return arr
