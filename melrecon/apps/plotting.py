"""Matplotlib figures: spectrograms and loss curves (no pyplot state: figures are returned)."""

from __future__ import annotations

import html
import io
from typing import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..core.config import MelConfig, get_config
from ..core.filters import mel_filterbank
from ..core.transforms import magnitude, mel_from_magnitude, stft
from ..core.validation import analysing_reconstruction

__all__ = [
    "mel_db", "plot_spectrogram", "plot_history", "comparison_figure", "loss_terms", "plot_loss_terms",
    "loss_figure", "live_loss_figure", "spectrogram_panels", "figure_png", "playable", "audio_player",
    "duration_text", "player_html",
    "metrics_table", "METRIC_COLUMNS", "stft_db", "plot_stft", "overview_figure", "filterbank_figure",
    "players_html", "mel_panels", "family_loss_figure", "run_family", "FAMILIES",
]


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


#: Per result in a comparison: line style, marker; earlier results are drawn on top (a pipeline that starts
#: with the same stage as an earlier result would otherwise hide its curve).
_CURVE_STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"), ((0, (5, 1, 1, 1)), "v"))


def plot_history(ax, results: Mapping[str, object], *, term: str = "mel_sc", x: str = "iteration"):
    """Loss curves of several :class:`~melrecon.Reconstruction` results on one log-scale axis.

    ``term="mel_sc"`` plots the output audio's Mel spectral convergence (measured at chunk ends, the same
    quantity for every method); any other name plots that per-step history term. ``x`` is
    ``"iteration"`` or ``"time"`` (seconds). Each result has its own colour, line style and marker, and
    earlier results are drawn above later ones, so curves that coincide (GL and the GL stage of GL+GD)
    both stay visible.
    """
    n = len(results)
    for i, (label, res) in enumerate(results.items()):
        if term == "mel_sc":
            xs = res.evaluations["iteration"] if x == "iteration" else res.evaluations["time"]
            ys = np.asarray(res.evaluations["mel_sc"]).reshape(len(xs), -1).mean(axis=1)
        else:
            if term not in res.history:
                continue
            ys = np.asarray(res.history[term]).reshape(res.n_iterations, -1).mean(axis=1)
            xs = np.arange(1, len(ys) + 1) if x == "iteration" else res.history["time"]
        style, marker = _CURVE_STYLES[i % len(_CURVE_STYLES)]
        ax.plot(xs, ys, label=label, color=f"C{i % 10}", linestyle=style, marker=marker, ms=4,
                markevery=max(1, len(xs) // 12), lw=max(1.2, 2.6 - 0.5 * i), zorder=3 + n - i)
    ax.set_yscale("log")
    ax.set_xlabel("iteration" if x == "iteration" else "seconds")
    ax.set_ylabel(term)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=9)


def comparison_figure(original, results: Mapping[str, object], config: MelConfig | str,
                      terms: Sequence[str] = ("mel_sc",)):
    """One figure: the original's and each result's Mel spectrogram (one dB colour bar), and loss curves below."""
    cfg = get_config(config)
    n = 1 + len(results)
    fig = Figure(figsize=(3.2 * n + 0.8, 5.6), layout="constrained")
    grid = fig.add_gridspec(2, n)
    axes = [fig.add_subplot(grid[0, 0])]
    im = plot_spectrogram(axes[0], mel_db(original, cfg), cfg, title="original")
    for i, (label, res) in enumerate(results.items(), start=1):
        axes.append(fig.add_subplot(grid[0, i]))
        with analysing_reconstruction(label):
            plot_spectrogram(axes[-1], mel_db(res.audio, cfg), cfg, title=label)
    fig.colorbar(im, ax=axes, shrink=0.85, label="dB re each peak")
    half = max(1, n // 2)
    plot_history(fig.add_subplot(grid[1, :half]), results, term=terms[0], x="iteration")
    plot_history(fig.add_subplot(grid[1, half:]), results, term=terms[0], x="time")
    return fig


# ------------------------------------------------------------------------------- notebook helpers
_NOT_TERMS = ("stage_index", "time")


def loss_terms(result) -> list[str]:
    """Names of the per-step loss terms in a result's ``history`` (without ``stage`` and ``time``)."""
    return [k for k in result.history if k not in _NOT_TERMS]


def _mean_over_batch(values: np.ndarray, n: int) -> np.ndarray:
    return np.asarray(values, np.float64).reshape(n, -1).mean(axis=1)


def plot_loss_terms(ax, results: Mapping[str, object], *, x: str = "iteration", terms: Sequence[str] | None = None,
                    mel_sc: bool = True, stage_lines: bool = True):
    """Every loss term of every result on one log-scale axis, against iterations or seconds.

    Parameters
    ----------
    ax : matplotlib Axes
    results : mapping label -> :class:`~melrecon.Reconstruction`
    x : {"iteration", "time"}
        Horizontal axis: iteration number, or wall-clock seconds of the iterations (compilation excluded).
    terms : sequence of str, optional
        Only these history terms (default: all of each result).
    mel_sc : bool
        Also draw the output audio's Mel spectral convergence (measured at chunk ends, the same quantity for
        every method) as markers joined by a thick line.
    stage_lines : bool
        Mark where a pipeline switches stage (a dotted vertical line, single results only).
    """
    if x not in ("iteration", "time"):
        raise ValueError(f"x={x!r} must be 'iteration' or 'time'.")
    colors = _run_colors(len(results))
    style_of = _term_styles(results, terms)
    for r, (label, res) in enumerate(results.items()):
        color = colors[r % len(colors)]
        n = res.n_iterations
        z = 2.0 + 1.0 / max(n, 1)  # a shorter run is drawn over a longer one that starts the same way
        xs = np.arange(1, n + 1) if x == "iteration" else np.asarray(res.history["time"])
        names = [t for t in loss_terms(res) if terms is None or t in terms]
        for term in names:
            ys = _mean_over_batch(res.history[term], n)
            if not np.isfinite(ys).any():
                continue
            ax.plot(xs, np.where(ys > 0, ys, np.nan), linestyle=style_of[term], color=color, lw=1.0,
                    alpha=0.85, zorder=z, label=f"{label}: {term}" if label else term)
        if mel_sc and len(res.evaluations.get("iteration", ())):
            ex = res.evaluations["iteration"] if x == "iteration" else res.evaluations["time"]
            ey = _mean_over_batch(res.evaluations["mel_sc"], len(ex))
            ax.plot(ex, ey, marker="o", ms=2.5, lw=2.0, color=color, zorder=z,
                    label=f"{label}: Mel SC (output)" if label else "Mel SC (output)")
        if stage_lines and len(results) == 1:
            for _, start, _ in res.stage_spans[1:]:
                pos = start if x == "iteration" else (res.history["time"][start - 1] if start > 0 else 0.0)
                ax.axvline(pos, color="0.5", ls=":", lw=1)
    ax.set_yscale("log")
    _robust_ylim(ax)
    ax.set_xlabel("iteration" if x == "iteration" else "seconds (wall clock, compilation excluded)")
    ax.set_ylabel("loss term")
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, ncol=1 + len(ax.lines) // 12)


def _run_colors(n: int) -> list:
    """A distinct colour per run: the default cycle up to 10 runs, then the 20 colours of ``tab20``."""
    if n <= 10:
        return [f"C{i}" for i in range(10)]
    cmap = colormaps["tab20"]
    return [cmap(i % 20) for i in range(n)]


def _term_styles(results: Mapping[str, object], terms: Sequence[str] | None) -> dict[str, str]:
    """One line style per loss-term name, the same for every result (a legend can then list each once)."""
    styles = ("-", "--", ":", "-.")
    names = dict.fromkeys(t for res in results.values() for t in loss_terms(res) if terms is None or t in terms)
    return {t: styles[j % len(styles)] for j, t in enumerate(names)}


def _compact_legend(fig, results: Mapping[str, object], terms: Sequence[str] | None, mel_sc: bool = True) -> None:
    """One legend below the panels: a colour per result, then a line style per term (each listed once)."""
    colors = _run_colors(len(results))
    handles = [Line2D([], [], color=colors[r], lw=3) for r in range(len(results))]
    labels = list(results)
    for term, style in _term_styles(results, terms).items():
        handles.append(Line2D([], [], color="0.35", linestyle=style, lw=1.2))
        labels.append(f"{term} (per step)")
    if mel_sc:
        handles.append(Line2D([], [], color="0.35", marker="o", ms=4, lw=2.0))
        labels.append("Mel SC of the output (chunk ends)")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), fontsize=10)


