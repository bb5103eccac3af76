"""Execute a plan (:mod:`melrecon.methods.planner`) for checked mels with built stages: the one place
that maps each kind of plan to the code that runs it. Called by :func:`melrecon.reconstruct` only."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..algorithms.tolerant import CHOICES, READINGS
from .batching import invert_batches
from .planner import Plan, plan_single
from .registry import Stage
from .result import Reconstruction
from .segments import invert_pieces, invert_segmented
from .single import Run, invert_whole

__all__ = ["execute_single", "execute_items", "best_start", "estimated"]


def execute_single(mel: np.ndarray, run: Run, plan: Plan, *, init: np.ndarray | None = None,
                   length: int | None = None) -> Reconstruction:
    """One checked mel (or batch of equal-length mels) by its ``plan``."""
    if plan.kind == "segments":
        return invert_segmented(mel, run, plan, length=length)
    if plan.kind == "pieces":
        return invert_pieces(mel, run, plan, init=init, length=length)
    if plan.kind == "bucket":  # a padded batch of one: the compilation is shared with other lengths
        [res] = invert_batches([mel], run, [(plan.frames, [0])])
        if length is not None:
            res.audio = np.pad(res.audio, (0, max(0, length - res.audio.shape[-1])))[:length]
        return res
    return invert_whole(mel, run, init=init, length=length)


def execute_items(mels: Sequence[np.ndarray], run: Run, plan: Sequence[tuple[int | None, list[int]]], *,
                  segment_seconds: Any = "auto", pieces: Any = "auto") -> list[Reconstruction]:
    """Checked mels of different lengths by the item plan of :func:`~melrecon.methods.planner.plan_items`:
    padded batches, and the long items alone in segments; in input order."""
    batches = [(padded, members) for padded, members in plan if padded is not None]
    results: dict[int, Reconstruction] = {}
    if batches:
        listed = sorted({i for _, members in batches for i in members})
        remap = {i: k for k, i in enumerate(listed)}
        done = invert_batches([mels[i] for i in listed], run, [(p, [remap[i] for i in m]) for p, m in batches])
        if len(done) < len(listed):  # stopped: the unfinished items are not returned
            return done
        results.update(zip(listed, done))
    for padded, (i,) in ((p, m) for p, m in plan if p is None):  # long: the planner's segments
        single = plan_single(mels[i].shape[-1], run.cfg, segment_seconds=segment_seconds, pieces=pieces,
                             callback=run.callback is not None)
        results[i] = execute_single(mels[i], run, single)
        if results[i].interrupted:
            return [results[k] for k in sorted(results)]
    return [results[i] for i in range(len(mels))]


def best_start(run: Run, execute):
    """``execute(run)``, or, with ``run.init_phases``, once per starting phase of the first stage, keeping for
    each item the result of lowest Mel SC (``settings["init_phase_mel_sc"]`` lists each one's). With a start
    race (``run.race``), one run: its first stage races the starting phases (:meth:`Run.run`, the runner)."""
    if not run.init_phases or run.race is not None:
        return execute(run)
    (first, n), *rest = run.stages
    tried = {}
    for phase in run.init_phases:
        stages = (Stage(first.with_options({"init_phase": phase}), n), *rest)
        tried[phase] = execute(run.replace(stages=stages))
        if any(r.interrupted for r in _listed(tried[phase])):
            break
    per_item = zip(*(_listed(v) for v in tried.values()))
    chosen = []
    for results in per_item:
        scores = [float(np.mean(r.mel_sc)) for r in results]
        best = results[int(np.argmin(scores))]
        best.settings = dict(best.settings, init_phase_mel_sc=dict(zip(tried, scores)),
                             init_phase=list(tried)[int(np.argmin(scores))])
        chosen.append(best)
    return chosen if isinstance(next(iter(tried.values())), list) else chosen[0]


def _listed(results) -> list:
    return results if isinstance(results, list) else [results]


def estimated(result: Reconstruction, run: Run) -> None:
    """Record in ``result.settings["estimated"]`` what a noise-aware first stage read in the mel and chose (noise
    level, time sharpness, band spread, box nulls; smoothing, sharpening, deblur, unbox), for the summary line:
    its last step's terms (the mean over the pieces where the mel was cut), not a second reading."""
    history = result.history
    if (not hasattr(run.stages[0].algorithm, "tolerance") or "noise_level" not in history
            or np.ndim(history["noise_level"]) != 1):  # a batch: one reading per item, no summary line
        return
    steps = np.flatnonzero(np.asarray(history["stage_index"]) == 0)
    if not steps.size:
        return
    result.settings = dict(result.settings, estimated={k: round(float(np.mean(history[k][steps[-1]])), 4)
                                                       for k in (*CHOICES, *READINGS)})
