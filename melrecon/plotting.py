"""Matplotlib figures: spectrograms and loss curves (no pyplot state: figures are returned)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .config import MelConfig, get_config
from .transforms import magnitude, mel_from_magnitude, stft

__all__ = ["mel_db", "plot_spectrogram", "plot_history", "comparison_figure"]


def mel_db(audio, config: MelConfig | str, *, top_db: float = 80.0) -> np.ndarray:
    """Mel spectrogram of ``audio`` in dB relative to its peak, clipped at ``-top_db``."""
    cfg = get_config(config)
    mel = np.asarray(mel_from_magnitude(magnitude(stft(np.asarray(audio, np.float32), cfg)), cfg), np.float64)
    scale = 10.0 if cfg.power == 2.0 else 20.0
    ref = max(mel.max(), 1e-20)
    return np.maximum(scale * np.log10(np.maximum(mel, ref * 1e-12) / ref), -top_db)


def plot_spectrogram(ax, values_db: np.ndarray, config: MelConfig | str, *, title: str = "", vmin: float = -80.0,
                     cmap: str = "magma"):
    """Draw a Mel spectrogram in dB (bands x frames) on ``ax`` with time in seconds."""
    cfg = get_config(config)
    seconds = values_db.shape[-1] * cfg.hop_length / cfg.sample_rate
    im = ax.imshow(values_db, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=0.0,
                   extent=(0.0, seconds, 0, values_db.shape[-2]), interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("Mel band")
    return im


def plot_history(ax, results: Mapping[str, object], *, term: str = "mel_sc", x: str = "iteration"):
    """Loss curves of several :class:`~melrecon.Reconstruction` results on one log-scale axis.

    ``term="mel_sc"`` plots the output audio's Mel spectral convergence (measured at chunk ends, the same
    quantity for every method); any other name plots that per-step history term. ``x`` is
    ``"iteration"`` or ``"time"`` (seconds).
    """
    for label, res in results.items():
        if term == "mel_sc":
            xs = res.evaluations["iteration"] if x == "iteration" else res.evaluations["time"]
            ys = np.asarray(res.evaluations["mel_sc"]).reshape(len(xs), -1).mean(axis=1)
        else:
            if term not in res.history:
                continue
            ys = np.asarray(res.history[term]).reshape(res.n_iterations, -1).mean(axis=1)
            xs = np.arange(1, len(ys) + 1) if x == "iteration" else res.history["time"]
        ax.plot(xs, ys, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iteration" if x == "iteration" else "seconds")
    ax.set_ylabel(term)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)


def comparison_figure(original, results: Mapping[str, object], config: MelConfig | str,
                      terms: Sequence[str] = ("mel_sc",)):
    """One figure: the original's and each result's Mel spectrogram, and loss curves below."""
    from matplotlib.figure import Figure

    cfg = get_config(config)
    n = 1 + len(results)
    fig = Figure(figsize=(3.2 * n, 5.6), layout="constrained")
    grid = fig.add_gridspec(2, n)
    plot_spectrogram(fig.add_subplot(grid[0, 0]), mel_db(original, cfg), cfg, title="original")
    for i, (label, res) in enumerate(results.items(), start=1):
        plot_spectrogram(fig.add_subplot(grid[0, i]), mel_db(res.audio, cfg), cfg, title=label)
    half = max(1, n // 2)
    plot_history(fig.add_subplot(grid[1, :half]), results, term=terms[0], x="iteration")
    plot_history(fig.add_subplot(grid[1, half:]), results, term=terms[0], x="time")
    return fig
