"""The workbench's view: ipywidgets (sliders, dropdowns, an upload, Run/Stop, a live loss plot, A/B players)
around a :class:`~melrecon.apps.workbench.session.Session`.

The method (``"auto"``: the default for the clip's mel source) has one iterations slider per stage, starting
at the counts of the chosen effort level, as :func:`melrecon.methods.resolve.resolve` gives them (the same
resolution :func:`melrecon.reconstruct` makes), so a first Run reproduces :func:`melrecon.reconstruct` with those
choices, starting phases tried included. The controls a method does not use are disabled, and which ones it uses
is asked of its stages (their families and options, :mod:`melrecon.methods`), for every method. Widget updates
from the worker thread go through ``Image`` (PNG bytes) and ``HTML`` widgets only, which are safe to set from
another thread (an ``Output`` widget captures only the thread that opened it).
"""

from __future__ import annotations

import html
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ...algorithms.gradient import OPTIMIZERS
from ...core.config import PRESETS, ParameterError, get_config
from ...core.losses import MEL_LOSSES
from ...methods.registry import DEFAULT_EFFORT, EFFORTS, METHODS, used_options
from ...methods.resolve import resolve
from ..examples import clips
from ..plotting import (
    duration_text,
    figure_png,
    live_loss_figure,
    loss_figure,
    mel_db,
    player_html,
    plot_spectrogram,
    spectrogram_panels,
)
from .session import Request, Session, read_upload

# ipywidgets and IPython (the notebooks extra) are imported inside the functions that build the view: the package
# imports this module, and its session runs without them (tests/test_structure.py::test_session_runs_without_widgets).

__all__ = ["Workbench", "METHOD_CHOICES", "OPTION_CONTROLS", "STOP_WORDS"]

#: Pipelines offered besides the named methods.
PIPELINES = ("gl+gd", "gl+lbfgs", "agla+gd", "gl+waveform")
#: The method choice that leaves it to the resolver: the default for the clip's mel source.
AUTO = "auto"
#: Methods offered by the dropdown: auto, common pipelines, the named methods.
METHOD_CHOICES = tuple(dict.fromkeys([AUTO, *PIPELINES, *(m for m in METHODS if m != "gl")]))
#: Options with a control of their own (enabled when some stage of the chosen method takes them).
OPTION_CONTROLS = ("optimizer", "learning_rate", "consistency_weight", "mel_weight", "mel_loss")
_METHOD_DEFAULT = "(method default)"
_STYLE = {"description_width": "110px"}


def _wide():
    import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

    return W.Layout(width="460px")  # a slider's track ~250 px beside its label and readout


def _slider(W, cls, description, **kw):
    return cls(description=description, style=_STYLE, layout=_wide(), continuous_update=False, **kw)


#: How a result that did not run to the end is labelled (``Reconstruction.stop_reason``).
STOP_WORDS = {"callback": "stopped", "interrupted": "interrupted", "non-finite": "stopped (non-finite loss)"}


def _stage_slider(W, index: int, algorithm, count: int):
    """The iterations slider of one stage (CSS classes ``mr-iters``, ``mr-iters-<i>``, ``mr-iters-<name>``)."""
    top = 3000 if algorithm.family == "gradient" else 1000
    slider = _slider(W, W.IntSlider, f"{algorithm.name} iterations", value=count, min=0,
                     max=max(top, 2 * count), step=10 if count % 10 == 0 else 1)
    for css in ("mr-iters", f"mr-iters-{index}", f"mr-iters-{algorithm.name}"):
        slider.add_class(css)
    return slider


