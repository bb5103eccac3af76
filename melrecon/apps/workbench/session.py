"""The workbench's session: clips, jobs, the worker thread, progress and results, with no widgets.

A :class:`Session` reports through callbacks (``on_progress``, ``on_result``, ``on_error``,
``on_finish``), so a view (:mod:`melrecon.apps.workbench.view`), a script or a test can drive it.
"""

from __future__ import annotations

import dataclasses
import io as _io
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile as sf
import soxr

from ...core.config import MelConfig, ParameterError, get_config
from ...core.transforms import mel_spectrogram
from ...core.validation import check_audio
from ...io import load_audio
from ...methods.resolve import resolve, source_of
from ...reconstruct import reconstruct
from .. import metrics

__all__ = ["Clip", "Request", "Session", "read_upload", "MAX_SECONDS"]

MAX_SECONDS = 20.0  # longer clips are cropped (a notebook workbench, not a batch tool)


@dataclasses.dataclass
class Clip:
    """Something to reconstruct: audio (analysed with the chosen preset) or a ready Mel spectrogram."""

    name: str
    audio: np.ndarray | None = None
    sample_rate: int | None = None
    mel: np.ndarray | None = None
    path: Path | None = None

    @property
    def mel_source(self) -> str:
        """Where the clip's mel comes from (:func:`melrecon.methods.resolve.source_of`): melrecon analyses an
        audio clip; an uploaded mel is handed in."""
        return source_of("mel" if self.mel is not None else "audio")

    def audio_at(self, sample_rate: int) -> np.ndarray:
        if self.audio is None:
            raise ParameterError(f"clip {self.name!r} is a Mel spectrogram; it has no audio.")
        if self.sample_rate == sample_rate:
            return self.audio
        return soxr.resample(self.audio, self.sample_rate, sample_rate, quality="HQ").astype(np.float32)


def _read_npy(name: str, content: bytes) -> Clip:
    try:
        data = np.load(_io.BytesIO(content), allow_pickle=False)
    except Exception as exc:
        raise ParameterError(f"{name}: could not be read as a NumPy file ({exc}).") from None
    if not isinstance(data, np.ndarray):
        names = list(data.keys())
        key = "mel" if "mel" in names else names[0] if len(names) == 1 else None
        if key is None:
            raise ParameterError(f"{name} holds {names}; save the Mel under the key 'mel'.")
        data = np.asarray(data[key])
    return Clip(name=f"upload: {name}", mel=data)


