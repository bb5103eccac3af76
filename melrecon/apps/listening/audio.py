"""The stimuli of a listening test: inputs read as mono float arrays, low-pass anchors, loudness matching.

Loudness rule (one, documented): **RMS over the whole clip**. Every stimulus of a clip (the open reference,
the hidden reference, the anchors, each condition) is scaled to the same RMS, ``level_dbfs`` dB re full scale
(-26 dBFS by default, about the active speech level of ITU-T P.56 recordings). Should any stimulus of the clip
then peak above ``PEAK``, the whole clip's stimuli are lowered by one common gain so the loudest peak is
``PEAK``: the stimuli of a clip always share one RMS, only the absolute level moves. No K-weighting: a
low-passed anchor at the reference's RMS therefore sounds slightly louder in its remaining band, which is what
BS.1534-3 anchors usually do (they are the reference, filtered, at a matched level).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ... import io
from ...core.config import ParameterError

__all__ = ["lowpass", "rms_dbfs", "match_loudness", "as_audio", "as_clips", "PEAK", "DEFAULT_LEVEL_DBFS"]

#: Highest sample magnitude a written stimulus may reach.
PEAK = 0.99
#: The RMS level every stimulus is brought to (dB re full scale), before the common peak guard.
DEFAULT_LEVEL_DBFS = -26.0


def lowpass(audio: np.ndarray, sample_rate: int, cutoff_hz: float, *, transition: float = 0.05) -> np.ndarray:
    """Low-pass ``audio`` at ``cutoff_hz``: nothing above the cutoff remains.

    A zero-phase filter applied in the frequency domain (the signal zero-padded by 0.1 s against circular
    wrap-around): gain 1 up to ``(1 - transition) * cutoff_hz``, a raised-cosine roll-off to 0 at
    ``cutoff_hz`` (which keeps the impulse response short: no audible ringing), 0 above.

    Parameters
    ----------
    audio : np.ndarray, shape (n_samples,)
        Mono float audio.
    sample_rate : int
        Its sample rate in Hz.
    cutoff_hz : float
        The band edge; must lie below the Nyquist frequency.
    transition : float
        Width of the roll-off as a fraction of the cutoff (0.05: 3325-3500 Hz for the 3.5 kHz anchor).
    """
    nyquist = sample_rate / 2
    if not 0 < cutoff_hz < nyquist:
        raise ParameterError(f"cutoff_hz={cutoff_hz!r} must lie between 0 and the Nyquist frequency ({nyquist:g} Hz "
                             f"at {sample_rate} Hz); choose a lower anchor or a higher sample rate.")
    if not 0 < transition < 1:
        raise ParameterError(f"transition={transition!r} must lie strictly between 0 and 1 (a fraction of the cutoff).")
    x = np.asarray(audio, np.float64)
    n = x.size + int(0.1 * sample_rate)
    spec = np.fft.rfft(x, n)
    f = np.fft.rfftfreq(n, 1.0 / sample_rate)
    start = (1 - transition) * cutoff_hz
    ramp = np.clip((f - start) / (cutoff_hz - start), 0.0, 1.0)
    gain = np.where(f >= cutoff_hz, 0.0, 0.5 * (1 + np.cos(np.pi * ramp)))
    return np.fft.irfft(spec * gain, n)[: x.size].astype(np.float32)


def rms_dbfs(audio: np.ndarray) -> float:
    """The RMS level of ``audio`` in dB re full scale (-inf for silence)."""
    r = float(np.sqrt(np.mean(np.square(np.asarray(audio, np.float64))))) if np.size(audio) else 0.0
    return 20 * math.log10(r) if r > 0 else -math.inf


def match_loudness(stimuli: Mapping[str, np.ndarray], *, level_dbfs: float = DEFAULT_LEVEL_DBFS
                   ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Scale the stimuli of one clip to one RMS (the module's rule); return them and each one's gain in dB.

    Raises
    ------
    ParameterError
        When a stimulus is silent (its level cannot be matched).
    """
    if not -80.0 <= level_dbfs <= -3.0:
        raise ParameterError(f"level_dbfs={level_dbfs!r} is outside -80..-3 dBFS; -26 suits speech.")
    gains = {}
    for key, x in stimuli.items():
        level = rms_dbfs(x)
        if not math.isfinite(level) or level < -120:
            raise ParameterError(f"stimulus {key!r} is silent (RMS {level:.0f} dBFS); its loudness cannot be "
                                 f"matched. Check that this condition's audio is not empty.")
        gains[key] = level_dbfs - level
    peak = max(float(np.max(np.abs(x))) * 10 ** (gains[k] / 20) for k, x in stimuli.items())
    guard = min(0.0, 20 * math.log10(PEAK / peak)) if peak > 0 else 0.0
    gains = {k: g + guard for k, g in gains.items()}
    scaled = {k: (np.asarray(x, np.float64) * 10 ** (gains[k] / 20)).astype(np.float32) for k, x in stimuli.items()}
    return scaled, gains


