"""The listening test in a notebook: ipywidgets a person takes cell by cell, on a :class:`Session`.

:class:`MushraView`: a player group (the open reference and each condition of the trial, looping; a condition's
button switches to it at the position the current one is playing), one 0-100 slider per condition, "next trial"
and a progress bar. :class:`AbxView`: players A, B, X and the buttons "X is A" / "X is B". Every answer is
saved at once (atomically) by the session; a view built again for the same listener resumes at the first
unanswered trial. Everything a click does is a method (``set_rating``, ``next``, ``choose``), so scripts and
tests drive the views without a browser, and a headless notebook can answer through them.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Sequence

from ...core.config import ParameterError
from .answers import Session
from .build import ListeningTest, load_test

__all__ = ["MushraView", "AbxView", "take_test", "player_group"]

#: Switches to another player of the group at the playing one's position (inline: ipywidgets' HTML runs no
#: <script>, but it keeps event attributes).
_SWITCH = ("var g=this.closest('.mr-listen-group'),a=g.querySelectorAll('audio'),t=+(g.dataset.pos||0),"
           "k=this.dataset.key,x=g.querySelector('audio[data-key=\"'+k+'\"]');"
           "a.forEach(function(y){if(!y.paused){t=y.currentTime;}});"
           "a.forEach(function(y){if(y!==x){y.pause();}});x.currentTime=t;x.play();"
           "g.querySelectorAll('button').forEach(function(b){b.style.fontWeight=(b===this)?'bold':'normal';},this);")
_ONPLAY = ("var g=this.closest('.mr-listen-group');g.querySelectorAll('audio').forEach(function(y){"
           "if(y!==this){y.pause();}},this);")
_ONPAUSE = "this.closest('.mr-listen-group').dataset.pos=this.currentTime;"
_STOP = "this.closest('.mr-listen-group').querySelectorAll('audio').forEach(function(y){y.pause();});"


def _data_uri(path: Path) -> str:
    return "data:audio/wav;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def player_group(items: Sequence[tuple[str, str, Path]]) -> str:
    """HTML of a player group: ``(key, title, wav path)`` per player; every player loops, and its button switches
    to it at the position of the one playing (pausing the others)."""
    rows = []
    for key, title, path in items:
        k = html.escape(key, quote=True)
        rows.append(
            f'<div style="display:flex;align-items:center;gap:8px;margin:2px 0">'
            f'<button class="mr-listen-switch" data-key="{k}" onclick="{html.escape(_SWITCH)}" '
            f'style="min-width:130px">▶ {html.escape(title)}</button>'
            f'<audio data-key="{k}" controls loop preload="auto" style="width:300px" '
            f'onplay="{html.escape(_ONPLAY)}" onpause="{html.escape(_ONPAUSE)}" src="{_data_uri(path)}"></audio></div>')
    stop = f'<button onclick="{html.escape(_STOP)}">■ stop</button>'
    return f'<div class="mr-listen-group">{"".join(rows)}{stop}</div>'


class _View:
    """What both views share: the session, the header, progress, status and the layout."""

    kind = ""

    def __init__(self, test: ListeningTest | str | Path, listener: str, *, folder=None):
        import ipywidgets as W  # noqa: PLC0415 - notebooks extra; `melrecon listen` imports this package

        self.session = Session(test, listener, folder=folder)
        if self.session.test.kind != self.kind:
            raise ParameterError(f"test {self.session.test.name!r} is {self.session.test.kind.upper()}; "
                                 f"use take_test(), which picks the view for the kind.")
        n = len(self.session.trials)
        self.header = W.HTML()
        self.progress = W.IntProgress(value=0, min=0, max=n, description="progress", layout=W.Layout(width="380px"))
        self.players = W.HTML()
        self.controls = W.VBox([])
        self.status = W.HTML()
        self.root = W.VBox([self.header, self.progress, self.players, self.controls, self.status])
        self.root.add_class("mr-listening")
        self._load()

    def _ipython_display_(self):
        from IPython.display import display  # noqa: PLC0415 - notebooks extra, as ipywidgets

        display(self.root)

    def show(self):
        """The widget (display it in a cell)."""
        return self.root

    @property
    def trial(self) -> dict | None:
        """The trial shown (None when the test is done)."""
        return self.session.current

    def _header(self) -> None:
        done, total = self.session.progress
        test = self.session.test
        self.progress.value = done
        self.header.value = (f"<b>{html.escape(test.kind.upper())} test {html.escape(test.name)}</b> — "
                             f"{len(test.conditions)} conditions, listener "
                             f"<code>{html.escape(self.session.listener)}</code>, trial "
                             f"{min(done + 1, total)} of {total}")

    def _load(self) -> None:
        self._header()
        if self.session.done:
            self.players.value = ""
            self.controls.children = ()
            self.status.value = (f"Done: {self.session.progress[1]} trials answered, saved in "
                                 f"<code>{html.escape(str(self.session.path))}</code>. Thank you.")
            return
        self.session.started_trial()
        self._show_trial(self.session.current)

    def _show_trial(self, trial: dict) -> None:  # pragma: no cover - each view has its own
        raise NotImplementedError


class MushraView(_View):
    """A MUSHRA test in the notebook for one listener (see the module docstring).

    Parameters
    ----------
    test : ListeningTest or path
        The test (a MUSHRA one).
    listener : str
        The listener's name (the answer file's).
    folder : path, optional
        Where the answer file goes (default: the test's folder).

    Attributes
    ----------
    sliders : list of ipywidgets.IntSlider
        One per condition of the trial shown, in its presentation order (``stimulus_ids``).
    next_button : ipywidgets.Button
        Saves the ratings and shows the next trial; enabled once every slider has been moved.
    """

    kind = "mushra"

    def _show_trial(self, trial: dict) -> None:
        import ipywidgets as W  # noqa: PLC0415 - notebooks extra; `melrecon listen` imports this package

        test = self.session.test
        self.stimulus_ids = [s["id"] for s in trial["stimuli"]]
        items = [("ref", "reference", test.audio_path(trial["reference"]))]
        items += [(s["id"], f"condition {i + 1}", test.audio_path(s["file"])) for i, s in enumerate(trial["stimuli"])]
        self.players.value = player_group(items)
        self.touched: set[int] = set()
        self.sliders = []
        for i in range(len(self.stimulus_ids)):
            slider = W.IntSlider(value=0, min=0, max=100, description=f"condition {i + 1}", continuous_update=False,
                                 style={"description_width": "90px"}, layout=W.Layout(width="460px"))
            slider.add_class(f"mr-listen-slider-{i + 1}")
            slider.observe(lambda change, i=i: self.touched.add(i), names="value")
            self.sliders.append(slider)
        self.next_button = W.Button(description="next trial", button_style="primary", disabled=True)
        self.next_button.on_click(lambda _: self.next())
        for slider in self.sliders:
            slider.observe(lambda _: self._enable(), names="value")
        scale = W.HTML("<small>0–20 bad · 20–40 poor · 40–60 fair · 60–80 good · 80–100 excellent; "
                       "the reference is hidden among the conditions: rate it 100.</small>")
        self.controls.children = (scale, *self.sliders, self.next_button)
        self.status.value = "Move every slider, then press <i>next trial</i>."

    def _enable(self) -> None:
        self.next_button.disabled = len(self.touched) < len(self.sliders)

    def set_rating(self, condition: int | str, value: float) -> None:
        """Set the slider of ``condition`` (its position 0.. in the trial, or its id) as a listener would."""
        i = self.stimulus_ids.index(condition) if isinstance(condition, str) else int(condition)
        if not 0 <= i < len(self.sliders):
            raise ParameterError(f"condition={condition!r}: this trial has conditions 0..{len(self.sliders) - 1}.")
        self.sliders[i].value = int(round(value))
        self.touched.add(i)
        self._enable()

    @property
    def ratings(self) -> dict[str, int]:
        """The sliders' values by condition id."""
        return {cid: s.value for cid, s in zip(self.stimulus_ids, self.sliders)}

    def next(self) -> bool:
        """Save the trial's ratings (every slider must have been moved) and show the next trial; False (and a
        message) when a slider was not moved or the test is done."""
        if self.session.done:
            return False
        if len(self.touched) < len(self.sliders):
            missing = [str(i + 1) for i in range(len(self.sliders)) if i not in self.touched]
            self.status.value = f"Rate every condition first (not moved yet: {', '.join(missing)})."
            return False
        self.session.rate(self.session.current["id"], self.ratings)
        self._load()
        return True


class AbxView(_View):
    """An ABX test in the notebook for one listener: players A, B and X, and "X is A" / "X is B"."""

    kind = "abx"

    def _show_trial(self, trial: dict) -> None:
        import ipywidgets as W  # noqa: PLC0415 - notebooks extra; `melrecon listen` imports this package

        test = self.session.test
        self.players.value = player_group([(k, k, test.audio_path(trial["files"][k])) for k in ("A", "B", "X")])
        self.buttons = []
        for choice in ("A", "B"):
            button = W.Button(description=f"X is {choice}", button_style="primary")
            button.on_click(lambda _, c=choice: self.choose(c))
            self.buttons.append(button)
        self.controls.children = (W.HBox(self.buttons),)
        self.status.value = "Which one is X: A or B?"

    def choose(self, choice: str) -> bool:
        """Answer the trial shown (``"A"`` or ``"B"``) and show the next; False when the test is done."""
        if self.session.done:
            return False
        self.session.choose(self.session.current["id"], choice)
        self._load()
        return True


def take_test(test: ListeningTest | str | Path, listener: str, *, folder=None) -> MushraView | AbxView:
    """The notebook view of ``test`` for ``listener`` (MUSHRA or ABX by the test's kind), resuming at the first
    unanswered trial. Display it in a cell."""
    test = load_test(test)
    return (MushraView if test.kind == "mushra" else AbxView)(test, listener, folder=folder)
