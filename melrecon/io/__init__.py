"""Files: audio through soundfile (read, mix down, resample with soxr; write atomically) and Mel arrays.

Every write goes to a temporary file in the destination folder and is renamed into place, so an
interrupted or failed write never leaves a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..core.config import ParameterError
from ..core.validation import check_sample_rate

__all__ = [
    "load_audio", "audio_length", "save_audio", "load_mel", "save_mel", "atomic_path", "check_output_path",
    "AUDIO_SUFFIXES", "MEL_SUFFIXES",
]

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
MEL_SUFFIXES = (".npy", ".npz", ".pt", ".pth", ".h5", ".hdf5")
_EXTRAS = {"torch": "torch", "h5py": "h5py"}


def require_extra(module: str, what: str):
    """Import an optional package, or raise a ParameterError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ParameterError(
            f"{module} is needed to {what} but is not installed; install it (pip install {_EXTRAS.get(module, module)}"
            f", or pip install 'melrecon[{'torch' if module == 'torch' else 'h5'}]') or convert the file to .npy."
        ) from None


def existing_file(path, what: str, expected: str = "a file with data in it") -> Path:
    """``path`` as a Path when it is a readable, non-empty file; else a ParameterError naming ``what`` and the
    ``expected`` contents (an empty file: "audio file 'x.wav' is empty (0 bytes); expected a wav, ...")."""
    p = Path(path)
    if not p.exists():
        raise ParameterError(f"{what} {str(p)!r} does not exist; check the path.")
    if not p.is_file():
        raise ParameterError(f"{what} {str(p)!r} is not a file.")
    if not os.access(p, os.R_OK):
        raise ParameterError(f"{what} {str(p)!r} is not readable; check its permissions.")
    if p.stat().st_size == 0:
        raise ParameterError(f"{what} {str(p)!r} is empty (0 bytes); expected {expected} (was it written "
                             f"completely?).")
    return p


def _audio_file(path, read):
    """(path, ``read(path)``) of an existing, non-empty file that soundfile reads; else a ParameterError."""
    p = existing_file(path, "audio file", "a wav, flac or ogg file of audio")
    try:
        return p, read(str(p))
    except Exception as exc:
        raise ParameterError(
            f"audio file {str(p)!r} could not be read as audio ({exc}); use a wav, flac or ogg file."
        ) from None


def audio_length(path) -> tuple[int, int]:
    """(samples, sample rate) of an audio file, from its header (nothing is decoded)."""
    _, info = _audio_file(path, sf.info)
    return int(info.frames), int(info.samplerate)


