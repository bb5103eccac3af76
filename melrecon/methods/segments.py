"""Any length in bounded memory: a long Mel spectrogram is inverted in overlapping segments; and the
independent pieces that use every CPU core (both planned by :mod:`melrecon.methods.planner`).

Every segment has the same number of frames (one compilation); consecutive segments overlap by
:func:`~melrecon.methods.planner.overlap_frames`. A segment after the first starts, on its overlap, from
the phase the previous segment ended with (its returned STFT), so both agree on the shared frames up to
the usual drift of a few hundred iterations; the audio is then crossfaded (raised cosine, ``2 n_fft``
samples) at the place in the middle half of the overlap, away from either segment's edge frames, where
the two segments' audio differs least (where they agree, or both are quiet), with gains that keep the
energy for the two signals' correlation there, so that drifted phases never cancel energy at a seam.
Peak memory depends on the segment, not on the file: only the current segment's problem lives on the
device. A segment long enough for it is itself cut into pieces.

Pieces are independent (each from the method's own starting point, or from its part of a given start),
run at the same time, one thread each (XLA runs each call on its own core), and are stitched the same way.
Every part runs through :func:`melrecon.methods.single.invert_whole`: checked once, built once, by the
front door.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import threading
import warnings

import numpy as np

from ..core.config import MelConfig
from ..core.transforms import decompress_kernel
from .planner import Plan, segment_offsets
from .result import Reconstruction
from .single import Run, invert_whole, phase_array, problem_of

__all__ = ["invert_segmented", "invert_pieces"]


def _seam(out: np.ndarray, seg: np.ndarray, offset: int, lo: int, hi: int, length: int,
          step: int) -> tuple[int, float]:
    """Start of the ``length``-sample crossfade window in ``[lo, hi)`` (candidates ``step`` apart) where
    the previous audio (``out``) and the new segment (``seg``, starting at sample ``offset``) differ
    least, ``||a - s b||^2`` with the better sign ``s``: where the two solutions agree, or where both are
    quiet, so that the crossfade cancels nothing audible. The sign matters because a magnitude-only
    inversion is blind to it: two independent solutions may agree best with one of them negated.
    Also returns the two signals' correlation there (signed: negative when ``seg`` should be negated)."""
    candidates = np.arange(lo, max(lo, hi - length) + 1, step)
    idx = candidates[:, None] + np.arange(length)[None, :]
    a, b = out[idx].astype(np.float64), seg[idx - offset].astype(np.float64)
    ab, aa, bb = np.sum(a * b, axis=1), np.sum(a * a, axis=1), np.sum(b * b, axis=1)
    best = int(np.argmin(aa + bb - 2 * np.abs(ab)))
    return int(candidates[best]), float(ab[best] / np.sqrt(aa[best] * bb[best] + 1e-30))


def _crossfade(out: np.ndarray, seg: np.ndarray, offset: int, a: int, b: int, rho: float = 1.0) -> None:
    """Write ``seg`` (starting at sample ``offset``) into ``out``, fading in over samples [a, b).

    ``rho`` (>= 0) is the two signals' correlation over the fade: the raised-cosine gains are scaled by
    ``1 / sqrt(w^2 + (1 - w)^2 + 2 rho w (1 - w))`` so that the fade keeps the energy for that correlation
    (plain gains summing to one for identical signals, power-complementary ones for unrelated signals)."""
    w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(a, b) - a + 0.5) / (b - a))
    k = 1.0 / np.sqrt(w * w + (1 - w) ** 2 + 2 * max(rho, 0.0) * w * (1 - w))
    out[a:b] = (out[a:b] * (1 - w) + seg[a - offset:b - offset] * w) * k
    out[b:offset + seg.shape[-1]] = seg[b - offset:]


def _segment(mel: np.ndarray, run: Run, init, piece: tuple[int, int] | None) -> Reconstruction:
    """One segment: in the pieces the plan gives it, else whole."""
    if piece is not None:
        return invert_pieces(mel, run, Plan("pieces", *piece), init=init)
    return invert_whole(mel, run, init=init)


def _warm_started(mel, run: Run, offsets, plan: Plan):
    """The segments one after another (first frames ``offsets``), each starting on its overlap from the
    previous one's phase; stops after a segment that was interrupted."""
    prev, prev_offset, seg_len = None, 0, plan.frames
    for k, s in enumerate(offsets):
        init = None
        if prev is not None:
            piece = mel[..., s:s + seg_len]
            init = phase_array(run.stages, run.cfg, seg_len, run.seed + k,
                               magnitude=lambda: problem_of(piece, run.cfg, run.init_magnitude).magnitude)
            shared = prev_offset + seg_len - s
            init[:, :shared] = np.angle(prev.spectrogram[:, s - prev_offset:])
        res = _segment(mel[..., s:s + seg_len], run.replace(seed=run.seed + k), init, plan.piece)
        yield res
        if res.interrupted:
            return
        prev, prev_offset = res, s


