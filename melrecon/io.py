"""Files: audio through soundfile (read, mix down, resample with soxr; write atomically) and Mel arrays.

Every write goes to a temporary file in the destination folder and is renamed into place, so an
interrupted or failed write never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .config import ParameterError

__all__ = ["load_audio", "save_audio", "load_mel", "save_mel", "atomic_path", "AUDIO_SUFFIXES", "MEL_SUFFIXES"]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
MEL_SUFFIXES = (".npy", ".npz")


def _existing_file(path, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"{what} {str(p)!r} does not exist; check the path.")
    if not p.is_file():
        raise ParameterError(f"{what} {str(p)!r} is not a file.")
    if not os.access(p, os.R_OK):
        raise ParameterError(f"{what} {str(p)!r} is not readable; check its permissions.")
    return p


def load_audio(path, *, sample_rate: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 in [-1, 1].

    Stereo (or more channels) is mixed down to mono with a warning when ``mono``; with ``sample_rate``
    the signal is resampled (soxr, high quality) with a warning when the file's rate differs.

    Returns
    -------
    (audio, sample_rate)
    """
    import soundfile as sf

    p = _existing_file(path, "audio file")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ParameterError(
            f"audio file {str(p)!r} could not be read as audio ({exc}); use a wav, flac or ogg file."
        ) from None
    if data.shape[0] == 0:
        raise ParameterError(f"audio file {str(p)!r} has no samples.")
    if mono and data.shape[1] > 1:
        warnings.warn(f"{p.name} has {data.shape[1]} channels; mixing down to mono.", UserWarning, stacklevel=2)
        audio = data.mean(axis=1)
    else:
        audio = data[:, 0] if mono else data.T
    if not np.isfinite(audio).all():
        raise ParameterError(f"audio file {str(p)!r} contains non-finite samples.")
    if sample_rate is not None and int(sample_rate) != sr:
        import soxr

        warnings.warn(f"{p.name} is at {sr} Hz; resampling to {sample_rate} Hz.", UserWarning, stacklevel=2)
        audio = soxr.resample(audio, sr, int(sample_rate), quality="HQ").astype(np.float32)
        sr = int(sample_rate)
    return np.ascontiguousarray(audio, dtype=np.float32), int(sr)


@contextlib.contextmanager
def atomic_path(path, *, overwrite: bool = True):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it."""
    dest = Path(path)
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.exists():
        raise ParameterError(f"output folder {str(folder)!r} does not exist; create it first.")
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"output folder {str(folder)!r} is not writable; choose another output path.")
    if dest.exists() and not overwrite:
        raise ParameterError(f"output {str(dest)!r} exists; pass overwrite=True (CLI: --force) to replace it.")
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part" + dest.suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def save_audio(path, audio, sample_rate: int, *, subtype: str | None = None, overwrite: bool = True) -> Path:
    """Write audio atomically (format from the suffix: wav, flac, ogg). Refuses non-finite samples.

    Samples beyond [-1, 1] are clipped with a warning for integer formats (the default wav subtype is
    PCM_16).
    """
    import soundfile as sf

    dest = Path(path)
    if dest.suffix.lower() not in AUDIO_SUFFIXES:
        raise ParameterError(f"output {str(dest)!r}: unsupported audio suffix; use one of {AUDIO_SUFFIXES}.")
    x = np.asarray(audio, np.float32)
    if x.size == 0:
        raise ParameterError("audio is empty; nothing to write.")
    if not np.isfinite(x).all():
        raise ParameterError("audio contains NaN or inf; refusing to write it.")
    peak = float(np.abs(x).max())
    if peak > 1.0 and (subtype or "PCM_16").startswith("PCM"):
        warnings.warn(f"audio peaks at {peak:.3f} > 1; clipping to [-1, 1] for {dest.name}.", UserWarning, stacklevel=2)
        x = np.clip(x, -1.0, 1.0)
    fmt = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[dest.suffix.lower()]
    with atomic_path(dest, overwrite=overwrite) as tmp:
        sf.write(str(tmp), x.T if x.ndim == 2 else x, int(sample_rate), subtype=subtype, format=fmt)
    return dest


def load_mel(path, *, key: str | None = None) -> np.ndarray:
    """Read a Mel spectrogram from ``.npy`` or ``.npz`` (key ``mel``, or its only array, or ``key``)."""
    p = _existing_file(path, "mel file")
    if p.suffix.lower() not in MEL_SUFFIXES:
        raise ParameterError(f"mel file {str(p)!r}: expected a .npy or .npz file.")
    try:
        data = np.load(str(p), allow_pickle=False)
    except Exception as exc:
        raise ParameterError(f"mel file {str(p)!r} could not be read ({exc}).") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        names = list(data.keys())
        if key is None:
            key = "mel" if "mel" in names else names[0] if len(names) == 1 else None
        if key is None or key not in names:
            raise ParameterError(f"mel file {str(p)!r} holds {names}; name the array with key=... (CLI: --mel-key).")
        return np.asarray(data[key])


def save_mel(path, mel, **extra) -> Path:
    """Write a Mel spectrogram atomically to ``.npy`` (or ``.npz`` with ``mel`` and any extra arrays)."""
    dest = Path(path)
    if dest.suffix.lower() not in MEL_SUFFIXES:
        raise ParameterError(f"output {str(dest)!r}: use a .npy or .npz suffix.")
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            if dest.suffix.lower() == ".npy":
                np.save(fh, np.asarray(mel))
            else:
                np.savez(fh, mel=np.asarray(mel), **extra)
    return dest
