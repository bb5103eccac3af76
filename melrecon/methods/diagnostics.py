"""Checks on a finished reconstruction: a run that reproduced nothing of its target must say so.

A method that never moved from its start (for instance from near-silence, where the Mel's gradient
vanishes) hands back audio whose Mel spectral convergence is about 1: near-silence or noise. Such a run
is reported with a :class:`NoProgressWarning` (a ``RuntimeWarning``) instead of looking like a success;
the command line turns it into a non-zero exit status.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

__all__ = ["NoProgressWarning", "NO_PROGRESS_MEL_SC", "no_progress_items", "warn_if_no_progress"]

#: A result whose Mel spectral convergence is above this reproduced (almost) nothing of the target.
NO_PROGRESS_MEL_SC = 0.9


class NoProgressWarning(RuntimeWarning):
    """A reconstruction ended with no progress (Mel spectral convergence near 1)."""


def no_progress_items(results: Any) -> list[int]:
    """Indices (flattened over a batch, or over a list of results) whose Mel SC is above the threshold.

    Runs stopped by Ctrl-C or a callback, and runs of zero iterations, are not judged.
    """
    items = results if isinstance(results, (list, tuple)) else [results]
    bad: list[int] = []
    offset = 0
    for r in items:
        sc = np.atleast_1d(np.asarray(r.mel_sc, np.float64)).ravel()
        if r.stop_reason not in ("interrupted", "callback") and r.n_iterations > 0:
            bad.extend(offset + int(i) for i in np.flatnonzero(sc > NO_PROGRESS_MEL_SC))
        offset += sc.size
    return bad


def warn_if_no_progress(results: Any, *, stacklevel: int = 2) -> None:
    """Warn (:class:`NoProgressWarning`) when any item of ``results`` ended with no progress."""
    bad = no_progress_items(results)
    if not bad:
        return
    items: Sequence = results if isinstance(results, (list, tuple)) else [results]
    first = items[0]
    worst = max(float(np.max(r.mel_sc)) for r in items)
    where = "" if len(bad) == 1 and bad == [0] and np.size(first.mel_sc) == 1 else f" (items {bad[:8]})"
    warnings.warn(
        f"no progress: method {first.method!r} ended with Mel SC {worst:.4f}{where} after {first.n_iterations} "
        f"iterations (1 means nothing of the target was reproduced: the audio is near-silence or noise). "
        f"Check that the preset matches how the mel was made (power, compression, sample rate) or try "
        f"method='meladmm+melgl'.",
        NoProgressWarning,
        stacklevel=stacklevel + 1,
    )
