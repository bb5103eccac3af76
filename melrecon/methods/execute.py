"""Execute a plan (:mod:`melrecon.methods.planner`) for checked mels with built stages: the one place
that maps each kind of plan to the code that runs it. Called by :func:`melrecon.reconstruct` only."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .batching import invert_batches
from .planner import Plan, segment_plan
from .result import Reconstruction
from .segments import invert_pieces, invert_segmented
from .single import Run, invert_whole

__all__ = ["execute_single", "execute_items"]


def execute_single(mel: np.ndarray, run: Run, plan: Plan, *, init: np.ndarray | None = None,
                   length: int | None = None, pieces: Any = "auto") -> Reconstruction:
    """One checked mel (or batch of equal-length mels) by its ``plan``."""
    if plan.kind == "segments":
        return invert_segmented(mel, run, (plan.frames, plan.overlap), length=length, pieces=pieces)
    if plan.kind == "pieces":
        return invert_pieces(mel, run, (plan.frames, plan.overlap), init=init, length=length)
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
    for padded, (i,) in ((p, m) for p, m in plan if p is None):
        seg = segment_plan(mels[i].shape[-1], run.cfg, segment_seconds)
        results[i] = execute_single(mels[i], run, Plan("segments", *seg), pieces=pieces)
        if results[i].interrupted:
            return [results[k] for k in sorted(results)]
    return [results[i] for i in range(len(mels))]