def _robust_ylim(ax) -> None:
    """Log axis limits that show 99% of the plotted values and where every curve ends (a single transient
    dip, e.g. a term that is ~0 on the first step of a stage, would otherwise squash every curve; the best
    runs end lowest, so their last values are always kept in view)."""
    values = [np.asarray(line.get_ydata(), np.float64) for line in ax.lines]
    values = [v[np.isfinite(v) & (v > 0)] for v in values]
    values = [v for v in values if v.size]
    if values:
        pooled = np.concatenate(values)
        lo = min(np.percentile(pooled, 1), *(v[-1] for v in values))
        ax.set_ylim(lo / 2, pooled.max() * 2)


def loss_figure(results: Mapping[str, object], *, title: str = "", terms: Sequence[str] | None = None,
                figsize: tuple[float, float] = (13.0, 4.6)):
    """Two panels: every loss term of every result against iterations (left) and seconds (right)."""
    fig = Figure(figsize=figsize, layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    plot_loss_terms(ax1, results, x="iteration", terms=terms)
    plot_loss_terms(ax2, results, x="time", terms=terms)
    if terms is not None and len(terms) == 0:
        ax1.set_ylabel("Mel SC of the output")
    ax2.set_ylabel("")
    if len(results) > 1:  # one legend for both panels, below them: colours = results, styles = terms
        for ax in (ax1, ax2):
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        _compact_legend(fig, results, terms)
    if title:
        fig.suptitle(title)
    return fig


#: The panels of :func:`family_loss_figure`, in order: title and whether a run belongs (by its stages' names).
FAMILIES = (
    ("Griffin-Lim family", lambda names: all(n in ("gla", "fgla", "agla") for n in names)),
    ("noise-aware Mel-constrained", lambda names: all(n.startswith("tol") for n in names)),
    ("Mel-constrained projections (default)", lambda names: all("mel" in n or "admm" in n for n in names)),
    ("gradient descent on the STFT", lambda names: "gd" in names),
    ("descent on the waveform", lambda names: any(n in ("waveform", "lbfgs") for n in names)),
)


def run_family(result) -> str:
    """The :data:`FAMILIES` panel a result belongs to (by the names of its stages; "other" when none)."""
    names = [name for name, _, _ in result.stage_spans]
    return next((title for title, belongs in FAMILIES if belongs(names)), "other")


def family_loss_figure(results: Mapping[str, object], *, title: str = "",
                       terms: Sequence[str] = ("inconsistency", "mel_error"),
                       figsize: tuple[float, float] = (17.0, 7.5)):
    """Small multiples: one column per family of runs (:data:`FAMILIES`: a few runs each, distinct colours
    within a panel), against iterations (top row) and wall-clock seconds (bottom row); line style = term, the
    thick dotted line = the output's Mel SC. Readable where :func:`loss_figure` of twenty runs is not."""
    groups: dict[str, dict] = {}
    for label, res in results.items():
        groups.setdefault(run_family(res), {})[label] = res
    order = [t for t, _ in FAMILIES if t in groups] + (["other"] if "other" in groups else [])
    fig = Figure(figsize=figsize, layout="constrained")
    # every panel its own axes: the families span decades of loss and thousands of iterations apart
    axes = np.atleast_2d(fig.subplots(2, len(order), squeeze=False))
    for col, family in enumerate(order):
        for row, x in enumerate(("iteration", "time")):
            ax = axes[row, col]
            plot_loss_terms(ax, groups[family], x=x, terms=terms)
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            if row == 0:
                ax.set_title(family, fontsize=10)
                colors = _run_colors(len(groups[family]))
                ax.legend([Line2D([], [], color=colors[r], lw=3) for r in range(len(groups[family]))],
                          list(groups[family]), fontsize=7, loc="upper right")
            if col:
                ax.set_ylabel("")
    style_of = _term_styles(results, terms)
    handles = [Line2D([], [], color="0.35", linestyle=st, lw=1.2) for st in style_of.values()]
    labels = [f"{t} (per step)" for t in style_of]
    handles.append(Line2D([], [], color="0.35", marker="o", ms=4, lw=2.0))
    labels.append("Mel SC of the output (chunk ends)")
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


def live_loss_figure(history: Mapping[str, np.ndarray], *, total: int, title: str = "",
                     evaluations: tuple[Sequence[int], Sequence[float]] | None = None,
                     figsize: tuple[float, float] = (7.4, 4.0)):
    """The loss curves of a run in progress (``Progress.history``), x axis fixed to ``total`` iterations.

    Used by the workbench's live plot: every per-step term on a log axis, the stage switches, and (with
    ``evaluations = (iterations, mel_sc)``) the output's Mel SC at chunk ends.
    """
    fig = Figure(figsize=figsize, layout="constrained", dpi=90)
    ax = fig.add_subplot()
    stage = np.asarray(history.get("stage_index", np.zeros(0, np.int32)))
    n = int(stage.shape[0])
    xs = np.arange(1, n + 1)
    for j, (term, values) in enumerate((k, v) for k, v in history.items() if k not in _NOT_TERMS):
        ys = _mean_over_batch(values, n) if n else np.zeros(0)
        if n and np.isfinite(ys).any():
            ax.plot(xs, np.where(ys > 0, ys, np.nan), lw=1.2, color=f"C{j}", label=term)
    if evaluations is not None and len(evaluations[0]):
        ax.plot(evaluations[0], evaluations[1], "o-", ms=3, lw=1.8, color="k", label="Mel SC (output)")
    for i in np.flatnonzero(np.diff(stage)) if n else ():
        ax.axvline(i + 1, color="0.5", ls=":", lw=1)
    ax.set_xlim(0, max(total, 1))
    ax.set_yscale("log")
    _robust_ylim(ax)
    ax.set_xlabel("iteration")
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="upper right")
    ax.set_title(title, fontsize=9)
    return fig