def _concurrent(mel, run: Run, offsets, seg_len, init=None):
    """The pieces inverted independently, at the same time in threads (XLA runs each call on its own
    core). A Ctrl-C while waiting stops every piece at its next chunk (their best estimates are kept)."""
    stop = threading.Event()

    def one(k: int, s: int):
        part = None if init is None else init[..., s:s + seg_len]
        piece = run.replace(seed=run.seed + k, callback=lambda _: not stop.is_set(), progress=run.progress and k == 0)
        return invert_whole(mel[..., s:s + seg_len], piece, init=part)

    with concurrent.futures.ThreadPoolExecutor(len(offsets), thread_name_prefix="melrecon-piece") as pool:
        futures = [pool.submit(one, k, s) for k, s in enumerate(offsets)]
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


def invert_segmented(mel: np.ndarray, run: Run, plan: Plan, *, length: int | None = None) -> Reconstruction:
    """Invert a checked ``(n_mels, frames)`` mel in the segments of ``plan`` (see the module docstring);
    each segment cut into pieces where the plan says so (``plan.piece``).

    Returns one :class:`~melrecon.methods.result.Reconstruction` for the whole input: its ``mel_sc``
    combines the segments' (weighted by their Mel energy), its ``history`` is the segments' mean, and
    ``settings["segments"]`` lists each segment's frames and Mel SC. Interrupted (Ctrl-C, SIGTERM), it
    returns what is done: the segments finished so far and the best estimate of the current one; the
    rest of the audio is silent.
    """
    offsets = segment_offsets(mel.shape[-1], plan.frames, plan.overlap)
    return _joined(mel, run, offsets, plan, _warm_started(mel, run, offsets, plan), length, False)


def invert_pieces(mel: np.ndarray, run: Run, plan: Plan, *, init: np.ndarray | None = None,
                  length: int | None = None) -> Reconstruction:
    """Invert a checked ``(n_mels, frames)`` mel in the independent pieces of ``plan``, at the same time;
    as :func:`invert_segmented`, with ``settings["pieces"]`` and the longest piece's ``seconds``."""
    offsets = segment_offsets(mel.shape[-1], plan.frames, plan.overlap)
    return _joined(mel, run, offsets, plan, _concurrent(mel, run, offsets, plan.frames, init=init), length, True)


def _joined(mel, run: Run, offsets, plan: Plan, results, length, independent: bool) -> Reconstruction:
    """One result of the stitched parts."""
    cfg, seg_len, overlap = run.cfg, plan.frames, plan.overlap
    n_frames = mel.shape[-1]
    out = np.zeros(cfg.n_samples(n_frames), np.float32)
    spec = np.zeros((cfg.n_freq, n_frames), np.complex64)
    parts, histories, energy, done = [], [], [], []
    for s, res in zip(offsets, results):
        _stitch(out, spec, res, s, parts[-1]["first_frame"] if parts else None, seg_len, cfg)
        energy.append(float(np.sum(np.square(decompress_kernel(np.asarray(mel[..., s:s + seg_len], np.float64), cfg,
                                                               xp=np)))))
        parts.append({"first_frame": s, "frames": seg_len, "mel_sc": float(res.mel_sc)})
        histories.append(res.history)
        done.append(res)
    last = done[-1]
    sc = math.sqrt(sum(p["mel_sc"] ** 2 * e for p, e in zip(parts, energy)) / max(sum(energy), 1e-30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: terms a stage does not have
        history = {name: np.nanmean(np.stack([h[name] for h in histories if h[name].shape == histories[0][name].shape]),
                                    axis=0) if name != "stage_index" else histories[0][name] for name in histories[0]}
    audio = out if length is None else np.pad(out, (0, max(0, length - out.shape[-1])))[:length]
    seconds = [h["time"][-1] for h in histories if len(h["time"])]
    return Reconstruction(
        audio=audio, sample_rate=cfg.sample_rate, config=cfg, method=last.method, history=history,
        evaluations=last.evaluations, stage_spans=last.stage_spans, mel_sc=np.float32(sc),
        best_iteration=last.best_iteration,
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
