"""An ipywidgets workbench for JupyterLab: pick a clip (or upload audio / a ``.npy`` Mel), set the method and
its iterations with sliders, press Run, watch the loss fall, and play the original against each result.

>>> from melrecon.widgets import Workbench      # doctest: +SKIP
>>> Workbench().show()                           # doctest: +SKIP

The reconstruction runs in a background thread, so the kernel stays responsive: the Stop button asks
:func:`melrecon.reconstruct` (through its ``callback``) to stop after the current chunk, and the best result
so far is kept and shown. ``run(blocking=True)`` runs in the calling thread instead (scripts, tests); there
an interrupt of the kernel (Ctrl-C) also ends the run with the best result so far.

Widget updates from the worker go through ``Image`` (PNG bytes) and ``HTML`` widgets only, which are safe to
set from another thread (an ``Output`` widget captures only the thread that opened it).
"""

from __future__ import annotations

import dataclasses
import html
import io as _io
import os
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .config import PRESETS, MelConfig, ParameterError, get_config
from .plotting import figure_png, live_loss_figure, loss_figure, plot_spectrogram, playable, spectrogram_panels

__all__ = ["Workbench", "Source", "sample_paths", "seed_recording", "results_dir", "fast_mode", "METHOD_CHOICES"]

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Methods offered by the workbench's dropdown (single methods and common pipelines).
METHOD_CHOICES = ("gl+gd", "fgla", "gla", "agla", "gd", "waveform", "lbfgs", "gl+lbfgs", "agla+gd", "gl+waveform")
_GL_NAMES = ("gla", "fgla", "gl", "agla")
_MAX_SECONDS = 20.0  # longer clips are cropped (a notebook workbench, not a batch tool)


def fast_mode() -> bool:
    """True when ``MELRECON_FAST`` is set (to anything but 0/false/no): notebooks lower their iteration
    counts so that CI can run them top to bottom quickly."""
    return os.environ.get("MELRECON_FAST", "").strip().lower() not in ("", "0", "false", "no")


def seed_recording() -> Path | None:
    """The seed experiment's CMU ARCTIC recording in ``../shared/audio`` beside the repository, if present."""
    path = REPO_ROOT.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"
    return path if path.exists() else None


def sample_paths() -> dict[str, Path]:
    """Clips the workbench offers: the bundled sample, the seed recording when present, and the rendered
    development set (``samples/devset``, made by ``python samples/make_samples.py``) when present."""
    out: dict[str, Path] = {}
    bundled = REPO_ROOT / "samples" / "speech.wav"
    if bundled.exists():
        out["speech.wav (bundled)"] = bundled
    seed = seed_recording()
    if seed is not None:
        out["seed_arctic_raw_16k.wav (seed)"] = seed
    devset = REPO_ROOT / "samples" / "devset"
    if devset.is_dir():
        for p in sorted(devset.glob("*.wav")):
            out[f"devset/{p.name}"] = p
    return out


def results_dir(name: str = "") -> Path:
    """``results/<name>`` of the repository (or of ``$MELRECON_RESULTS``), created if needed."""
    base = Path(os.environ.get("MELRECON_RESULTS") or (REPO_ROOT / "results"))
    path = base / name if name else base
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclasses.dataclass
class Source:
    """Something to reconstruct: audio (analysed with the chosen preset) or a ready Mel spectrogram."""

    name: str
    audio: np.ndarray | None = None
    sample_rate: int | None = None
    mel: np.ndarray | None = None
    path: Path | None = None

    def audio_at(self, sample_rate: int) -> np.ndarray:
        if self.audio is None:
            raise ParameterError(f"source {self.name!r} is a Mel spectrogram; it has no audio.")
        if self.sample_rate == sample_rate:
            return self.audio
        import soxr

        return soxr.resample(self.audio, self.sample_rate, sample_rate, quality="HQ").astype(np.float32)


