"""Any length in bounded memory: a long Mel spectrogram is inverted in overlapping segments.

Every segment has the same number of frames (one compilation); consecutive segments overlap by at
least :data:`OVERLAP_SECONDS`. A segment after the first starts, on its overlap, from the phase the
previous segment ended with (its returned STFT), so both agree on the shared frames up to the usual
drift of a few hundred iterations; the audio is then crossfaded (raised cosine, ``2 n_fft`` samples) at the
place in the middle half of the overlap, away from either segment's edge frames, where the two segments'
audio differs least (where they agree, or both are quiet), with gains that keep the energy for the two
signals' correlation there, so that drifted phases never cancel energy at a seam. Peak memory depends on
the segment, not on the file: only the current segment's problem lives on the device.

:func:`melrecon.reconstruct` does this itself past a length threshold (``segment_seconds="auto"``:
inputs longer than :data:`AUTO_THRESHOLD_SECONDS` go in segments of :data:`AUTO_SEGMENT_SECONDS`);
``segment_seconds=S`` segments anything longer than ``S`` seconds, ``segment_seconds=None`` never.
The same stitching joins the independent pieces that :mod:`melrecon.pieces` inverts at the same time.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import threading
import warnings
from typing import Any, Callable

import numpy as np

from .config import MelConfig, ParameterError
from .methods import build_stages
from .result import Reconstruction
from .transforms import decompress

__all__ = ["segment_plan", "segment_starts", "reconstruct_segmented", "AUTO_SEGMENT_SECONDS",
           "AUTO_THRESHOLD_SECONDS", "OVERLAP_SECONDS"]

AUTO_SEGMENT_SECONDS = 30.0
AUTO_THRESHOLD_SECONDS = 60.0
OVERLAP_SECONDS = 1.0


def segment_plan(n_frames: int, cfg: MelConfig, segment_seconds: Any = "auto") -> tuple[int, int] | None:
    """``(segment_frames, overlap_frames)`` for a mel of ``n_frames`` frames, or None (invert it whole)."""
    if segment_seconds is None:
        return None
    frames_per_second = cfg.sample_rate / cfg.hop_length
    edge = -(-cfg.n_fft // cfg.hop_length)  # frames a segment's edge disturbs
    if isinstance(segment_seconds, str) and segment_seconds == "auto":
        if n_frames <= AUTO_THRESHOLD_SECONDS * frames_per_second:
            return None
        seconds = AUTO_SEGMENT_SECONDS
    else:
        ok = isinstance(segment_seconds, (int, float)) and not isinstance(segment_seconds, bool)
        if not ok or not math.isfinite(segment_seconds) or segment_seconds <= 0:
            raise ParameterError(f"segment_seconds={segment_seconds!r} must be 'auto', None (never segment) or "
                                 f"a positive number of seconds (e.g. 30).")
        seconds = float(segment_seconds)
    length = int(round(seconds * frames_per_second))
    overlap = max(8 * edge, int(round(OVERLAP_SECONDS * frames_per_second)))
    if length < 4 * overlap:
        raise ParameterError(f"segment_seconds={segment_seconds!r} is too short for segments that overlap by "
                             f"{overlap} frames; give at least {4 * overlap / frames_per_second:.1f} s.")
    if n_frames <= length:
        return None
    return length, overlap


def segment_starts(n_frames: int, length: int, overlap: int) -> list[int]:
    """First frames of equal-length segments covering ``n_frames``, consecutive ones overlapping by
    at least ``overlap`` frames (evenly spread; the last one ends at the last frame)."""
    count = -(-(n_frames - overlap) // (length - overlap))
    return [int(round(k * (n_frames - length) / (count - 1))) for k in range(count)]


def _first_phases(method, options: dict, cfg: MelConfig, n_frames: int, seed: int) -> np.ndarray:
    """Phases for a segment's fresh frames: what the method's first stage starts from itself."""
    first = build_stages(method, **options)[0][0]
    if getattr(first, "init_phase", "random") == "zero":
        return np.zeros((cfg.n_freq, n_frames), np.float32)
    rng = np.random.default_rng(seed)
    return rng.uniform(-np.pi, np.pi, (cfg.n_freq, n_frames)).astype(np.float32)


def _seam(out: np.ndarray, seg: np.ndarray, offset: int, lo: int, hi: int, length: int,
          step: int) -> tuple[int, float]:
    """Start of the ``length``-sample crossfade window in ``[lo, hi)`` (candidates ``step`` apart) where
    the previous audio (``out``) and the new segment (``seg``, starting at sample ``offset``) differ
    least, ``||a - s b||^2`` with the better sign ``s``: where the two solutions agree, or where both are
    quiet, so that the crossfade cancels nothing audible. The sign matters because a magnitude-only
    inversion is blind to it: two independent solutions may agree best with one of them negated.
    Also returns the two signals' correlation there (signed: negative when ``seg`` should be negated)."""
    starts = np.arange(lo, max(lo, hi - length) + 1, step)
    idx = starts[:, None] + np.arange(length)[None, :]
    a, b = out[idx].astype(np.float64), seg[idx - offset].astype(np.float64)
    ab, aa, bb = np.sum(a * b, axis=1), np.sum(a * a, axis=1), np.sum(b * b, axis=1)
    best = int(np.argmin(aa + bb - 2 * np.abs(ab)))
    return int(starts[best]), float(ab[best] / np.sqrt(aa[best] * bb[best] + 1e-30))