def _build_inputs(wb, preset: str, method: str) -> None:
    import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

    wb.clip = W.Dropdown(description="clip", style=_STYLE, layout=_wide())
    wb.upload = W.FileUpload(accept=".wav,.flac,.ogg,.npy,.npz", multiple=False, description="Upload wav / .npy mel")
    wb.upload.layout = W.Layout(width="460px")
    wb.preset = W.Dropdown(options=sorted(PRESETS), value=preset, description="preset", style=_STYLE, layout=_wide())
    wb.method = W.Dropdown(options=list(METHOD_CHOICES), value=method, description="method", style=_STYLE,
                           layout=_wide())
    # The effort level, between the method and its stage sliders: choosing one sets the sliders to that
    # level's counts (as the resolver gives them, methods.resolve.resolve).
    wb.effort = W.Dropdown(options=list(EFFORTS), value=DEFAULT_EFFORT, description="effort", style=_STYLE,
                           layout=_wide())
    wb.effort_box = W.VBox([wb.effort])
    wb.stage_box = W.VBox([])  # one iterations slider per stage of the method (_set_stage_sliders)
    wb.stage_iters = []


def _build_options(wb, learning_rate: float) -> None:
    import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

    wb.optimizer = W.Dropdown(options=[_METHOD_DEFAULT, *OPTIMIZERS], value=_METHOD_DEFAULT, description="optimizer",
                              style=_STYLE, layout=_wide())
    wb.learning_rate = _slider(W, W.FloatLogSlider, "learning rate", value=learning_rate, base=10, min=-4, max=0,
                               step=0.1, readout_format=".1e")
    wb.consistency_weight = _slider(W, W.FloatSlider, "consistency w.", value=1.0, min=0.0, max=4.0, step=0.05)
    wb.mel_weight = _slider(W, W.FloatSlider, "Mel w.", value=1.0, min=0.0, max=4.0, step=0.05)
    wb.mel_loss = W.Dropdown(options=list(MEL_LOSSES), value="linear", description="Mel loss", style=_STYLE,
                             layout=_wide())
    wb.seed = W.IntText(value=0, description="seed", style=_STYLE, layout=W.Layout(width="220px"))


def _build_outputs(wb) -> None:
    import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

    wb.run_button = W.Button(description="Run", button_style="success", icon="play",
                             tooltip="reconstruct with these settings")
    wb.stop_button = W.Button(description="Stop", button_style="danger", icon="stop", disabled=True,
                              tooltip="stop after the current chunk and keep the best result so far")
    wb.progress = W.IntProgress(value=0, min=0, max=1, description="", layout=W.Layout(width="380px"))
    wb.status = W.HTML(value="")
    wb.loss_image = W.Image(format="png", layout=W.Layout(width="666px", height="auto"))
    wb.spec_image = W.Image(format="png", layout=W.Layout(max_width="1000px", height="auto"))
    wb.players = W.HBox(layout=W.Layout(flex_flow="row wrap"))


def _layout(wb):
    """The whole workbench: controls and the loss plot, the A/B board, the spectrograms."""
    import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

    for widget, css in ((wb.stage_box, "mr-stage-iters"), (wb.run_button, "mr-run"),
                        (wb.stop_button, "mr-stop"), (wb.loss_image, "mr-loss-plot"), (wb.players, "mr-players"),
                        (wb.status, "mr-status"), (wb.method, "mr-method"), (wb.upload, "mr-upload")):
        widget.add_class(css)
    controls = W.VBox([
        W.HTML("<b>Input</b>"), wb.clip, wb.upload, wb.preset,
        W.HTML("<b>Method</b>"), wb.method, wb.effort_box, wb.stage_box,
        W.HTML("<b>Gradient stages</b>"), wb.optimizer, wb.learning_rate, wb.consistency_weight,
        wb.mel_weight, wb.mel_loss, wb.seed,
        W.HBox([wb.run_button, wb.stop_button]), wb.progress, wb.status,
    ], layout=W.Layout(width="400px", flex="0 0 400px"))
    ui = W.VBox([
        W.HBox([controls, wb.loss_image], layout=W.Layout(align_items="flex-start", flex_flow="row wrap")),
        W.HTML("<b>A/B: original and results</b> (players at the real level, clipped to ±1)"),
        wb.players,
        wb.spec_image,
    ])
    ui.add_class("mr-workbench")
    return ui


