"""Figures a newcomer can read: the demo figure has a colour bar and keeps every curve visible, loss figures
with many runs have a short legend in readable type, and a too-loud reconstruction is explained by a
mismatched Mel convention (not by integer PCM)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import melrecon
import melrecon.apps.metrics
from melrecon import MelConfig, reconstruct
from melrecon.apps import plotting
from melrecon.core import transforms


@pytest.fixture(scope="module")
def runs(speech_sample):
    x, _ = speech_sample
    cfg = MelConfig.preset("hifigan")
    audio = x[: cfg.sample_rate // 2]
    mel = np.asarray(transforms.mel_spectrogram(audio, cfg))
    results = {
        "GL": reconstruct(mel, cfg, method="fgla", n_iter=30, progress=False),
        "GL+GD": reconstruct(mel, cfg, method="gl+gd", n_iter=[30, 20], progress=False),
        "default": reconstruct(mel, cfg, source="analysis", n_iter=[20, 10], progress=False),
    }
    return audio, mel, cfg, results


def test_demo_figure_has_a_colour_bar_and_every_curve_visible(runs):
    audio, _, cfg, results = runs
    fig = plotting.comparison_figure(audio, results, cfg)
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert bars, "the spectrograms have no colour bar"
    assert "dB" in bars[0].get_ylabel()
    curves = [ax for ax in fig.axes if ax.get_lines()]
    assert len(curves) == 2
    for ax in curves:
        lines = {line.get_label(): line for line in ax.get_lines()}
        gl, glgd = lines["GL"], lines["GL+GD"]
        # GL+GD starts with the same GL: its curve must not cover GL's
        assert gl.get_zorder() > glgd.get_zorder()
        looks = {(str(line.get_linestyle()), line.get_marker()) for line in lines.values()}
        assert len(looks) == len(lines), "two curves share line style and marker"


def test_loss_figure_legend_is_short_and_readable(runs):
    _, _, _, results = runs
    many = {f"{label} {k}": res for k in range(4) for label, res in results.items()}  # 12 runs, as notebook 02
    fig = plotting.loss_figure(many)
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == 1
    texts = legends[0].get_texts()
    n_terms = len({t for res in results.values() for t in plotting.loss_terms(res)})
    assert len(texts) <= len(many) + n_terms + 1, [t.get_text() for t in texts]
    assert min(t.get_fontsize() for t in texts) >= 9


def test_a_too_loud_reconstruction_is_not_blamed_on_integer_pcm(runs):
    audio, mel, cfg, results = runs
    loud = reconstruct(mel, cfg, method="fgla", n_iter=5, progress=False)
    loud.audio = loud.audio * (40.0 / np.abs(loud.audio).max())  # what a Mel read with the wrong power gives
    with pytest.warns(UserWarning) as seen:
        plotting.overview_figure(audio, mel, {"power Mel read as magnitude": loud}, cfg)
    messages = " ".join(str(w.message) for w in seen)
    assert "read with other settings" in messages and "power Mel read as magnitude" in messages
    assert "integer PCM" not in messages
    with pytest.warns(UserWarning) as seen:  # the metrics of such a run: said once, with the same cause
        melrecon.apps.metrics.evaluate(audio, loud.audio, cfg, perceptual=False)
    messages = [str(w.message) for w in seen if "far outside" in str(w.message)]
    assert len(messages) == 1 and "read with other settings" in messages[0] and "integer PCM" not in messages[0]
    # input audio keeps the PCM guess
    with pytest.warns(UserWarning, match="integer PCM"):
        transforms.stft(audio * 1000.0, cfg)


def test_players_never_shrink_below_a_playable_width():
    html = plotting.players_html({"original": np.zeros(2205, np.float32), "x": np.zeros(2205, np.float32)},
                                 22050).data
    assert "display:flex" not in html
    widths = [int(w) for w in re.findall(r"min-width:(\d+)px", html)]
    assert widths and min(widths) >= 250
    assert re.search(r"minmax\((\d+)px", html) and int(re.search(r"minmax\((\d+)px", html).group(1)) >= 250


def test_family_loss_figure_has_few_distinct_series_per_panel(runs):
    """Notebook 02's figure: one column per family, each panel's runs in distinct colours, few of them."""
    from matplotlib.colors import to_rgba

    _, _, _, results = runs
    many = {f"{label} {k}": res for k in range(3) for label, res in results.items()}  # 9 runs, 3 families
    fig = plotting.family_loss_figure(many)
    panels = [ax for ax in fig.axes if ax.get_lines()]
    assert len(panels) == 2 * len({plotting.run_family(r) for r in results.values()}) == 6
    for ax in panels:
        runs_here = {line.get_color() if isinstance(line.get_color(), str) else tuple(to_rgba(line.get_color()))
                     for line in ax.get_lines() if line.get_linestyle() != ":" or line.get_marker() == "o"}
        assert len(runs_here) <= 5
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert set(titles) == {"Griffin-Lim family", "gradient descent on the STFT",
                           "Mel-constrained projections (default)"}
    for ax in fig.axes[:3]:  # each top panel's legend names its own runs only, in readable type
        legend = ax.get_legend()
        assert legend is not None and len(legend.get_texts()) == 3


def test_family_loss_figure_keeps_every_run_in_view(runs):
    """Notebook 02's figure: each panel has its own axes, and every curve ends inside its panel (the best runs,
    which end lowest, were cut off below a y-axis shared with the worst family's)."""
    _, _, _, results = runs
    fig = plotting.family_loss_figure(results)
    panels = [ax for ax in fig.axes if ax.get_lines()]
    for ax in panels:
        assert ax.get_shared_y_axes().get_siblings(ax) == [ax] and ax.get_shared_x_axes().get_siblings(ax) == [ax]
        lo, hi = ax.get_ylim()
        right = max(np.nanmax(np.asarray(line.get_xdata(), np.float64)) for line in ax.get_lines())
        assert ax.get_xlim()[1] <= 1.1 * right, "a panel's x-axis runs past its own runs"
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), np.float64)
            y = y[np.isfinite(y) & (y > 0)]
            if y.size:
                assert lo <= y[-1] <= hi, f"{ax.get_title()}: a curve ends at {y[-1]:.3g}, outside {lo:.3g}..{hi:.3g}"


def test_players_say_their_length_to_the_millisecond():
    """Chromium's controls round a length down to whole seconds (0.998 s reads 0:00 / 0:00): the label and the
    player's tooltip give it exactly, and the wav is loaded with the page."""
    html = plotting.players_html({"x": np.zeros(22016, np.float32)}, 22050).data
    assert "(0.998 s)" in html and "title='0.998 s'" in html and "preload='auto'" in html