def spectrogram_panels(original, results: Mapping[str, object], config: MelConfig | str, *, top_db: float = 80.0,
                       error_range_db: float = 20.0):
    """A grid: for each result, the original's Mel spectrogram, the result's, and their difference in dB.

    The error map is ``result_dB - original_dB`` (both relative to the original's peak) on a diverging
    colour scale of +-``error_range_db``; its title gives the mean absolute difference.
    """
    cfg = get_config(config)
    ref = _mel_abs_db(original, cfg)
    peak = ref.max()
    ref_db = np.maximum(ref - peak, -top_db)
    n = max(1, len(results))
    fig = Figure(figsize=(12.0, 2.5 * n + 0.4), layout="constrained")
    axes = np.asarray(fig.subplots(n, 3, squeeze=False))
    if not results:
        plot_spectrogram(axes[0, 0], ref_db, cfg, vmin=-top_db, title="original")
    for i, (label, res) in enumerate(results.items()):
        with analysing_reconstruction(label):
            est = _mel_abs_db(res.audio, cfg)
        frames = min(est.shape[-1], ref.shape[-1])
        est_db = np.maximum(est[..., :frames] - peak, -top_db)
        err = est_db - ref_db[..., :frames]
        im0 = plot_spectrogram(axes[i, 0], ref_db, cfg, vmin=-top_db, title="original")
        plot_spectrogram(axes[i, 1], est_db, cfg, vmin=-top_db, title=label)
        seconds = frames * cfg.hop_length / cfg.sample_rate
        im2 = axes[i, 2].imshow(err, origin="lower", aspect="auto", cmap="RdBu_r", vmin=-error_range_db,
                                vmax=error_range_db, extent=(0.0, seconds, 0, err.shape[-2]), interpolation="nearest")
        axes[i, 2].set_title(f"error (dB), mean |err| {np.mean(np.abs(err)):.2f} dB", fontsize=9)
        axes[i, 2].set_xlabel("time (s)")
        if i == 0:
            fig.colorbar(im0, ax=axes[:, 1], shrink=0.8, label="dB")
            fig.colorbar(im2, ax=axes[:, 2], shrink=0.8, label="dB")
    return fig