def _wire(wb) -> None:
    wb.upload.observe(wb._on_upload, names="value")
    wb.method.observe(lambda _: wb._on_method(), names="value")
    wb.effort.observe(lambda _: wb._on_method(), names="value")
    wb.optimizer.observe(lambda _: wb._sync_enabled(), names="value")
    wb.clip.observe(lambda _: wb._on_clip(), names="value")
    wb.preset.observe(lambda _: wb._show_board(), names="value")
    wb.run_button.on_click(lambda _: wb.run())
    wb.stop_button.on_click(lambda _: wb.stop())


class Workbench:
    """Sliders, dropdowns, an upload, Run/Stop, a live loss plot and A/B players around :func:`reconstruct`.

    Parameters
    ----------
    clip : str, path or (audio, sample_rate), optional
        The clip selected first: a name from :func:`melrecon.apps.examples.clips`, an audio file, or an array
        with its rate.
    preset : str
        Analysis settings (``"seed"``, ``"hifigan"``, ``"librosa"``).
    method : str
        One of :data:`METHOD_CHOICES` (default ``"auto"``: the default method for the clip's mel source, as
        :func:`melrecon.reconstruct` chooses it).
    n_iter : int or list of int, optional
        Initial iterations, one count per stage of ``method`` (or one for all); default: the effort level's
        counts, so that the first Run is :func:`melrecon.reconstruct` with that method. Choosing another
        method, effort or clip sets the sliders to the level's counts.
    learning_rate : float
    chunk_size : int, optional
        Iterations between live updates (and between chances to stop); default: :func:`melrecon.reconstruct`'s
        own chunking, so that a run gives reconstruct's audio (the best estimate is kept at chunk ends).
    keep : int
        How many results stay on the A/B board (the newest ones).

    Attributes
    ----------
    session : Session
        The jobs and results (:attr:`result`, :attr:`results`, :attr:`error` read from it).
    plot_updates : int
        How many times the loss plot was redrawn (live updates included).
    """

    def __init__(self, clip=None, *, preset: str = "hifigan", method: str = AUTO, n_iter=None,
                 learning_rate: float = 1e-2, chunk_size: int | None = None, keep: int = 3):
        if preset not in PRESETS:
            raise ParameterError(f"preset={preset!r} is unknown; choose one of {sorted(PRESETS)}.")
        if method not in METHOD_CHOICES:
            raise ParameterError(f"method={method!r} is not offered; choose one of {METHOD_CHOICES}.")
        self.session = Session(chunk_size=chunk_size, keep=keep,
                               on_progress=lambda request, p: self._on_progress(request, p), on_result=self._on_result,
                               on_error=self._show_error, on_finish=self._on_finish)
        self.plot_updates = 0
        _build_inputs(self, preset, method)
        _build_options(self, learning_rate)
        _build_outputs(self)
        self.ui = _layout(self)
        self._add_clips(clip)
        self._set_stage_sliders(self._choice(counts=n_iter).stages)
        _wire(self)
        self._sync_enabled()
        self._set_loss_png(figure_png(live_loss_figure({}, total=self._planned_total(), title="press Run to start")))
        self._show_board()

    # ------------------------------------------------------------------------------------ public
    def show(self):
        """Display the workbench (in a notebook cell)."""
        from IPython.display import display  # noqa: PLC0415 - notebooks extra (see the note above the imports)

        display(self.ui)
        return None

    def _ipython_display_(self):
        self.show()

    clips = property(lambda self: self.session.clips)
    result = property(lambda self: self.session.result, doc="The latest result (after Stop: the best so far).")
    results = property(lambda self: self.session.results, doc="[(label, Reconstruction, metrics)] on the board.")
    error = property(lambda self: self.session.error, doc="The last error message, or None.")
    running = property(lambda self: self.session.running)

    def add_clip(self, name: str, *, audio=None, sample_rate: int | None = None, mel=None, select: bool = True):
        """Offer a clip (``audio`` with its ``sample_rate``) or a Mel spectrogram (``mel``, in the preset's
        compression) in the clip dropdown."""
        src = self.session.add_clip(name, audio=audio, sample_rate=sample_rate, mel=mel)
        self.clip.options = list(self.clips)
        if select:
            self.clip.value = name
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
        self.session.error = None
        try:
            request = self._prepare()
        except ParameterError as exc:
            self.session.fail(str(exc))
            return None
        self.run_button.disabled = True
        self.stop_button.disabled = False
        self.progress.max = max(request.total, 1)
        self.progress.value = 0
        self.progress.bar_style = "info"
        self._set_status(f"running {html.escape(request.label)} …")
        return self.session.start(request, blocking=blocking)

    def stop(self) -> None:
        """Ask the running reconstruction to stop after the current chunk (the best result is kept)."""
        self.session.stop()
        if self.run_button.disabled:
            self._set_status("stopping after this chunk …", kind="warn")

    def wait(self, timeout: float | None = None):
        """Wait for a background run to finish; returns :attr:`result`."""
        return self.session.wait(timeout)

    # ------------------------------------------------------------------------------------ settings
    def _add_clips(self, clip) -> None:
        for name, path in clips().items():
            self.session.add_path(name, path)
        if isinstance(clip, tuple) and len(clip) == 2:
            self.session.add_clip("audio", audio=clip[0], sample_rate=clip[1])
        elif isinstance(clip, (str, Path)) and str(clip) not in self.clips:
            self.session.add_path(Path(clip).name, clip)
        self.clip.options = list(self.clips)
        if isinstance(clip, tuple):
            self.clip.value = "audio"
        elif isinstance(clip, (str, Path)):
            self.clip.value = str(clip) if str(clip) in self.clips else Path(clip).name
        elif self.clips and self.clip.value is None:
            self.clip.value = next(iter(self.clips))

    def _chosen(self) -> dict[str, Any]:
        """The option controls' values (the optimizer only when one is chosen)."""
        values = {name: getattr(self, name).value for name in OPTION_CONTROLS}
        if values["optimizer"] == _METHOD_DEFAULT:
            values["optimizer"] = None
        return values

    def set_iters(self, *counts: int) -> None:
        """Set the stage sliders: one count per stage of the chosen method."""
        if len(counts) != len(self.stage_iters):
            raise ParameterError(f"set_iters takes {len(self.stage_iters)} count(s), one per stage of "
                                 f"{self.method.value!r}; got {len(counts)}.")
        for slider, n in zip(self.stage_iters, counts):
            slider.max = max(slider.max, int(n))
            slider.value = int(n)

    def _set_stage_sliders(self, stages) -> None:
        import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

        self.stage_iters = [_stage_slider(W, i, s.algorithm, s.n_iter) for i, s in enumerate(stages)]
        self.stage_box.children = self.stage_iters

    def _on_method(self) -> None:
        """Another method, effort level or clip: the stage sliders at the level's counts, then the controls."""
        self._set_stage_sliders(self._choice(counts=None).stages)
        self._sync_enabled()

    def _on_clip(self) -> None:
        """Another clip: with ``"auto"``, the method follows the clip's mel source (sliders reset only when the
        resolved stages change); then the board."""
        names = [s.algorithm.name for s in self._choice(counts=None).stages]
        if names != [str(s.description).split(" ")[0] for s in self.stage_iters]:
            self._on_method()
        self._show_board()

    def _counts(self) -> list[int]:
        return [int(s.value) for s in self.stage_iters]

    def _method(self) -> str | None:
        """The method chosen, None for ``"auto"`` (the resolver's default for the clip's mel source)."""
        return None if self.method.value == AUTO else self.method.value

    def _mel_source(self) -> str | None:
        clip = self.clips.get(self.clip.value) if self.clip.value is not None else None
        return None if clip is None else clip.mel_source

    def _choice(self, options: dict[str, Any] | None = None, counts: Any = "sliders"):
        """What a Run would run (:func:`melrecon.methods.resolve.resolve`; ``counts`` "sliders": the sliders')."""
        n_iter = self._counts() if counts == "sliders" else counts
        return resolve(self._method(), source=self._mel_source(), effort=self.effort.value, n_iter=n_iter,
                       options=options)

    def _stages(self, options: dict[str, Any] | None = None):
        return self._choice(options).stages

    def _planned_total(self) -> int:
        try:
            return sum(n for _, n in self._stages())
        except ParameterError:
            return 1

    def _sync_enabled(self) -> None:
        """Enable exactly the controls the chosen method's stages take (asked of the stages)."""
        chosen = self._chosen()
        try:
            stages = self._stages(chosen)
        except ParameterError:  # e.g. a value the chosen optimizer refuses: judge by the method alone
            stages = self._stages()
        used = used_options(stages, OPTION_CONTROLS, chosen)
        for name in OPTION_CONTROLS:
            getattr(self, name).disabled = name not in used

    def _prepare(self) -> Request:
        options = {k: v for k, v in self._chosen().items() if v is not None and not getattr(self, k).disabled}
        for k in ("learning_rate", "consistency_weight", "mel_weight"):
            if k in options:
                options[k] = float(options[k])
        return self.session.prepare(self.clip.value, self.preset.value, self._method(), n_iter=self._counts(),
                                    seed=int(self.seed.value), options=options, effort=self.effort.value)

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[-1]
        name = item["name"] if isinstance(item, dict) else item.name
        content = item["content"] if isinstance(item, dict) else item.content
        try:
            src = read_upload(name, bytes(content))
        except ParameterError as exc:
            self.session.fail(str(exc))
            return
        self.add_clip(src.name, audio=src.audio, sample_rate=src.sample_rate, mel=src.mel)  # "auto" follows it
        what = "a Mel spectrogram of shape %s" % (src.mel.shape,) if src.mel is not None else \
            f"{src.audio.shape[-1] / src.sample_rate:.2f} s of audio at {src.sample_rate} Hz"
        self._set_status(f"loaded {html.escape(name)}: {what}", kind="ok")

    # ------------------------------------------------------------------------------------ session reports
    def _on_progress(self, request: Request, p) -> bool:
        self.progress.value = min(p.iteration, self.progress.max)
        self.progress.description = f"{100 * p.iteration // max(p.total, 1)}%"
        now = time.perf_counter()
        if now - request.last_draw > 0.2 or p.iteration >= p.total:
            request.last_draw = now
            title = (f"{p.stage_name}: iteration {p.iteration}/{p.total} · Mel SC {float(np.mean(p.mel_sc)):.4f} "
                     f"(best {float(np.mean(p.best_mel_sc)):.4f}) · {p.elapsed:.1f} s")
            fig = live_loss_figure(p.history, total=p.total, title=title,
                                   evaluations=(request.eval_iters, request.eval_sc))
            self._set_loss_png(figure_png(fig))
        return True

    def _on_result(self, request: Request, result, metrics: dict) -> None:
        title = f"{request.label} — {result.n_iterations} iterations in {result.seconds:.1f} s"
        self._set_loss_png(figure_png(loss_figure({"": result}, title=title, figsize=(7.4, 4.0)), dpi=90))
        self._show_board(request)
        self.progress.bar_style = "success" if result.stop_reason is None else "warning"
        how = STOP_WORDS.get(result.stop_reason, "done")
        kind = "ok" if result.stop_reason is None else "warn"
        self._set_status(f"{how}: {html.escape(request.label)} — {result.n_iterations}/{request.total} iterations, "
                         f"best at {result.best_iteration}, Mel SC {float(np.mean(result.mel_sc)):.4f}, "
                         f"{result.seconds:.1f} s (+{result.compile_seconds:.1f} s compile)", kind=kind)

    def _on_finish(self, request: Request) -> None:
        self.run_button.disabled = False
        self.stop_button.disabled = True

    def _show_error(self, message: str, detail: str = "") -> None:
        self.progress.bar_style = "danger"
        extra = f"<details><summary>traceback</summary><pre>{html.escape(detail)}</pre></details>" if detail else ""
        self._set_status(html.escape(message) + extra, kind="error")

    def _set_status(self, text: str, kind: str = "info") -> None:
        color = {"info": "#333", "ok": "#1a7f37", "warn": "#9a6700", "error": "#cf222e"}[kind]
        self.status.value = f"<div style='color:{color};max-width:380px;line-height:1.3'>{text}</div>"

    def _set_loss_png(self, png: bytes) -> None:
        self.loss_image.value = png
        self.plot_updates += 1

    # ------------------------------------------------------------------------------------ the A/B board
    def _original_card(self, request: Request | None):
        import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

        src = self.clips.get(self.clip.value) if self.clip.value is not None else None
        if src is None:
            return None
        cfg = get_config(self.preset.value)
        original = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                original = self.session.load(src, cfg)[0] if request is None else request.audio
        except ParameterError as exc:
            self.session.fail(str(exc))
        if original is None:
            return W.HTML(f"<div style='padding:6px'><b>original</b><br>{html.escape(src.name)}: a Mel "
                          f"spectrogram, no audio</div>")
        return _card("original", original, cfg.sample_rate, f"{html.escape(src.name)}<br>"
                     f"{original.shape[-1] / cfg.sample_rate:.2f} s, {cfg.sample_rate} Hz")

    def _show_board(self, request: Request | None = None) -> None:
        """The A/B board: the original (for audio clips) and the kept results, each with its metrics."""
        original = self._original_card(request)
        cards = [] if original is None else [original]
        for label, res, m in reversed(self.results):
            cards.append(_card(label, res.audio, res.sample_rate, _metrics_html(m, res)))
        self.players.children = cards
        if request is not None and self.result is not None:
            self.spec_image.value = figure_png(_spectrogram_figure(request, self.result), dpi=80)