def _read_upload(name: str, content: bytes) -> Source:
    suffix = Path(name).suffix.lower()
    if suffix in (".npy", ".npz"):
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
        return Source(name=f"upload: {name}", mel=data)
    import soundfile as sf

    try:
        data, sr = sf.read(_io.BytesIO(content), dtype="float32", always_2d=True)
    except Exception as exc:
        raise ParameterError(f"{name}: could not be read as audio ({exc}); upload a wav, flac or ogg file "
                             f"or a .npy/.npz Mel.") from None
    if data.shape[0] == 0 or not np.isfinite(data).all():
        raise ParameterError(f"{name}: no samples, or non-finite samples.")
    mono = np.ascontiguousarray(data.mean(axis=1), np.float32)
    return Source(name=f"upload: {name}", audio=mono, sample_rate=int(sr))


@dataclasses.dataclass
class _Job:
    source: Source
    config: MelConfig
    mel: np.ndarray
    audio: np.ndarray | None
    kwargs: dict[str, Any]
    label: str
    total: int
    eval_iters: list = dataclasses.field(default_factory=list)
    eval_sc: list = dataclasses.field(default_factory=list)
    last_draw: float = 0.0


class Workbench:
    """Sliders, dropdowns, an upload, Run/Stop, a live loss plot and A/B players around :func:`reconstruct`.

    Parameters
    ----------
    source : str, path or (audio, sample_rate), optional
        The clip selected first: a name from :func:`sample_paths`, an audio file, or an array with its rate.
    preset : str
        Analysis settings (``"seed"``, ``"hifigan"``, ``"librosa"``).
    method : str
        One of :data:`METHOD_CHOICES`.
    gl_iters, gd_iters : int
        Initial slider values for the Griffin-Lim and the gradient stages.
    learning_rate : float
    chunk_size : int
        Iterations between live updates (and between chances to stop).
    keep : int
        How many results stay on the A/B board (the newest ones).

    Attributes
    ----------
    result : Reconstruction or None
        The latest result (also after Stop: the best estimate so far).
    results : list of (label, Reconstruction, metrics dict)
    plot_updates : int
        How many times the loss plot was redrawn (live updates included).
    """

    def __init__(self, source=None, *, preset: str = "hifigan", method: str = "gl+gd", gl_iters: int = 50,
                 gd_iters: int = 300, learning_rate: float = 1e-2, chunk_size: int = 25, keep: int = 3):
        import ipywidgets as W

        from .algorithms.gradient import OPTIMIZERS
        from .losses import MEL_LOSSES

        if preset not in PRESETS:
            raise ParameterError(f"preset={preset!r} is unknown; choose one of {sorted(PRESETS)}.")
        if method not in METHOD_CHOICES:
            raise ParameterError(f"method={method!r} is not offered; choose one of {METHOD_CHOICES}.")
        self.chunk_size = int(chunk_size)
        self.keep = int(keep)
        self.sources: dict[str, Source] = {}
        self.result = None
        self.results: list[tuple[str, Any, dict]] = []
        self.plot_updates = 0
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._runs = 0

        style = {"description_width": "110px"}
        wide = W.Layout(width="380px")
        self.source = W.Dropdown(description="clip", style=style, layout=wide)
        self.upload = W.FileUpload(accept=".wav,.flac,.ogg,.npy,.npz", multiple=False,
                                   description="Upload wav / .npy mel")
        self.upload.layout = W.Layout(width="380px")
        self.preset = W.Dropdown(options=sorted(PRESETS), value=preset, description="preset", style=style, layout=wide)
        self.method = W.Dropdown(options=list(METHOD_CHOICES), value=method, description="method", style=style,
                                 layout=wide)
        self.gl_iters = W.IntSlider(value=gl_iters, min=0, max=1000, step=10, description="GL iterations",
                                    style=style, layout=wide, continuous_update=False)
        self.gd_iters = W.IntSlider(value=gd_iters, min=0, max=3000, step=10, description="GD iterations",
                                    style=style, layout=wide, continuous_update=False)
        self.optimizer = W.Dropdown(options=["(method default)", *OPTIMIZERS], value="(method default)",
                                    description="optimizer", style=style, layout=wide)
        self.learning_rate = W.FloatLogSlider(value=learning_rate, base=10, min=-4, max=0, step=0.1,
                                              description="learning rate", style=style, layout=wide,
                                              readout_format=".1e", continuous_update=False)
        self.consistency_weight = W.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.05,
                                                description="consistency w.", style=style, layout=wide,
                                                continuous_update=False)
        self.mel_weight = W.FloatSlider(value=1.0, min=0.0, max=4.0, step=0.05, description="Mel w.",
                                        style=style, layout=wide, continuous_update=False)
        self.mel_loss = W.Dropdown(options=list(MEL_LOSSES), value="linear", description="Mel loss", style=style,
                                   layout=wide)
        self.seed = W.IntText(value=0, description="seed", style=style, layout=W.Layout(width="220px"))
        self.run_button = W.Button(description="Run", button_style="success", icon="play",
                                   tooltip="reconstruct with these settings")
        self.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True,
                                    tooltip="stop after the current chunk and keep the best result so far")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="", layout=W.Layout(width="380px"))
        self.status = W.HTML(value="")
        self.loss_image = W.Image(format="png", layout=W.Layout(width="666px", height="auto"))
        self.spec_image = W.Image(format="png", layout=W.Layout(max_width="1000px", height="auto"))
        self.players = W.HBox(layout=W.Layout(flex_flow="row wrap"))

        for widget, css in ((self.gl_iters, "mr-gl-iters"), (self.gd_iters, "mr-gd-iters"),
                            (self.run_button, "mr-run"), (self.stop_button, "mr-stop"),
                            (self.loss_image, "mr-loss-plot"), (self.players, "mr-players"),
                            (self.status, "mr-status"), (self.method, "mr-method"), (self.upload, "mr-upload")):
            widget.add_class(css)

        controls = W.VBox([
            W.HTML("<b>Input</b>"), self.source, self.upload, self.preset,
            W.HTML("<b>Method</b>"), self.method, self.gl_iters, self.gd_iters,
            W.HTML("<b>Gradient stages</b>"), self.optimizer, self.learning_rate, self.consistency_weight,
            self.mel_weight, self.mel_loss, self.seed,
            W.HBox([self.run_button, self.stop_button]), self.progress, self.status,
        ], layout=W.Layout(width="400px", flex="0 0 400px"))
        self.ui = W.VBox([
            W.HBox([controls, self.loss_image], layout=W.Layout(align_items="flex-start", flex_flow="row wrap")),
            W.HTML("<b>A/B: original and results</b> (players at the real level, clipped to ±1)"),
            self.players,
            self.spec_image,
        ])
        self.ui.add_class("mr-workbench")

        for name, path in sample_paths().items():
            self.sources[name] = Source(name=name, path=path)
        if source is not None:
            self._add_initial(source)
        self.source.options = list(self.sources)
        if self.sources and self.source.value is None:
            self.source.value = next(iter(self.sources))
        if isinstance(source, str) and source in self.sources:
            self.source.value = source

        self.upload.observe(self._on_upload, names="value")
        self.method.observe(lambda _: self._sync_enabled(), names="value")
        self.optimizer.observe(lambda _: self._sync_enabled(), names="value")
        self.source.observe(lambda _: self._show_board(), names="value")
        self.preset.observe(lambda _: self._show_board(), names="value")
        self.run_button.on_click(lambda _: self.run())
        self.stop_button.on_click(lambda _: self.stop())
        self._sync_enabled()
        self._set_loss_png(figure_png(live_loss_figure({}, total=self._planned_total(),
                                                       title="press Run to start")))
        self._show_board()

    # ------------------------------------------------------------------------------------ public
    def show(self):
        """Display the workbench (in a notebook cell)."""
        from IPython.display import display

        display(self.ui)
        return None

    def _ipython_display_(self):
        self.show()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def add_source(self, name: str, *, audio=None, sample_rate: int | None = None, mel=None, select: bool = True
                   ) -> Source:
        """Offer a clip (``audio`` with its ``sample_rate``) or a Mel spectrogram (``mel``, in the preset's
        compression) in the clip dropdown."""
        if (audio is None) == (mel is None):
            raise ParameterError("add_source needs either audio=(samples) with sample_rate=..., or mel=...")
        if audio is not None:
            from .validation import check_audio

            if sample_rate is None:
                raise ParameterError("add_source(audio=...) needs sample_rate=... (Hz).")
            audio = check_audio(audio)
            if audio.ndim != 1:
                audio = audio.reshape(-1, audio.shape[-1]).mean(axis=0)
        src = Source(name=name, audio=audio, sample_rate=None if sample_rate is None else int(sample_rate),
                     mel=None if mel is None else np.asarray(mel))
        self.sources[name] = src
        self.source.options = list(self.sources)
        if select:
            self.source.value = name
        return src

    def run(self, blocking: bool = False):
        """Start a reconstruction with the current settings.

        In a background thread (default; returns None at once, see :meth:`wait`), or with ``blocking=True``
        in the calling thread, returning the :class:`~melrecon.Reconstruction` (None on a settings error,
        which is shown in the status line and kept in :attr:`error`).
        """
        if self.running:
            self._set_status("a run is in progress; press Stop first", kind="warn")
            return None
        self.error = None
        try:
            job = self._prepare()
        except ParameterError as exc:
            self._fail(str(exc))
            return None
        self._stop.clear()
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self.progress.max = max(job.total, 1)
        self.progress.value = 0
        self.progress.bar_style = "info"
        self._set_status(f"running {html.escape(job.label)} …")
        if blocking:
            return self._work(job)
        self._thread = threading.Thread(target=self._work, args=(job,), name="melrecon-workbench", daemon=True)
        self._thread.start()
        return None

    def stop(self) -> None:
        """Ask the running reconstruction to stop after the current chunk (the best result is kept)."""
        self._stop.set()  # cleared when the next run starts
        if self.run_button.disabled:
            self._set_status("stopping after this chunk …", kind="warn")

    def wait(self, timeout: float | None = None):
        """Wait for a background run to finish; returns :attr:`result`."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    # ------------------------------------------------------------------------------------ internals
    def _add_initial(self, source) -> None:
        if isinstance(source, tuple) and len(source) == 2:
            self.add_source("audio", audio=source[0], sample_rate=source[1], select=False)
            self.source.options = list(self.sources)
            self.source.value = "audio"
        elif isinstance(source, (str, Path)) and str(source) not in self.sources:
            path = Path(source)
            if not path.exists():
                raise ParameterError(f"source={str(source)!r}: no such clip or file; choose one of "
                                     f"{list(self.sources)} or give a path.")
            self.sources[path.name] = Source(name=path.name, path=path)
            self.source.options = list(self.sources)
            self.source.value = path.name

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[-1]
        name = item["name"] if isinstance(item, dict) else item.name
        content = item["content"] if isinstance(item, dict) else item.content
        try:
            src = _read_upload(name, bytes(content))
        except ParameterError as exc:
            self._fail(str(exc))
            return
        self.add_source(src.name, audio=src.audio, sample_rate=src.sample_rate, mel=src.mel)
        what = "a Mel spectrogram of shape %s" % (src.mel.shape,) if src.mel is not None else \
            f"{src.audio.shape[-1] / src.sample_rate:.2f} s of audio at {src.sample_rate} Hz"
        self._set_status(f"loaded {html.escape(name)}: {what}", kind="ok")

    def _planned_total(self) -> int:
        from .reconstruct import build_stages

        try:
            return sum(n for _, n in build_stages(self.method.value, gl_iters=self.gl_iters.value,
                                                   gd_iters=self.gd_iters.value))
        except ParameterError:
            return 1

    def _sync_enabled(self) -> None:
        names = self.method.value.split("+")
        has_gl = any(n in _GL_NAMES for n in names)
        has_gd = any(n not in _GL_NAMES for n in names)
        self.gl_iters.disabled = not has_gl
        self.gd_iters.disabled = not has_gd
        for w in (self.optimizer, self.learning_rate, self.mel_loss):
            w.disabled = not has_gd
        stft_gd = "gd" in names
        self.consistency_weight.disabled = not stft_gd
        self.mel_weight.disabled = not stft_gd
        if self.optimizer.value == "lbfgs" or (names[-1] == "lbfgs" and self.optimizer.value == "(method default)"):
            self.learning_rate.disabled = True  # the line search sets the step

    def _load(self, src: Source, cfg: MelConfig) -> tuple[np.ndarray | None, np.ndarray]:
        from .transforms import mel_spectrogram

        if src.mel is not None:
            return None, src.mel
        if src.audio is None:
            from .io import load_audio

            src.audio, src.sample_rate = load_audio(src.path)
        audio = src.audio_at(cfg.sample_rate)
        limit = int(_MAX_SECONDS * cfg.sample_rate)
        if audio.shape[-1] > limit:
            audio = audio[:limit]
        if audio.shape[-1] < cfg.n_fft:
            raise ParameterError(f"clip {src.name!r} is too short ({audio.shape[-1]} samples) for "
                                 f"n_fft={cfg.n_fft}; use a longer clip.")
        return audio, np.asarray(mel_spectrogram(audio, cfg))

    def _prepare(self) -> _Job:
        from .reconstruct import build_stages

        if self.source.value is None:
            raise ParameterError("no clip selected: choose one or upload a wav / .npy Mel.")
        src = self.sources[self.source.value]
        cfg = get_config(self.preset.value)
        kwargs: dict[str, Any] = dict(method=self.method.value, gl_iters=int(self.gl_iters.value),
                                      gd_iters=int(self.gd_iters.value), seed=int(self.seed.value))
        if not self.gd_iters.disabled:
            if self.optimizer.value != "(method default)":
                kwargs["optimizer"] = self.optimizer.value
            if not self.learning_rate.disabled:
                kwargs["learning_rate"] = float(self.learning_rate.value)
            kwargs["mel_loss"] = self.mel_loss.value
        if not self.consistency_weight.disabled:
            kwargs["consistency_weight"] = float(self.consistency_weight.value)
            kwargs["mel_weight"] = float(self.mel_weight.value)
        options = {k: v for k, v in kwargs.items() if k not in ("method", "gl_iters", "gd_iters", "seed")}
        stages = build_stages(kwargs["method"], gl_iters=kwargs["gl_iters"], gd_iters=kwargs["gd_iters"], **options)
        total = sum(n for _, n in stages)
        if total == 0:
            raise ParameterError("all stages have 0 iterations; raise the GL or GD iterations slider.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampling notices: expected here
            audio, mel = self._load(src, cfg)
        self._runs += 1
        iters = "+".join(f"{a.name} {n}" for a, n in stages)
        label = f"#{self._runs} {iters} ({cfg.name})"
        return _Job(source=src, config=cfg, mel=mel, audio=audio, kwargs=kwargs, label=label, total=total)

    def _on_progress(self, job: _Job, p) -> bool:
        job.eval_iters.append(p.iteration)
        job.eval_sc.append(float(np.mean(p.mel_sc)))
        self.progress.value = min(p.iteration, self.progress.max)
        self.progress.description = f"{100 * p.iteration // max(p.total, 1)}%"
        now = time.perf_counter()
        if now - job.last_draw > 0.2 or p.iteration >= p.total:
            job.last_draw = now
            title = (f"{p.stage_name}: iteration {p.iteration}/{p.total} · Mel SC {float(np.mean(p.mel_sc)):.4f} "
                     f"(best {float(np.mean(p.best_mel_sc)):.4f}) · {p.elapsed:.1f} s")
            fig = live_loss_figure(p.history, total=p.total, title=title, evaluations=(job.eval_iters, job.eval_sc))
            self._set_loss_png(figure_png(fig))
        return not self._stop.is_set()

    def _work(self, job: _Job):
        from . import metrics
        from .reconstruct import reconstruct

        result = None
        try:
            result = reconstruct(job.mel, job.config, progress=False, chunk_size=self.chunk_size,
                                 callback=lambda p: self._on_progress(job, p), **job.kwargs)
            if job.audio is not None:
                m = metrics.evaluate(job.audio, result.audio, job.config)
            else:
                m = {"mel_sc": float(np.mean(result.mel_sc))}
            m["seconds"] = result.seconds
            self.result = result
            self.results = (self.results + [(job.label, result, m)])[-self.keep:]
            title = f"{job.label} — {result.n_iterations} iterations in {result.seconds:.1f} s"
            fig = loss_figure({"": result}, title=title,
                              figsize=(7.4, 4.0))
            self._set_loss_png(figure_png(fig, dpi=90))
            self._show_board(job)
            self.progress.bar_style = "success" if result.stop_reason is None else "warning"
            how = {None: "done", "callback": "stopped", "interrupted": "interrupted",
                   "non-finite": "stopped (non-finite loss)"}[result.stop_reason]
            kind = "ok" if result.stop_reason is None else "warn"
            self._set_status(f"{how}: {html.escape(job.label)} — {result.n_iterations}/{job.total} iterations, "
                             f"best at {result.best_iteration}, Mel SC {float(np.mean(result.mel_sc)):.4f}, "
                             f"{result.seconds:.1f} s (+{result.compile_seconds:.1f} s compile)", kind=kind)
        except ParameterError as exc:
            self._fail(str(exc))
        except KeyboardInterrupt:
            self._fail("interrupted before the first estimate was ready")
        except Exception as exc:  # shown in the widget: a background thread has nowhere else to report
            self._fail(f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
        finally:
            self.run_button.disabled = False
            self.stop_button.disabled = True
        return result

    def _fail(self, message: str, detail: str = "") -> None:
        self.error = message
        self.progress.bar_style = "danger"
        extra = f"<details><summary>traceback</summary><pre>{html.escape(detail)}</pre></details>" if detail else ""
        self._set_status(html.escape(message) + extra, kind="error")

    def _set_status(self, text: str, kind: str = "info") -> None:
        color = {"info": "#333", "ok": "#1a7f37", "warn": "#9a6700", "error": "#cf222e"}[kind]
        self.status.value = f"<div style='color:{color};max-width:380px;line-height:1.3'>{text}</div>"

    def _set_loss_png(self, png: bytes) -> None:
        self.loss_image.value = png
        self.plot_updates += 1

    def _show_board(self, job: _Job | None = None) -> None:
        """The A/B board: the original (for audio clips) and the kept results, each with its metrics."""
        import ipywidgets as W

        cards = []
        src = self.sources.get(self.source.value) if self.source.value is not None else None
        cfg = get_config(self.preset.value)
        original = None
        if src is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    original, _ = self._load(src, cfg) if job is None else (job.audio, None)
            except ParameterError as exc:
                self._fail(str(exc))
            if original is not None:
                cards.append(_card("original", original, cfg.sample_rate,
                                   f"{html.escape(src.name)}<br>{original.shape[-1] / cfg.sample_rate:.2f} s, "
                                   f"{cfg.sample_rate} Hz"))
            else:
                cards.append(W.HTML(f"<div style='padding:6px'><b>original</b><br>{html.escape(src.name)}: a Mel "
                                    f"spectrogram, no audio</div>"))
        for label, res, m in reversed(self.results):
            cards.append(_card(label, res.audio, res.sample_rate, _metrics_html(m, res)))
        self.players.children = cards
        if job is not None and self.result is not None:
            if job.audio is not None:
                fig = spectrogram_panels(job.audio, {job.label: self.result}, job.config)
            else:
                from matplotlib.figure import Figure

                from .plotting import mel_db

                fig = Figure(figsize=(12.0, 2.6), layout="constrained")
                plot_spectrogram(fig.add_subplot(), mel_db(self.result.audio, job.config), job.config,
                                 title=f"{job.label} (Mel dB)")
            self.spec_image.value = figure_png(fig, dpi=80)


def _card(title: str, audio, sample_rate: int, info_html: str):
    import ipywidgets as W
    from IPython.display import Audio

    player = Audio(playable(audio), rate=int(sample_rate), normalize=False)._repr_html_()
    player = player.replace("<audio ", "<audio style='width:100%' ", 1)
    box = W.HTML(f"<div style='padding:6px 10px;border:1px solid #ddd;border-radius:6px;margin:4px;width:270px'>"
                 f"<b>{html.escape(title)}</b><br>{player}<div style='font-size:12px'>{info_html}</div></div>")
    box.add_class("mr-card")
    return box


def _metrics_html(m: dict, res) -> str:
    names = (("mel_sc", "Mel SC", ".4f"), ("lsd", "LSD", ".2f"), ("mel_db", "Mel dist dB", ".2f"),
             ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f"), ("seconds", "seconds", ".1f"))
    cells = [f"<td>{t}</td><td style='text-align:right;padding-right:10px'><b>{format(m[k], f)}</b></td>"
             for k, t, f in names if k in m and np.isfinite(m[k])]
    rows = "".join("<tr>" + "".join(cells[i:i + 2]) + "</tr>" for i in range(0, len(cells), 2))
    stop = "" if res.stop_reason is None else f" <i>({res.stop_reason})</i>"
    return f"{res.n_iterations} iterations{stop}<table style='line-height:1.1'>{rows}</table>"
