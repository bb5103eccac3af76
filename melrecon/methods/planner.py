"""How a checked problem runs: whole, in length buckets, in segments (long inputs), in pieces (cores).

One planner for single mels, lists and the batch engines, so no caller decides it again:

* :func:`segment_plan`: a long single mel is inverted in overlapping segments of a bounded length
  (:mod:`melrecon.methods.segments`), so memory depends on the segment, not on the input;
* :func:`piece_plan`: on a CPU, a mel long enough for it is cut into pieces inverted at the same time;
* :func:`plan_items`: items of different lengths go in a few padded length buckets
  (:func:`plan_buckets`), and those long enough to be segmented alone.

Both segments and pieces overlap by :func:`overlap_frames`.

Pieces: both CPU cores for one inversion, the frame axis in independent pieces, inverted at the same time.

Every method's iteration couples all frames, and XLA's CPU runtime runs one compiled loop on one core
(it overlaps independent operations only at a program's top level, not inside a loop body). Two
programs called from two Python threads, however, run on two cores at once (JAX releases the GIL
while a program runs). So on a CPU, a single mel long enough for it is cut into as many pieces as the
process may use cores (``os.sched_getaffinity``, at most :data:`MAX_PIECES`): equal frame counts (one
compilation serves all), consecutive ones overlapping by :data:`OVERLAP_SECONDS`. Each piece runs the
whole pipeline (magnitude estimate, initial phase, every stage, inverse STFT) in its own thread, from
its own seed (``seed + k``), and the pieces are stitched as :mod:`melrecon.methods.segments` stitches segments:
crossfaded where the two solutions agree best in the middle half of the overlap (negated first when
they agree best with opposite signs: a magnitude-only inversion is blind to the sign), with gains that
keep the energy for the two signals' measured correlation. The output is exactly as long as a whole
run's, and the same from run to run.

``reconstruct(..., pieces="auto")`` (default) does this for single mels of at least
:data:`MIN_SECONDS` on the CPU backend, without a callback; ``pieces=1`` (or ``None``) never, an integer
``n`` cuts into up to ``n`` pieces whatever the length and backend (each piece at least two overlaps
long). The environment variable ``MELRECON_PIECES`` (``off``, ``auto`` or an integer) sets what
``"auto"`` means. Long inputs inverted in segments (:mod:`melrecon.methods.segments`) are cut per segment.
"""

from __future__ import annotations

import math
import os
from typing import Any, NamedTuple, Sequence

import jax

from ..core.config import MelConfig, ParameterError
from ..core.validation import check_iterations
from .batching import default_batch_size

__all__ = ["ENV_VAR", "MIN_SECONDS", "OVERLAP_SECONDS", "MAX_PIECES", "AUTO_SEGMENT_SECONDS", "AUTO_THRESHOLD_SECONDS",
           "usable_cores", "piece_count", "piece_plan", "segment_plan", "segment_offsets", "overlap_frames",
           "plan_buckets", "plan_items", "Plan", "plan_single", "padded_length", "fitted_length", "check_batching"]