def _mel_abs_db(audio, cfg: MelConfig) -> np.ndarray:
    mel = np.asarray(mel_from_magnitude(magnitude(stft(np.asarray(audio, np.float32), cfg)), cfg), np.float64)
    scale = 10.0 if cfg.power == 2.0 else 20.0
    return scale * np.log10(np.maximum(mel, 1e-10))


def figure_png(fig, *, dpi: int | None = None) -> bytes:
    """A matplotlib figure rendered to PNG bytes (for ``ipywidgets.Image`` or a file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def playable(audio, *, peak: float = 1.0) -> np.ndarray:
    """Audio made safe for a player: float32, NaN-free, clipped to ``[-peak, peak]`` (no normalisation, so
    that an A/B comparison keeps the real levels)."""
    x = np.nan_to_num(np.asarray(audio, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(x, -peak, peak)


def audio_player(audio, sample_rate: int):
    """An inline player (``IPython.display.Audio``) at the signal's real level (clipped, not normalised)."""
    from IPython.display import Audio  # noqa: PLC0415 - IPython: notebooks extra

    return Audio(playable(audio), rate=int(sample_rate), normalize=False)


def duration_text(audio, sample_rate: int) -> str:
    """A clip's length for a label, to the millisecond: ``"0.998 s"`` (never rounded up to a whole second)."""
    return f"{np.asarray(audio).shape[-1] / sample_rate:.3f} s"


