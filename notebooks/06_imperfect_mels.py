# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Imperfect mels
#
# A mel predicted by an acoustic model is not the mel of any signal: it is noisy, or over-smoothed, or
# timed differently. melrecon's default method depends on where the mel came from
# (`melrecon.DEFAULT_METHODS`): a mel it computed from audio itself (`source="analysis"`) is fitted exactly
# (`meladmm+melgl`, the *exact* method, which would reproduce any error too); a mel handed in (an array, a mel
# file, `mel_to_audio`: the default source) gets the *noise-aware* method (`tolmeladmm+tolmelgl`). That one
# first measures the mel itself: how blurred it is across bands, its *noise level* (the frame-to-frame
# roughness that neighbouring bands do not share) and its *sharpness*; it then runs the same pipeline towards a
# cleaned target: deblurred across bands, smoothed along time when it is noisy, sharpened when it is smoother
# than a signal's mel, and the mel itself (the exact method, iterate for iterate) when it reads none of these.
# This notebook:
#
# 1. degrades the clean mel of a recording (the widgets: the kind of error and its strength);
# 2. shows what the automatic choice measures and the target it fits;
# 3. inverts the degraded mel with the exact method, the L-BFGS peer and the noise-aware method (what
#    `reconstruct` runs on it by default), and lets you listen and compare (A/B players, metrics against the
#    original where the timing is kept).
#
# The same from the command line: `melrecon invert MEL.npy OUT.wav` (a mel file: the noise-aware method;
# `--method meladmm+melgl` fits it exactly). The measured effect on the whole development set is in
# `docs/robustness.md` (`benchmarks/robustness.py`).

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: fewer iterations, a shorter clip).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
KIND = "time smoothing"   # "none", or one of melrecon.apps.degrade.KINDS
STRENGTH = 1.0            # sigma (frames / bands / log units) or rate (time stretch)
SECONDS = 1.5 if FAST else 4.0
ITERS = [30, 20] if FAST else None         # the two stages of the exact and of the noise-aware method (None:
                                           # their default effort's counts)
LBFGS_ITERS = 20 if FAST else 200          # the L-BFGS peer

# %%
# %matplotlib inline
import warnings
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

import melrecon
from melrecon import io
from melrecon.algorithms.tolerant import auto_choice
from melrecon.apps import degrade, metrics, plotting
from melrecon.apps.examples import example

REPO = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
SHARED = REPO.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"
CLIP = SHARED if SHARED.exists() else example("speech")
cfg = melrecon.MelConfig.preset("hifigan")
with warnings.catch_warnings(record=True) as notes:  # routine notes (resampled, mixed down): printed
    warnings.simplefilter("always")
    audio, sr = io.load_audio(CLIP, sample_rate=cfg.sample_rate)
for note in notes:
    print("note:", note.message)
audio = audio[: int(SECONDS * sr)]
clean = np.asarray(melrecon.decompress(melrecon.mel_spectrogram(audio, cfg), cfg))
print(f"{CLIP.name}: {audio.shape[-1] / sr:.1f} s at {sr} Hz, clean mel {clean.shape} (hifigan preset, linear)")

# %% [markdown]
# ## Choose the error
# The dropdown and the slider set `KIND` and `STRENGTH`; the line below them shows what the automatic
# choice measures in the degraded mel. Re-run the cells below after a change.

# %%
import ipywidgets as widgets

WIDTH = "520px"  # the whole widget: the slider's track ~340 px (ipywidgets' default width leaves it 124 px)
kind = widgets.Dropdown(options=["none", *degrade.KINDS], value=KIND, description="error",
                        layout=widgets.Layout(width=WIDTH))
strength = widgets.FloatSlider(value=STRENGTH, min=0.05, max=3.0, step=0.05, description="strength",
                               layout=widgets.Layout(width=WIDTH))
info = widgets.HTML()