#: Environment variable: what ``pieces="auto"`` means (``off``/``1``, ``auto``, or a piece count).
ENV_VAR = "MELRECON_PIECES"
#: Shortest input (seconds) that ``"auto"`` cuts: below it the overlap and threads cost more than they save.
MIN_SECONDS = 4.0
#: Overlap of consecutive pieces and segments (seconds; at least eight frames' worth of ``n_fft``).
OVERLAP_SECONDS = 1.0
#: Segment length of ``segment_seconds="auto"``, and the input length past which it segments.
AUTO_SEGMENT_SECONDS = 30.0
AUTO_THRESHOLD_SECONDS = 60.0
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
    overlap = overlap_frames(cfg)
    while count > 1:
        length = -(-(n_frames + (count - 1) * overlap) // count)
        if length >= 2 * overlap:
            return length, overlap
        count -= 1
    return None


def overlap_frames(cfg: MelConfig) -> int:
    """Frames by which consecutive segments or pieces overlap: :data:`OVERLAP_SECONDS`, and at least eight
    times the frames a cut edge disturbs."""
    edge = -(-cfg.n_fft // cfg.hop_length)
    return max(8 * edge, int(round(OVERLAP_SECONDS * cfg.sample_rate / cfg.hop_length)))


def _segment_seconds(segment_seconds: Any) -> float | None:
    """A checked ``segment_seconds`` setting: None (never), "auto" (as -1.0) or seconds."""
    if segment_seconds is None:
        return None
    if isinstance(segment_seconds, str) and segment_seconds == "auto":
        return -1.0
    ok = isinstance(segment_seconds, (int, float)) and not isinstance(segment_seconds, bool)
    if not ok or not math.isfinite(segment_seconds) or segment_seconds <= 0:
        raise ParameterError(f"segment_seconds={segment_seconds!r} must be 'auto', None (never segment) or "
                             f"a positive number of seconds (e.g. 30).")
    return float(segment_seconds)


def segment_plan(n_frames: int, cfg: MelConfig, segment_seconds: Any = "auto") -> tuple[int, int] | None:
    """``(segment_frames, overlap_frames)`` for a mel of ``n_frames`` frames, or None (invert it whole)."""
    seconds = _segment_seconds(segment_seconds)
    if seconds is None:
        return None
    frames_per_second = cfg.sample_rate / cfg.hop_length
    if seconds < 0:  # "auto"
        if n_frames <= AUTO_THRESHOLD_SECONDS * frames_per_second:
            return None
        seconds = AUTO_SEGMENT_SECONDS
    length = int(round(seconds * frames_per_second))
    overlap = overlap_frames(cfg)
    if length < 4 * overlap:
        raise ParameterError(f"segment_seconds={segment_seconds!r} is too short for segments that overlap by "
                             f"{overlap} frames; give at least {4 * overlap / frames_per_second:.1f} s.")
    if n_frames <= length:
        return None
    return length, overlap


def segment_offsets(n_frames: int, length: int, overlap: int) -> list[int]:
    """First frames of equal-length segments covering ``n_frames``, consecutive ones overlapping by
    at least ``overlap`` frames (evenly spread; the last one ends at the last frame)."""
    count = -(-(n_frames - overlap) // (length - overlap))
    return [int(round(k * (n_frames - length) / (count - 1))) for k in range(count)]


class Plan(NamedTuple):
    """How one single mel runs: ``kind`` is ``"whole"``, ``"bucket"`` (a padded batch of one, of
    ``frames`` frames: shares compilations across lengths), ``"segments"`` or ``"pieces"`` (``frames``
    per part, overlapping by ``overlap``). ``piece`` is how each segment is cut into pieces
    (``(piece_frames, overlap_frames)``; None: whole): every segment has the same length, so one decision."""

    kind: str
    frames: int = 0
    overlap: int = 0
    piece: tuple[int, int] | None = None


def plan_single(n_frames: int, cfg: MelConfig, *, segment_seconds: Any = "auto", pieces: Any = "auto",
                bucket_frames: int | str | None = None, callback: bool = False, init: bool = False,
                batched: bool = False) -> Plan:
    """The plan of one (checked) mel of ``n_frames`` frames: segments when long (never from a given
    ``init``, nor for a batch of equal-length mels; each segment in pieces when long enough for them and
    without a ``callback``), else a padded bucket when ``bucket_frames`` is given (``"auto"``:
    :func:`padded_length`), else pieces across cores (never with a ``callback`` or a batch), else whole."""
    seg = None if init or batched else segment_plan(n_frames, cfg, segment_seconds)
    if seg is not None:
        return Plan("segments", *seg, piece=None if callback else piece_plan(seg[0], cfg, pieces))
    if bucket_frames is not None and not batched:
        frames = padded_length(n_frames) if bucket_frames == "auto" else max(int(bucket_frames), n_frames)
        return Plan("bucket", frames)
    cut = None if callback or batched else piece_plan(n_frames, cfg, pieces)
    return Plan("pieces", *cut) if cut is not None else Plan("whole", n_frames)


def plan_buckets(n_frames: Sequence[int], *, batch_size: int = 32, max_buckets: int = 4, multiple: int = 1,
                 bucket_frames: int | None = None) -> list[tuple[int, list[int]]]:
    """Group items by length: ``[(padded_frames, [item indices]), ...]``, one entry per padded batch.

    Items are sorted by length and cut into at most ``max_buckets`` groups of about equal count; a
    group's padded length is its longest item rounded up to :func:`padded_length`. A group larger than
    ``batch_size`` is split into equal-size batches (so every batch of a bucket has the same shape and
    reuses one compilation; the last batch is filled up with repeats of its items, dropped afterwards).
    Batch sizes are rounded up to a multiple of ``multiple`` (the device count). With ``bucket_frames``
    every batch is padded to that length (one bucket).
    """
    if len(n_frames) == 0:
        return []
    order = sorted(range(len(n_frames)), key=lambda i: n_frames[i])
    n_groups = 1 if bucket_frames is not None else min(max_buckets, len(order))
    bounds = _bounds_by_padded_length([padded_length(n_frames[i]) for i in order], n_groups)
    plan = []
    for g in range(n_groups):
        members = order[bounds[g]:bounds[g + 1]]
        if not members:
            continue
        padded = bucket_frames or padded_length(max(n_frames[i] for i in members))
        n_batches = -(-len(members) // batch_size)
        per_batch = -(-len(members) // n_batches)
        size = -(-per_batch // multiple) * multiple
        for k in range(n_batches):
            plan.append((padded, members[k * per_batch:(k + 1) * per_batch], size))
    return [(padded, idx) if len(idx) == size else (padded, idx + [idx[j % len(idx)] for j in range(size - len(idx))])
            for padded, idx, size in plan]


def _bounds_by_padded_length(padded: list[int], n_groups: int) -> list[int]:
    """Cut points of ``n_groups`` groups of about equal count over items sorted by length, each moved to the
    nearest place where the padded length changes: items of one padded length share a bucket (never two
    buckets of one shape)."""
    n = len(padded)
    bounds = [round(k * n / n_groups) for k in range(n_groups + 1)]
    for k in range(1, n_groups):
        lo = hi = max(bounds[k], bounds[k - 1])
        while 0 < hi < n and padded[hi] == padded[hi - 1]:
            hi += 1
        while lo > bounds[k - 1] and padded[lo] == padded[lo - 1]:
            lo -= 1
        down_ok = lo == 0 or lo == n or padded[lo] != padded[lo - 1]
        bounds[k] = lo if down_ok and bounds[k] - lo < hi - bounds[k] else hi
    return bounds


def padded_length(n_frames: int, *, per_octave: int = 4, minimum: int = 32) -> int:
    """The one padding rule: the padded frame count of a mel (or of a bucket whose longest item has) ``n_frames``
    frames: the smallest of ``minimum`` and ``2**e * (1 + k / per_octave)`` (rounded up to 8 frames) that holds
    it, so that mels of different lengths, in one call or across calls and processes, share a few compiled
    shapes (at most ~19 % padding with 4 sizes per octave).

    >>> [padded_length(n) for n in (10, 100, 129, 273, 861)]
    [32, 112, 160, 320, 896]
    """
    n = max(int(n_frames), 1)
    if n <= minimum:
        return minimum
    octave = 1 << (n.bit_length() - 1)
    for k in range(per_octave + 1):
        size = -(-(octave * (per_octave + k)) // (per_octave * 8)) * 8
        if size >= n:
            return size
    return -(-2 * octave // 8) * 8  # pragma: no cover - k = per_octave always holds n


def fitted_length(padded: int, frames: Sequence[int]) -> int:
    """A planned padded length raised, where needed, to hold mels whose frames (as read) exceed the plan's
    estimate (e.g. from an audio file's header)."""
    return max(padded, *(padded_length(n) for n in frames))


def check_batching(batch_size: Any, max_buckets: Any) -> tuple[int, int]:
    """Checked batching settings of a list of mels or a folder (``batch_size`` None: the backend's default)."""
    batch_size = default_batch_size() if batch_size is None else check_iterations("batch_size", batch_size, minimum=1)
    return batch_size, check_iterations("max_buckets", max_buckets, minimum=1)


def plan_items(frames: Sequence[int], cfg: MelConfig, *, batch_size: int, max_buckets: int, multiple: int = 1,
               segment_seconds: Any = "auto", bucket_frames: int | None = None,
               kinds: Sequence | None = None) -> list[tuple[int | None, list[int]]]:
    """Padded batches ``(padded_frames, members)`` (fill-ups included) of items of ``frames`` frames; items
    long enough to be segmented come alone as ``(None, [i])``. With ``kinds`` (e.g. each file's mel source),
    items of different kinds never share a batch."""
    kinds = [None] * len(frames) if kinds is None else list(kinds)
    plan = []
    for kind in dict.fromkeys(kinds):
        idx = [i for i, k in enumerate(kinds) if k == kind]
        part = _plan_one_kind([frames[i] for i in idx], cfg, batch_size=batch_size, max_buckets=max_buckets,
                              multiple=multiple, segment_seconds=segment_seconds, bucket_frames=bucket_frames)
        plan += [(padded, [idx[j] for j in members]) for padded, members in part]
    return plan


def _plan_one_kind(frames, cfg, *, batch_size, max_buckets, multiple, segment_seconds, bucket_frames):
    long = [i for i, n in enumerate(frames) if segment_plan(n, cfg, segment_seconds) is not None]
    short = sorted(set(range(len(frames))) - set(long))
    plan = plan_buckets([frames[i] for i in short], batch_size=batch_size, max_buckets=max_buckets,
                        multiple=multiple, bucket_frames=bucket_frames)
    return [(padded, [short[j] for j in members]) for padded, members in plan] + [(None, [i]) for i in long]