def as_audio(value: Any, sample_rate: int, what: str) -> np.ndarray:
    """One stimulus as mono float32: an array, a path to an audio file (read and resampled to
    ``sample_rate``), or anything with an ``.audio`` array (a :class:`melrecon.Reconstruction`)."""
    if isinstance(value, (str, Path)):
        value, _ = io.load_audio(value, sample_rate=sample_rate)
    elif hasattr(value, "audio") and not isinstance(value, np.ndarray):
        value = value.audio
    try:
        x = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise ParameterError(f"{what} is a {type(value).__name__}; pass an audio array, a wav path or a "
                             f"reconstruction result.") from None
    x = x.reshape(-1) if x.ndim == 2 and 1 in x.shape else x
    if x.ndim != 1 or x.size < sample_rate // 10:
        raise ParameterError(f"{what} has shape {x.shape}; a stimulus is mono audio of at least 0.1 s "
                             f"(n_samples,).")
    if not np.isfinite(x).all():
        raise ParameterError(f"{what} contains NaN or inf; check that reconstruction.")
    return x


def as_clips(value: Any, what: str) -> dict[str, Any]:
    """Clips by name: a mapping stays (names as strings), a list or tuple becomes ``clip1, clip2, ...``,
    a single array or path is one clip named ``clip1``."""
    if isinstance(value, Mapping):
        out = {str(k): v for k, v in value.items()}
    elif isinstance(value, (list, tuple)) and value and not np.isscalar(value[0]):
        out = {f"clip{i + 1}": v for i, v in enumerate(value)}
    else:
        out = {"clip1": value}
    if not out:
        raise ParameterError(f"{what} is empty; give at least one clip.")
    return out


def clip_table(reference: Any, conditions: Mapping[str, Any] | Sequence[Any], sample_rate: int
               ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    """The reference and every condition as ``{clip: audio}``, each clip's stimuli cut to a common length."""
    if not isinstance(conditions, Mapping):
        conditions = {f"condition {i + 1}": c for i, c in enumerate(conditions)}
    if len(conditions) < 1:
        raise ParameterError("conditions is empty; give at least one condition (name -> audio per clip).")
    ref = {clip: as_audio(v, sample_rate, f"reference[{clip!r}]")
           for clip, v in as_clips(reference, "reference").items()}
    table = {}
    for name, value in conditions.items():
        clips = as_clips(value, f"conditions[{name!r}]")
        if set(clips) != set(ref):
            raise ParameterError(f"conditions[{name!r}] has clips {sorted(clips)} but the reference has {sorted(ref)}; "
                                 f"give every condition the reference's clips, under the same names.")
        table[str(name)] = {c: as_audio(v, sample_rate, f"conditions[{name!r}][{c!r}]") for c, v in clips.items()}
    for clip in ref:
        n = min([ref[clip].size] + [table[name][clip].size for name in table])
        ref[clip] = ref[clip][:n]
        for name in table:
            table[name][clip] = table[name][clip][:n]
    return ref, table