def _choice_text(mel) -> str:
    seen, _ = auto_choice(mel, cfg)
    return (f"band spread {seen['band_spread']:.2f}, noise level {seen['noise_level']:.3f}, sharpness "
            f"{seen['sharpness']:.2f} &rarr; deblur {seen['deblur']:.2f} bands, smoothing width "
            f"{seen['tolerance']:.2f} frames, sharpening {seen['sharpen']:.2f}")


def _show(change=None):
    global KIND, STRENGTH
    if change is not None and change["owner"] is kind and kind.value in degrade.KINDS:
        lo, hi, default = degrade.KINDS[kind.value][2]
        strength.min, strength.max, strength.value = lo, hi, default
    KIND, STRENGTH = kind.value, strength.value
    info.value = f"<small>{_choice_text(degrade.apply(clean, KIND, STRENGTH))}</small>"


kind.observe(_show, names="value")
strength.observe(_show, names="value")
_show()
display(widgets.VBox([kind, strength, info]))

# %% [markdown]
# ## The degraded mel and the target the noise-aware method fits
# Log-mels (natural log): the clean mel, the degraded one, and the cleaned target. The time stretch has
# no time-aligned original, so its metrics below are the ones that need none (DNSMOS, Mel SC against the
# given mel).

# %%
given = degrade.apply(clean, KIND, STRENGTH)
seen, target = auto_choice(given, cfg)
aligned = given.shape[-1] == clean.shape[-1]
display(Markdown(f"**{KIND}** ({STRENGTH:g}): {_choice_text(given).replace('&rarr;', '→')}"))
logs = {"clean": np.log(np.maximum(clean, 1e-5)), f"{KIND} {STRENGTH:g}": np.log(np.maximum(given, 1e-5)),
        "noise-aware target": np.log(np.maximum(target, 1e-5))}
display(plotting.mel_panels(logs, cfg))

# %% [markdown]
# ## Invert, listen, compare

# %%
mel_in = melrecon.compress(given, cfg)
runs = {
    f"exact ({melrecon.EXACT_METHOD})": dict(method=melrecon.EXACT_METHOD, n_iter=ITERS),
    "L-BFGS peer (lbfgs)": dict(method="lbfgs", n_iter=LBFGS_ITERS),
    f"noise-aware ({melrecon.NOISE_AWARE_METHOD})": dict(method=melrecon.NOISE_AWARE_METHOD, n_iter=ITERS),
}
results = {label: melrecon.reconstruct(mel_in, cfg, seed=0, progress=False, **kw) for label, kw in runs.items()}
rows = []
for label, r in results.items():
    out = np.asarray(r.audio)
    row = {"method": label, "seconds": r.seconds,
           "sc_given": metrics.mel_spectral_convergence(given, out, cfg, reference_is_mel=True)}
    if aligned:
        row.update(pesq=metrics.pesq_wb(audio, out, sr), stoi=metrics.stoi(audio, out, sr),
                   sc_clean=metrics.mel_spectral_convergence(clean, out, cfg, reference_is_mel=True))
    try:
        row["dnsmos"] = metrics.dnsmos(out, sr)
    except ImportError:  # speechmos / onnxruntime not installed
        pass
    rows.append(row)
columns = [("method", "method", "s"), ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f"),
           ("dnsmos", "DNSMOS", ".2f"), ("sc_clean", "Mel SC (clean)", ".3f"),
           ("sc_given", "Mel SC (given)", ".3f"), ("seconds", "seconds", ".1f")]
display(Markdown(plotting.metrics_table(rows, columns)))
notes = {r["method"]: (f"PESQ-wb {r['pesq']:.2f}" if "pesq" in r else f"Mel SC {r['sc_given']:.3f}") for r in rows}
display(plotting.players_html({"original": audio, **results}, sr, notes=notes))

# %% [markdown]
# The Mel spectrograms (dB) of the original and of each output.

# %%
outputs = {"original": plotting.mel_db(audio, cfg)}
outputs.update({label.split(" (")[0]: plotting.mel_db(r.audio, cfg) for label, r in results.items()})
display(plotting.mel_panels(outputs, cfg, cmap="magma"))