def player_html(audio, sample_rate: int, *, style: str = "") -> str:
    """The HTML of one ``<audio controls>`` player at the signal's real level (clipped, not normalised), its
    wav loaded with the page and its length as a tooltip.

    The length is also worth printing beside it (:func:`duration_text`): Chromium's controls show whole
    seconds, rounded down, so a clip shorter than 1 s reads "0:00 / 0:00" although it loaded and plays.
    """
    from IPython.display import Audio  # noqa: PLC0415 - IPython: notebooks extra

    player = Audio(playable(audio), rate=int(sample_rate), normalize=False)._repr_html_()
    attrs = f"preload='auto' title='{duration_text(audio, sample_rate)}'" + (f" style='{style}'" if style else "")
    return player.replace("<audio ", f"<audio {attrs} ", 1)


def metrics_table(rows: Sequence[Mapping[str, object]], columns: Sequence[tuple[str, str, str]] | None = None) -> str:
    """A Markdown table of metric rows (missing or non-finite values print as an en dash)."""
    columns = list(columns or METRIC_COLUMNS)
    head = "| " + " | ".join(title for _, title, _ in columns) + " |"
    lines = [head, "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = []
        for key, _, fmt in columns:
            v = row.get(key)
            bad = v is None or (isinstance(v, (float, np.floating)) and not np.isfinite(v))
            cells.append("–" if bad else format(v, fmt))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Columns of :func:`metrics_table`: (key, title, format).
METRIC_COLUMNS = [
    ("preset", "preset", "s"), ("method", "method", "s"), ("iters", "iterations", "s"),
    ("mel_sc", "Mel SC", ".4f"), ("lsd", "LSD (dB)", ".2f"), ("mel_db", "Mel dist (dB)", ".2f"),
    ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f"), ("seconds", "seconds", ".1f"),
]


def stft_db(audio, config: MelConfig | str, *, top_db: float = 80.0, ref: float | None = None) -> np.ndarray:
    """Linear-frequency STFT magnitude of ``audio`` in dB relative to its peak (or ``ref``), clipped at
    ``-top_db``; shape (n_fft // 2 + 1, frames)."""
    cfg = get_config(config)
    mag = np.asarray(magnitude(stft(np.asarray(audio, np.float32), cfg)), np.float64)
    ref = max(mag.max(), 1e-20) if ref is None else ref
    return np.maximum(20.0 * np.log10(np.maximum(mag, ref * 1e-12) / ref), -top_db)


def plot_stft(ax, values_db: np.ndarray, config: MelConfig | str, *, title: str = "", vmin: float = -80.0,
              cmap: str = "magma"):
    """Draw a linear-frequency spectrogram in dB (bins x frames) with time in seconds and frequency in kHz."""
    cfg = get_config(config)
    seconds = values_db.shape[-1] * cfg.hop_length / cfg.sample_rate
    im = ax.imshow(values_db, origin="lower", aspect="auto", cmap=cmap, vmin=vmin, vmax=0.0,
                   extent=(0.0, seconds, 0.0, cfg.sample_rate / 2000.0), interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("kHz")
    return im


def overview_figure(original, mel, results: Mapping[str, object], config: MelConfig | str, *, top_db: float = 80.0):
    """The original's spectrogram, its (compressed) Mel spectrogram as given to ``reconstruct``, and each
    result's spectrogram, side by side (spectrograms in dB relative to the original's peak)."""
    cfg = get_config(config)
    n = 2 + len(results)
    fig = Figure(figsize=(3.3 * n, 3.2), layout="constrained")
    axes = fig.subplots(1, n)
    ref = float(np.abs(np.asarray(stft(np.asarray(original, np.float32), cfg))).max())
    im = plot_stft(axes[0], stft_db(original, cfg, top_db=top_db, ref=ref), cfg, vmin=-top_db, title="original")
    mel = np.asarray(mel)
    seconds = mel.shape[-1] * cfg.hop_length / cfg.sample_rate
    im_mel = axes[1].imshow(mel, origin="lower", aspect="auto", cmap="viridis", extent=(0.0, seconds, 0, mel.shape[-2]),
                            interpolation="nearest")
    axes[1].set_title(f"Mel input ({cfg.compression} compression)", fontsize=9)
    axes[1].set_xlabel("time (s)")
    axes[1].set_ylabel("Mel band")
    fig.colorbar(im_mel, ax=axes[1], shrink=0.8)
    for ax, (label, res) in zip(axes[2:], results.items()):
        with analysing_reconstruction(label):
            plot_stft(ax, stft_db(res.audio, cfg, top_db=top_db, ref=ref), cfg, vmin=-top_db, title=label)
    fig.colorbar(im, ax=axes[-1], shrink=0.8, label="dB")
    return fig


def filterbank_figure(configs: Sequence[MelConfig | str]):
    """The Mel filterbank of each config: every triangle against frequency (Hz), one panel per config."""
    cfgs = [get_config(c) for c in configs]
    fig = Figure(figsize=(4.4 * len(cfgs), 3.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(cfgs)))
    for ax, cfg in zip(axes, cfgs):
        fb = np.asarray(mel_filterbank(cfg))
        freqs = np.linspace(0.0, cfg.sample_rate / 2.0, cfg.n_freq)
        for row in fb[::max(1, cfg.n_mels // 40)]:
            ax.plot(freqs / 1000.0, row, lw=0.8)
        ax.set_title(f"{cfg.name}: {cfg.n_mels} bands, {cfg.mel_scale}, norm={cfg.norm}\n"
                     f"{cfg.fmin:g}-{cfg.fmax:g} Hz, n_fft {cfg.n_fft} @ {cfg.sample_rate} Hz", fontsize=9)
        ax.set_xlabel("kHz")
        ax.set_ylabel("weight")
        ax.grid(alpha=0.3)
    return fig


def players_html(items: Mapping[str, object], sample_rate: int, *, notes: Mapping[str, str] | None = None):
    """An ``IPython.display.HTML`` grid of labelled inline players (real level, clipped to [-1, 1]).

    ``items`` maps a label to audio (an array) or to a :class:`~melrecon.Reconstruction`; ``notes`` adds a
    line of text (e.g. metrics) under a player.
    """
    from IPython.display import HTML  # noqa: PLC0415 - IPython: notebooks extra

    cells = []
    for label, item in items.items():
        audio = getattr(item, "audio", item)
        player = player_html(audio, sample_rate, style=PLAYER_STYLE)
        note = (notes or {}).get(label, "")
        length = duration_text(audio, sample_rate)  # Chromium's controls read 0:00 for a clip under 1 s
        cells.append(f"<div style='padding:4px 8px;border:1px solid #ddd;border-radius:6px;min-width:0'>"
                     f"<b>{html.escape(label)}</b> <span style='font-size:11px'>({length})</span><br>{player}"
                     f"<div style='font-size:11px'>{html.escape(note)}</div>"
                     f"</div>")
    return HTML(f"<div style='{PLAYER_GRID_STYLE}'>" + "".join(cells) + "</div>")


#: A player fills its cell and is never narrower than what Chromium needs to show its play button.
PLAYER_STYLE = "width:100%;min-width:260px;display:block"
#: Cells of at least 280 px (players never shrink to their label's width), as many per row as fit.
PLAYER_GRID_STYLE = "display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:6px"


def mel_panels(mels: Mapping[str, np.ndarray], config: MelConfig | str, *, cmap: str = "viridis"):
    """Several Mel spectrograms (any units) side by side, each on its own colour scale with a colour bar."""
    cfg = get_config(config)
    fig = Figure(figsize=(3.6 * len(mels), 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(mels)))
    for ax, (label, mel) in zip(axes, mels.items()):
        mel = np.asarray(mel)
        seconds = mel.shape[-1] * cfg.hop_length / cfg.sample_rate
        im = ax.imshow(mel, origin="lower", aspect="auto", cmap=cmap, extent=(0.0, seconds, 0, mel.shape[-2]),
                       interpolation="nearest")
        ax.set_title(f"{label}\n[{mel.min():.3g}, {mel.max():.3g}]", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("Mel band")
        fig.colorbar(im, ax=ax, shrink=0.8)
    return fig