def _crossfade(out: np.ndarray, seg: np.ndarray, offset: int, a: int, b: int, rho: float = 1.0) -> None:
    """Write ``seg`` (starting at sample ``offset``) into ``out``, fading in over samples [a, b).

    ``rho`` (>= 0) is the two signals' correlation over the fade: the raised-cosine gains are scaled by
    ``1 / sqrt(w^2 + (1 - w)^2 + 2 rho w (1 - w))`` so that the fade keeps the energy for that correlation
    (plain gains summing to one for identical signals, power-complementary ones for unrelated signals)."""
    w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(a, b) - a + 0.5) / (b - a))
    k = 1.0 / np.sqrt(w * w + (1 - w) ** 2 + 2 * max(rho, 0.0) * w * (1 - w))
    out[a:b] = (out[a:b] * (1 - w) + seg[a - offset:b - offset] * w) * k
    out[b:offset + seg.shape[-1]] = seg[b - offset:]


def _warm_started(mel, cfg, starts, seg_len, *, method, seed, invert, kwargs):
    """The segments one after another, each starting on its overlap from the previous one's phase;
    stops after a segment that was interrupted."""
    stage_opts = {k: v for k, v in kwargs.items()
                  if k not in ("init_magnitude", "callback", "progress", "chunk_size", "pieces")}
    prev, prev_start = None, 0
    for k, s in enumerate(starts):
        init = None
        if prev is not None:
            init = _first_phases(method, stage_opts, cfg, seg_len, seed + k)
            shared = prev_start + seg_len - s
            init[:, :shared] = np.angle(prev.spectrogram[:, s - prev_start:])
        res = invert(mel[..., s:s + seg_len], cfg, method=method, seed=seed + k, init=init,
                     segment_seconds=None, **kwargs)
        yield res
        if res.interrupted:
            return
        prev, prev_start = res, s


def _concurrent(mel, cfg, starts, seg_len, *, method, seed, invert, kwargs, init=None):
    """The segments inverted independently, at the same time in threads (XLA runs each call on its own
    core). A Ctrl-C while waiting stops every segment at its next chunk (their best estimates are kept)."""
    stop = threading.Event()
    progress = kwargs.pop("progress", False)

    def one(k: int, s: int):
        part = None if init is None else init[..., s:s + seg_len]
        return invert(mel[..., s:s + seg_len], cfg, method=method, seed=seed + k, init=part, segment_seconds=None,
                      pieces=1, callback=lambda _: not stop.is_set(), progress=progress and k == 0, **kwargs)

    with concurrent.futures.ThreadPoolExecutor(len(starts), thread_name_prefix="melrecon-piece") as pool:
        futures = [pool.submit(one, k, s) for k, s in enumerate(starts)]
        pending, interrupted = set(futures), False
        try:
            while pending:  # short waits: the main thread runs its signal handlers (Ctrl-C) in between
                pending = concurrent.futures.wait(pending, timeout=0.1).not_done
        except KeyboardInterrupt:
            stop.set()
            interrupted = True
        results = [f.result() for f in futures]
    if interrupted:
        results = [dataclasses.replace(r, interrupted=True, stop_reason="interrupted") for r in results]
    return results