def read_upload(name: str, content: bytes) -> Clip:
    """An uploaded file as a :class:`Clip`: audio (wav, flac, ogg; mixed to mono) or a ``.npy``/``.npz`` Mel."""
    if Path(name).suffix.lower() in (".npy", ".npz"):
        return _read_npy(name, content)
    try:
        data, sr = sf.read(_io.BytesIO(content), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ParameterError(f"{name}: could not be read as audio ({exc}); upload a wav, flac or ogg file "
                             f"or a .npy/.npz Mel.") from None
    if data.shape[0] == 0 or not np.isfinite(data).all():
        raise ParameterError(f"{name}: no samples, or non-finite samples.")
    mono = np.ascontiguousarray(data.mean(axis=1), np.float32)
    return Clip(name=f"upload: {name}", audio=mono, sample_rate=int(sr))


@dataclasses.dataclass
class Request:
    """One run: the clip, its analysis, the settings for :func:`melrecon.reconstruct`, its evaluations."""

    clip: Clip
    config: MelConfig
    mel: np.ndarray
    audio: np.ndarray | None
    kwargs: dict[str, Any]
    label: str
    total: int
    eval_iters: list = dataclasses.field(default_factory=list)
    eval_sc: list = dataclasses.field(default_factory=list)
    last_draw: float = 0.0


def _noop(*args, **kwargs):
    return None


class Session:
    """Clips, jobs and results of the workbench, and the thread a run goes in.

    Callbacks (each optional): ``on_progress(request, progress)`` after every chunk (return False to stop),
    ``on_result(request, result, metrics)``, ``on_error(message, detail)``, ``on_finish(request)``.
    """

    def __init__(self, *, chunk_size: int | None = None, keep: int = 3, on_progress: Callable | None = None,
                 on_result: Callable | None = None, on_error: Callable | None = None,
                 on_finish: Callable | None = None):
        # None: reconstruct's own chunking (the best result is kept at chunk ends: the same chunks, the same audio)
        self.chunk_size = None if chunk_size is None else int(chunk_size)
        self.keep = int(keep)
        self.on_progress = on_progress or _noop
        self.on_result = on_result or _noop
        self.on_error = on_error or _noop
        self.on_finish = on_finish or _noop
        self.clips: dict[str, Clip] = {}
        self.result = None
        self.results: list[tuple[str, Any, dict]] = []
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._runs = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_clip(self, name: str, *, audio=None, sample_rate: int | None = None, mel=None) -> Clip:
        """Offer a clip (``audio`` with its ``sample_rate``) or a Mel spectrogram (``mel``)."""
        if (audio is None) == (mel is None):
            raise ParameterError("add_clip needs either audio=(samples) with sample_rate=..., or mel=...")
        if audio is not None:
            if sample_rate is None:
                raise ParameterError("add_clip(audio=...) needs sample_rate=... (Hz).")
            audio = check_audio(audio)
            if audio.ndim != 1:
                audio = audio.reshape(-1, audio.shape[-1]).mean(axis=0)
        src = Clip(name=name, audio=audio, sample_rate=None if sample_rate is None else int(sample_rate),
                     mel=None if mel is None else np.asarray(mel))
        self.clips[name] = src
        return src

    def add_path(self, name: str, path) -> Clip:
        """Offer an audio file (read when first used)."""
        path = Path(path)
        if not path.exists():
            raise ParameterError(f"clip={str(path)!r}: no such clip or file; choose one of {list(self.clips)} "
                                 f"or give a path.")
        self.clips[name] = Clip(name=name, path=path)
        return self.clips[name]

    def load(self, src: Clip, cfg: MelConfig) -> tuple[np.ndarray | None, np.ndarray]:
        """The clip's audio at the config's rate (None for a Mel clip) and its Mel spectrogram."""
        if src.mel is not None:
            return None, src.mel
        if src.audio is None:
            src.audio, src.sample_rate = load_audio(src.path)
        audio = src.audio_at(cfg.sample_rate)[: int(MAX_SECONDS * cfg.sample_rate)]
        if audio.shape[-1] < cfg.n_fft:
            raise ParameterError(f"clip {src.name!r} is too short ({audio.shape[-1]} samples) for "
                                 f"n_fft={cfg.n_fft}; use a longer clip.")
        return audio, np.asarray(mel_spectrogram(audio, cfg))

    def prepare(self, clip: str | None, preset: str, method: str | None, *, n_iter=None, seed: int = 0,
                options: dict[str, Any] | None = None, effort: str | None = None) -> Request:
        """A request for these settings: the user's raw choices (``n_iter`` one count per stage of ``method``,
        or None for the level's counts; ``method`` None: the default for the clip's mel source), resolved as
        :func:`melrecon.reconstruct` resolves them (ParameterError when they cannot run)."""
        if clip is None:
            raise ParameterError("no clip selected: choose one or upload a wav / .npy Mel.")
        src = self.clips[clip]
        cfg = get_config(preset)
        options = dict(options or {})
        kwargs = dict(method=method, effort=effort, source=src.mel_source, n_iter=n_iter, seed=int(seed), **options)
        choice = resolve(method, source=src.mel_source, effort=effort, n_iter=n_iter, options=options)
        total = sum(choice.counts)  # per starting phase tried (the progress of each restarts)
        if total == 0:
            raise ParameterError("all stages have 0 iterations; raise a stage's iterations slider.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampling notices: expected here
            audio, mel = self.load(src, cfg)
        self._runs += 1
        iters = "+".join(f"{a.name} {n}" for a, n in choice.stages)
        tries = f" x{len(choice.init_phases)} starts" if choice.init_phases else ""
        tries = f" (start race of {choice.race} steps)" if choice.init_phases and choice.race is not None else tries
        return Request(clip=src, config=cfg, mel=mel, audio=audio, kwargs=kwargs,
                       label=f"#{self._runs} {iters}{tries} ({cfg.name})", total=total)

    def start(self, request: Request, *, blocking: bool = False):
        """Run ``request``: in a background thread (returns None), or in the calling thread (returns the result)."""
        self.error = None
        self._stop.clear()
        if blocking:
            return self._work(request)
        self._thread = threading.Thread(target=self._work, args=(request,), name="melrecon-workbench", daemon=True)
        self._thread.start()
        return None

    def stop(self) -> None:
        """Ask the running reconstruction to stop after the current chunk (the best result is kept)."""
        self._stop.set()  # cleared when the next run starts

    def wait(self, timeout: float | None = None):
        """Wait for a background run to finish; returns :attr:`result`."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def fail(self, message: str, detail: str = "") -> None:
        """Record an error and report it."""
        self.error = message
        self.on_error(message, detail)

    def _progress(self, request: Request, p) -> bool:
        request.eval_iters.append(p.iteration)
        request.eval_sc.append(float(np.mean(p.mel_sc)))
        keep_going = self.on_progress(request, p)
        return keep_going is not False and not self._stop.is_set()

    def _measure(self, request: Request, result) -> dict:
        if request.audio is not None:
            m = metrics.evaluate(request.audio, result.audio, request.config)
        else:
            m = {"mel_sc": float(np.mean(result.mel_sc))}
        m["seconds"] = result.seconds
        return m

    def _work(self, request: Request):
        result = None
        try:
            result = reconstruct(request.mel, request.config, progress=False, chunk_size=self.chunk_size,
                                 callback=lambda p: self._progress(request, p), **request.kwargs)
            m = self._measure(request, result)
            self.result = result
            self.results = (self.results + [(request.label, result, m)])[-self.keep:]
            self.on_result(request, result, m)
        except ParameterError as exc:
            self.fail(str(exc))
        except KeyboardInterrupt:
            self.fail("interrupted before the first estimate was ready")
        except Exception as exc:  # reported: a background thread has nowhere else to report
            self.fail(f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
        finally:
            self.on_finish(request)
        return result