def _spectrogram_figure(request: Request, result):
    if request.audio is not None:
        return spectrogram_panels(request.audio, {request.label: result}, request.config)
    fig = Figure(figsize=(12.0, 2.6), layout="constrained")
    plot_spectrogram(fig.add_subplot(), mel_db(result.audio, request.config), request.config,
                     title=f"{request.label} (Mel dB)")
    return fig


def _card(title: str, audio, sample_rate: int, info_html: str):
    import ipywidgets as W  # noqa: PLC0415 - notebooks extra (see the note above the imports)

    player = player_html(audio, sample_rate, style="width:100%")
    box = W.HTML(f"<div style='padding:6px 10px;border:1px solid #ddd;border-radius:6px;margin:4px;width:270px'>"
                 f"<b>{html.escape(title)}</b> <span style='font-size:11px'>({duration_text(audio, sample_rate)})"
                 f"</span><br>{player}<div style='font-size:12px'>{info_html}</div></div>")
    box.add_class("mr-card")
    return box


def _metrics_html(m: dict, res) -> str:
    names = (("mel_sc", "Mel SC", ".4f"), ("lsd", "LSD", ".2f"), ("mel_db", "Mel dist dB", ".2f"),
             ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f"), ("seconds", "seconds", ".1f"))
    cells = [f"<td>{t}</td><td style='text-align:right;padding-right:10px'><b>{format(m[k], f)}</b></td>"
             for k, t, f in names if k in m and np.isfinite(m[k])]
    rows = "".join("<tr>" + "".join(cells[i:i + 2]) + "</tr>" for i in range(0, len(cells), 2))
    stop = "" if res.stop_reason is None else f" <i>({STOP_WORDS.get(res.stop_reason, res.stop_reason)})</i>"
    return f"{res.n_iterations} iterations{stop}<table style='line-height:1.1'>{rows}</table>"