def reconstruct_segmented(mel: np.ndarray, cfg: MelConfig, plan: tuple[int, int], *, method: Any, seed: int = 0,
                          length: int | None = None, invert: Callable[..., Reconstruction], independent: bool = False,
                          init: np.ndarray | None = None, **kwargs: Any):
    """Invert a ``(n_mels, frames)`` mel in the segments of ``plan`` (see the module docstring).

    ``invert`` (:func:`melrecon.reconstruct`) inverts every segment, with ``kwargs``. Returns one
    :class:`~melrecon.reconstruct.Reconstruction` for the whole input: its ``mel_sc`` combines the
    segments' (weighted by their Mel energy), its ``history`` is the segments' mean, and
    ``settings["segments"]`` lists each segment's frames and Mel SC. Interrupted (Ctrl-C, SIGTERM), it
    returns what is done: the segments finished so far and the best estimate of the current one; the
    rest of the audio is silent.

    With ``independent``, the segments are independent (each from the method's own starting point, or
    from its part of ``init``) and run at the same time, one thread each (:mod:`melrecon.pieces`); the
    result lists them in ``settings["pieces"]`` instead, and its ``seconds`` is the longest segment's.
    """
    seg_len, overlap = plan
    n_frames = mel.shape[-1]
    starts = segment_starts(n_frames, seg_len, overlap)
    run = dict(method=method, seed=seed, invert=invert, kwargs=kwargs)
    results = (_concurrent(mel, cfg, starts, seg_len, init=init, **run) if independent
               else _warm_started(mel, cfg, starts, seg_len, **run))
    out = np.zeros(cfg.n_samples(n_frames), np.float32)
    spec = np.zeros((cfg.n_freq, n_frames), np.complex64)
    parts, histories, energy, done = [], [], [], []
    for s, res in zip(starts, results):
        _stitch(out, spec, res, s, parts[-1]["first_frame"] if parts else None, seg_len, cfg)
        energy.append(float(np.sum(np.square(np.asarray(decompress(mel[..., s:s + seg_len], cfg), np.float64)))))
        parts.append({"first_frame": s, "frames": seg_len, "mel_sc": float(res.mel_sc)})
        histories.append(res.history)
        done.append(res)
    last = done[-1]
    sc = math.sqrt(sum(p["mel_sc"] ** 2 * e for p, e in zip(parts, energy)) / max(sum(energy), 1e-30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: terms a stage does not have
        history = {name: np.nanmean(np.stack([h[name] for h in histories if h[name].shape == histories[0][name].shape]),
                                    axis=0) if name != "stage" else histories[0][name] for name in histories[0]}
    audio = out if length is None else np.pad(out, (0, max(0, length - out.shape[-1])))[:length]
    seconds = [h["time"][-1] for h in histories if len(h["time"])]
    return Reconstruction(
        audio=audio, sample_rate=cfg.sample_rate, config=cfg, method=last.method, history=history,
        evaluations=last.evaluations, stages=last.stages, mel_sc=np.float32(sc), best_iteration=last.best_iteration,
        interrupted=any(r.interrupted for r in done),
        stop_reason=next((r.stop_reason for r in done if r.stop_reason), None),
        seconds=max(seconds, default=0.0) if independent else sum(seconds), compile_seconds=last.compile_seconds,
        settings=dict(last.settings, **{"pieces" if independent else "segments": parts}, overlap_frames=overlap),
        spectrogram=spec,
    )


def _stitch(out: np.ndarray, spec: np.ndarray, res: Reconstruction, s: int, prev_start: int | None, seg_len: int,
            cfg: MelConfig) -> None:
    """Write segment ``res`` (first frame ``s``) into the audio ``out`` and the STFT ``spec``: the first as
    it is, a later one crossfaded into the previous (first frame ``prev_start``) where they agree best,
    negated when they agree best with opposite signs."""
    hop, offset = cfg.hop_length, s * cfg.hop_length
    if prev_start is None:
        out[:res.audio.shape[-1]] = res.audio
        spec[:, :seg_len] = res.spectrogram
        return
    mid = (s + prev_start + seg_len) // 2  # middle of the overlap, in frames
    quarter = (prev_start + seg_len - s) // 4
    fade = 2 * cfg.n_fft  # samples; placed where the two solutions agree best, in the middle half
    a, rho = _seam(out, res.audio, offset, (mid - quarter) * hop, (mid + quarter) * hop, fade, hop)
    sign = -1.0 if rho < 0 else 1.0
    _crossfade(out, sign * res.audio, offset, a, a + fade, abs(rho))
    cut = (a + fade // 2) // hop  # the STFT switches at the crossfade's centre frame
    spec[:, cut:s + seg_len] = sign * res.spectrogram[:, cut - s:]
