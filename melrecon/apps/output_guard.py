"""Never write damage: what the command line checks between a reconstruction and its file.

* A mel that fails the convention check (:func:`melrecon.io.conventions.check_convention`: values of another
  compression, or mean/variance-normalised without ``--stats``) is reported **once** (the read and the
  reconstruction would each say it), and if its result would clip (peak beyond full scale, or more than a
  trace of samples at it) nothing is written: the message gives the fix (``--stats``, ``--preset``) and
  ``--force`` writes it all the same (scaled, as below).
* Any other result that would clip is scaled to just below full scale, with a note of the gain.
"""

from __future__ import annotations

import contextlib
import math
import re
import warnings

import numpy as np

from ..core.config import ParameterError
from ..io.conventions import convention_message, prepare

__all__ = ["prepare_once", "convention_quiet", "guard_output", "FULL_SCALE_TARGET", "CLIP_TRACE"]

FULL_SCALE_TARGET = 0.99  # peak after scaling: just below full scale (-0.09 dBFS)
CLIP_TRACE = 1e-3  # more than this fraction of samples at full scale is not a trace


def _body(message: str, name: str) -> str:
    """The part of a convention message after the mel's name (the same whatever the name)."""
    return message[len(name):] if message.startswith(name) else message


def prepare_once(mel, cfg, *, layout=None, stats=None, name: str = "mel"):
    """:func:`melrecon.io.conventions.prepare` with its convention warning held back: -> (mel, message or None).

    The caller says the message once (or records it); other warnings of the read pass through.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arr = prepare(mel, cfg, layout=layout, stats=stats, name=name)
    message = convention_message(arr, cfg, name=name)
    for w in caught:
        if message is None or str(w.message) != message:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return arr, message


@contextlib.contextmanager
def convention_quiet(*messages):
    """Silence the reconstruction's repeat of convention messages already said (under whatever name,
    ``mel[0]`` ...)."""
    with warnings.catch_warnings():
        for message, name in messages:
            if message:
                warnings.filterwarnings("ignore", message=".*" + re.escape(_body(message, name)) + "$")
        yield


def _clip_facts(audio: np.ndarray) -> tuple[float, float]:
    x = np.abs(np.asarray(audio, np.float32))
    return float(x.max()) if x.size else 0.0, float(np.mean(x >= 1.0)) if x.size else 0.0


def would_clip(audio) -> bool:
    peak, at_full = _clip_facts(audio)
    return peak > 1.0 or at_full > CLIP_TRACE


def guard_output(audio, *, convention: str | None, force: bool, where: str, fix: str, said: bool = False):
    """-> (audio to write, note or None). Raises ParameterError when the result of a mel that failed the
    convention check would clip and ``force`` is not set (its message repeats the convention message unless
    ``said``: printed already); otherwise a peak beyond full scale is scaled to :data:`FULL_SCALE_TARGET`
    (the note says by how much)."""
    peak, at_full = _clip_facts(audio)
    clips = peak > 1.0 or at_full > CLIP_TRACE
    if clips and convention and not force:
        first = "the mel failed the convention check (warning above); n" if said else f"{convention} N"
        raise ParameterError(
            f"{first}othing was written to {where}: its reconstruction would clip (peak {peak:.3g}, "
            f"{100 * at_full:.1f} % of samples at full scale), the sign of a mel in another convention. "
            f"Fix: {fix}; or pass --force to write it anyway (scaled below full scale).")
    if peak <= 1.0:
        return audio, None
    gain = FULL_SCALE_TARGET / peak
    note = (f"{where}: the reconstruction peaked at {peak:.3g} (beyond full scale); scaled by {gain:.3g} "
            f"({20 * math.log10(gain):.1f} dB) to just below full scale instead of clipping.")
    return np.asarray(audio, np.float32) * np.float32(gain), note


def convention_fix(preset: str) -> str:
    """The fix a convention failure names."""
    return (f"pass the statistics the mel was normalised with (--stats feats_stats.npz) or the preset it was "
            f"made with (--preset NAME instead of --preset {preset}; melrecon presets lists them)")
