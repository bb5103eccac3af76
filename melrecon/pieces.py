"""Both CPU cores for one inversion: the frame axis in independent pieces, inverted at the same time.

Every method's iteration couples all frames, and XLA's CPU runtime runs one compiled loop on one core
(it overlaps independent operations only at a program's top level, not inside a loop body). Two
programs called from two Python threads, however, run on two cores at once (JAX releases the GIL
while a program runs). So on a CPU, a single mel long enough for it is cut into as many pieces as the
process may use cores (``os.sched_getaffinity``, at most :data:`MAX_PIECES`): equal frame counts (one
compilation serves all), consecutive ones overlapping by :data:`OVERLAP_SECONDS`. Each piece runs the
whole pipeline (magnitude estimate, initial phase, every stage, inverse STFT) in its own thread, from
its own seed (``seed + k``), and the pieces are stitched as :mod:`melrecon.segments` stitches segments:
crossfaded where the two solutions agree best in the middle half of the overlap (negated first when
they agree best with opposite signs: a magnitude-only inversion is blind to the sign), with gains that
keep the energy for the two signals' measured correlation. The output is exactly as long as a whole
run's, and the same from run to run.

``reconstruct(..., pieces="auto")`` (default) does this for single mels of at least
:data:`MIN_SECONDS` on the CPU backend, without a callback; ``pieces=1`` (or ``None``) never, an integer
``n`` cuts into up to ``n`` pieces whatever the length and backend (each piece at least two overlaps
long). The environment variable ``MELRECON_PIECES`` (``off``, ``auto`` or an integer) sets what
``"auto"`` means. Long inputs inverted in segments (:mod:`melrecon.segments`) are cut per segment.
"""

from __future__ import annotations

import os
from typing import Any

import jax

from .config import MelConfig, ParameterError

__all__ = ["ENV_VAR", "MIN_SECONDS", "OVERLAP_SECONDS", "MAX_PIECES", "usable_cores", "piece_count", "piece_plan"]

#: Environment variable: what ``pieces="auto"`` means (``off``/``1``, ``auto``, or a piece count).
ENV_VAR = "MELRECON_PIECES"
#: Shortest input (seconds) that ``"auto"`` cuts: below it the overlap and threads cost more than they save.
MIN_SECONDS = 4.0
#: Overlap of consecutive pieces (seconds; at least eight frames' worth of ``n_fft``).
OVERLAP_SECONDS = 1.0
#: Most pieces ``"auto"`` makes.
MAX_PIECES = 8


def usable_cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _count(value: Any, name: str) -> int | str:
    """A checked piece setting: an int >= 1, or "auto"."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("off", "none", "")):
        return 1
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ParameterError(f"{name}={value!r} must be 'auto', 'off' (or 1, None: never cut) or a piece count >= 1.")
    return int(value)


def piece_count(pieces: Any = "auto") -> int | str:
    """How many pieces a setting asks for: an int, or ``"auto"`` (after ``$MELRECON_PIECES``), which
    :func:`piece_plan` resolves by length, cores and backend."""
    count = _count(pieces, "pieces")
    if count == "auto":
        count = _count(os.environ.get(ENV_VAR, "auto"), ENV_VAR)
    return count


def piece_plan(n_frames: int, cfg: MelConfig, pieces: Any = "auto") -> tuple[int, int] | None:
    """``(piece_frames, overlap_frames)`` for cutting a mel of ``n_frames`` frames, or None (whole)."""
    count = piece_count(pieces)
    frames_per_second = cfg.sample_rate / cfg.hop_length
    if count == "auto":
        if jax.default_backend() != "cpu" or n_frames < MIN_SECONDS * frames_per_second:
            return None
        count = min(usable_cores(), MAX_PIECES)
    edge = -(-cfg.n_fft // cfg.hop_length)  # frames a piece's edge disturbs
    overlap = max(8 * edge, int(round(OVERLAP_SECONDS * frames_per_second)))
    while count > 1:
        length = -(-(n_frames + (count - 1) * overlap) // count)
        if length >= 2 * overlap:
            return length, overlap
        count -= 1
    return None