def load_audio(path, *, sample_rate: int | None = None, mono: bool = True) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 in [-1, 1].

    Stereo (or more channels) is mixed down to mono with a warning when ``mono``; with ``sample_rate``
    the signal is resampled (soxr, high quality) with a warning when the file's rate differs.

    Returns
    -------
    (audio, sample_rate)
    """
    sample_rate = check_sample_rate(sample_rate)
    p, (data, sr) = _audio_file(path, lambda name: sf.read(name, dtype="float32", always_2d=True))
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
        warnings.warn(f"{p.name} is at {sr} Hz; resampling to {sample_rate} Hz.", UserWarning, stacklevel=2)
        audio = soxr.resample(audio, sr, int(sample_rate), quality="HQ").astype(np.float32)
        sr = int(sample_rate)
    return np.ascontiguousarray(audio, dtype=np.float32), int(sr)


def _folder_error(folder: Path, exc: OSError) -> ParameterError:
    """Why no file can be created in ``folder``, in words (a probe's error: ENOENT from /proc is not "no such
    file")."""
    reasons = {errno.EROFS: "it is on a read-only file system", errno.EACCES: "permission denied",
               errno.EPERM: "operation not permitted", errno.ENOSPC: "the disk is full",
               errno.EDQUOT: "the disk quota is exceeded"}
    reason = reasons.get(exc.errno, f"its file system refuses new files, as virtual ones such as /proc and /sys "
                                    f"do: {exc.strerror or exc}")
    return ParameterError(f"output folder {str(folder)!r} is not writable ({reason}); choose another output path.")


def check_output_path(path, *, overwrite: bool = True, suffixes: tuple[str, ...] | None = None,
                      probe: bool = False) -> Path:
    """Check, before any work, that ``path`` can be written: its folder exists and is writable, it is
    not a folder, it has one of ``suffixes`` and (unless ``overwrite``) does not exist yet. With
    ``probe``, a temporary file is created and removed in the folder (permission bits do not tell
    the whole story: read-only mounts, ``/proc``, ...)."""
    dest = Path(path)
    if suffixes is not None and dest.suffix.lower() not in suffixes:
        raise ParameterError(f"output {str(dest)!r}: unsupported suffix {dest.suffix!r}; use one of {suffixes}.")
    folder = dest.parent if str(dest.parent) else Path(".")
    if not folder.exists():
        raise ParameterError(f"output folder {str(folder)!r} does not exist; create it first (mkdir -p).")
    if not folder.is_dir():
        raise ParameterError(f"output folder {str(folder)!r} is not a folder; choose another output path.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"output folder {str(folder)!r} is not writable; choose another output path.")
    if dest.is_dir():
        raise ParameterError(f"output {str(dest)!r} is a folder; give a file name inside it.")
    if dest.exists() and not overwrite:
        raise ParameterError(f"output {str(dest)!r} exists; pass overwrite=True (CLI: --force) to replace it.")
    if probe:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise _folder_error(folder, exc) from None
    return dest


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (setting it is not thread-safe)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path, *, overwrite: bool = True):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it.

    The temporary file (``.NAME.XXXX.part.SUFFIX`` in the destination folder) is flushed to disk and
    renamed over the destination in one step, so ``path`` is either the old file or the complete new
    one, never a partial write, even if the process is killed. On an exception (including
    KeyboardInterrupt) the temporary file is removed. The new file gets the usual permissions
    (``0o666`` less the umask, or the replaced file's mode).
    """
    dest = check_output_path(path, overwrite=overwrite)
    folder = dest.parent if str(dest.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part" + dest.suffix, dir=folder)
    except OSError as exc:
        raise _folder_error(folder, exc) from None
    os.close(fd)
    try:
        yield Path(tmp)
        mode = (os.stat(dest).st_mode & 0o7777) if dest.exists() else (0o666 & ~_umask())
        with contextlib.suppress(OSError):  # some file systems have no modes
            os.chmod(tmp, mode)
        with open(tmp, "rb") as fh:  # the data must be on disk before the rename makes it visible
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno is not None and exc.filename == tmp:
            raise OSError(exc.errno, exc.strerror, str(dest)) from None  # name the file the user asked for
        raise


def save_audio(path, audio, sample_rate: int, *, subtype: str | None = None, overwrite: bool = True) -> Path:
    """Write audio atomically (format from the suffix: wav, flac, ogg). Refuses non-finite samples.

    Samples beyond [-1, 1] are clipped with a warning for integer formats (the default wav subtype is
    PCM_16).
    """
    dest = check_output_path(path, overwrite=overwrite, suffixes=AUDIO_SUFFIXES)
    sample_rate = check_sample_rate(sample_rate)
    try:
        x = np.asarray(audio, np.float32)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"audio could not be read as float samples ({exc}).") from None
    if x.ndim not in (1, 2):
        raise ParameterError(f"audio has shape {x.shape}; write (n_samples,) or (channels, n_samples).")
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
        try:
            sf.write(str(tmp), x.T if x.ndim == 2 else x, int(sample_rate), subtype=subtype, format=fmt)
        except sf.SoundFileError as exc:  # libsndfile says "System error": find out which (a full disk?)
            _raise_if_no_room(tmp, dest, 4 * x.size + 4096)
            raise OSError(f"could not write {dest}: {exc}") from None
    return dest


def _raise_if_no_room(tmp: Path, dest: Path, n_bytes: int) -> None:
    """Raise the OS's own error (ENOSPC, EDQUOT, EFBIG) if ``n_bytes`` cannot be reserved for ``tmp``."""
    fd = os.open(tmp, os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, n_bytes)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise OSError(exc.errno, os.strerror(exc.errno), str(dest)) from None
    finally:
        os.close(fd)


def _pick(names: list[str], key: str | None, p: Path, default: str = "mel") -> str:
    if key is None:
        key = default if default in names else names[0] if len(names) == 1 else None
    if key is None or key not in names:
        raise ParameterError(f"mel file {str(p)!r} holds {names}; name the array with key=... (CLI: --mel-key).")
    return key


def _load_torch(p: Path, key: str | None) -> np.ndarray:
    torch = require_extra("torch", f"read {p.suffix} tensors")
    try:
        data = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ParameterError(f"mel file {str(p)!r} could not be read as a torch tensor ({exc}).") from None
    if isinstance(data, dict):
        data = data[_pick([str(k) for k in data], key, p)]
    if not isinstance(data, torch.Tensor):
        raise ParameterError(f"mel file {str(p)!r} holds a {type(data).__name__}; save a tensor (or a dict of them).")
    return data.detach().to(torch.float32).numpy()


def _load_h5(p: Path, key: str | None) -> np.ndarray:
    h5py = require_extra("h5py", f"read {p.suffix} feature dumps")
    try:
        with h5py.File(str(p), "r") as fh:
            names = [k for k in fh.keys() if isinstance(fh[k], h5py.Dataset)]
            return np.asarray(fh[_pick(names, key, p, default="feats")])
    except OSError as exc:
        raise ParameterError(f"mel file {str(p)!r} could not be read as HDF5 ({exc}).") from None


def load_mel(path, *, key: str | None = None) -> np.ndarray:
    """Read a Mel spectrogram: ``.npy``; ``.npz`` (key ``mel``, its only array, or ``key``); ``.pt``/``.pth``
    (a tensor or a dict of them; needs torch); ``.h5``/``.hdf5`` (dataset ``feats`` as ParallelWaveGAN
    writes it, or ``key``; needs h5py). The array is returned as stored (see
    :func:`melrecon.io.conventions.prepare` for layouts and statistics)."""
    p = existing_file(path, "mel file", f"a Mel array saved as one of {MEL_SUFFIXES}")
    suffix = p.suffix.lower()
    if suffix not in MEL_SUFFIXES:
        raise ParameterError(
            f"mel file {str(p)!r}: expected a .npy or .npz file (or .pt/.pth with torch, .h5 with h5py).")
    if suffix in (".pt", ".pth"):
        return _load_torch(p, key)
    if suffix in (".h5", ".hdf5"):
        return _load_h5(p, key)
    try:
        data = np.load(str(p), allow_pickle=False)
    except Exception as exc:
        raise ParameterError(f"mel file {str(p)!r} could not be read ({exc}).") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        return np.asarray(data[_pick(list(data.keys()), key, p)])


def save_mel(path, mel, **extra) -> Path:
    """Write a Mel spectrogram atomically to ``.npy`` (or ``.npz`` with ``mel`` and any extra arrays)."""
    dest = check_output_path(path, suffixes=(".npy", ".npz"))
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as fh:
            if dest.suffix.lower() == ".npy":
                np.save(fh, np.asarray(mel))
            else:
                np.savez(fh, mel=np.asarray(mel), **extra)
    return dest
