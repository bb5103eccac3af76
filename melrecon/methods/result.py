"""What a reconstruction returns (:class:`Reconstruction`) and what a callback sees during one
(:class:`Progress`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.config import MelConfig
from ..io import save_audio

__all__ = ["Reconstruction", "Progress"]


def _item(values: np.ndarray, row: int) -> np.ndarray:
    return values[:, row] if values.ndim == 2 else values


@dataclass
class Progress:
    """What a ``callback`` receives after each chunk."""

    iteration: int
    total: int
    stage_index: int
    stage_name: str
    mel_sc: np.ndarray
    best_mel_sc: np.ndarray
    elapsed: float
    history: dict[str, np.ndarray]


@dataclass
class Reconstruction:
    """The result of :func:`reconstruct`.

    Attributes
    ----------
    audio : float32 array (..., n_samples)
        The best estimate's audio (inverse STFT).
    sample_rate : int
    config : MelConfig
    method : str
    history : dict of arrays (n_iterations, ...)
        Every loss term of every step (NaN where a stage has no such term), plus ``"stage_index"`` (index of
        the stage) and ``"time"`` (seconds since the start, excluding compilation).
    evaluations : dict of arrays
        At chunk ends: ``"iteration"``, ``"time"`` and ``"mel_sc"`` (Mel spectral convergence of the
        output audio against the target).
    stage_spans : list of (name, first_iteration, stop_iteration)
    mel_sc : array (...)
        Mel spectral convergence of the returned audio.
    best_iteration : int
        Iterations done when the returned estimate was taken (the largest over a batch).
    interrupted : bool
        True when a KeyboardInterrupt (Ctrl-C) ended the run.
    stop_reason : str or None
        ``"interrupted"``, ``"callback"``, ``"non-finite"`` or None when the run completed.
    seconds, compile_seconds : float
        Wall-clock time of the iterations, and of compiling them.
    settings : dict
    spectrogram : complex64 array (..., n_fft // 2 + 1, frames)
        The returned estimate's STFT before inversion.
    """

    audio: np.ndarray
    sample_rate: int
    config: MelConfig
    method: str
    history: dict[str, np.ndarray]
    evaluations: dict[str, np.ndarray]
    stage_spans: list[tuple[str, int, int]]
    mel_sc: np.ndarray
    best_iteration: int
    interrupted: bool
    stop_reason: str | None
    seconds: float
    compile_seconds: float
    settings: dict[str, Any]
    spectrogram: np.ndarray = field(repr=False)

    @property
    def n_iterations(self) -> int:
        return int(self.history["stage_index"].shape[0])

    @classmethod
    def from_run(cls, run, audio: np.ndarray, *, config: MelConfig, method: str, settings: dict[str, Any],
                 row: int | None = None, frames: int | None = None) -> "Reconstruction":
        """The result of a run (:class:`melrecon.methods.runner.RunOutput`) and its output ``audio``; with ``row``,
        of item ``row`` of a padded batch, whose own length is ``frames`` frames."""
        if not np.isfinite(audio).all():  # cannot happen with a finite best estimate; never hand out NaN audio
            raise FloatingPointError("reconstruction produced non-finite audio")
        if row is None:
            history = run.history
            evaluations = {k: np.asarray(v) for k, v in run.evaluations.items()}
            mel_sc = run.best_sc if run.best_sc.ndim else np.float32(run.best_sc)
            spectrogram = np.asarray(run.best_spec)
        else:
            history = {k: (v[:, row] if v.ndim == 2 else v) for k, v in run.history.items()}
            evaluations = {k: _item(np.asarray(v), row) for k, v in run.evaluations.items()}
            mel_sc = np.float32(run.best_sc[row])
            spectrogram = np.asarray(run.best_spec)[row, :, :frames]  # the batch's host copy (made once), indexed
        if run.started is not None:  # a start race (melrecon.methods.runner): what it measured and kept
            started = run.started if row is None else dict(
                run.started, init_phase=run.started["init_phase"][row],
                init_phase_mel_sc={k: v[row] for k, v in run.started["init_phase_mel_sc"].items()})
            settings = dict(settings, **started)
        return cls(
            audio=audio, sample_rate=config.sample_rate, config=config, method=method, history=history,
            evaluations=evaluations, stage_spans=run.spans, mel_sc=mel_sc, best_iteration=int(run.best_iter),
            interrupted=run.stop_reason == "interrupted", stop_reason=run.stop_reason, seconds=run.run_s,
            compile_seconds=run.compile_s, settings=dict(settings, chunk_size=run.chunk), spectrogram=spectrogram,
        )

    def save(self, path, **kwargs) -> None:
        """Write the audio atomically (see :func:`melrecon.io.save_audio`)."""
        save_audio(path, self.audio, self.sample_rate, **kwargs)



