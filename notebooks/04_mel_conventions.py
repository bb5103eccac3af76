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
# # Mel conventions: presets, compression, and feeding your own Mel
#
# A Mel spectrogram is only invertible if you know how it was made: sample rate, FFT size, hop, window and
# padding, the filterbank (number of bands, frequency range, HTK or Slaney scale, normalisation), magnitude
# or power, and the compression (none, natural log, log10, dB) with its floor. `melrecon.MelConfig` holds all
# of these; the presets are the common settings:
#
# | preset | used by | sr | n_fft / hop | bands | scale, norm | values |
# |---|---|---|---|---|---|---|
# | `seed` | the original experiment | 16 kHz | 512 / 128 | 128, 0-8 kHz | HTK, none | magnitude, linear |
# | `hifigan` | HiFi-GAN, BigVGAN (Tacotron 2 centres its frames: `tacotron2`) | 22.05 kHz | 1024 / 256 | 80, 0-8 kHz | Slaney, Slaney | ln(max(magnitude, 1e-5)) |
# | `librosa` | `librosa.feature.melspectrogram` defaults | 22.05 kHz | 2048 / 512 | 128, 0-11 kHz | Slaney, Slaney | power, linear |

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: fewer iterations).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
ITERS = 30 if FAST else 200   # Griffin-Lim iterations for each comparison

# %%
# %matplotlib inline
import warnings

import librosa
import numpy as np
from IPython.display import Markdown, display

import melrecon
from melrecon import io
from melrecon.apps import metrics, plotting
from melrecon.apps.examples import example

CLIP = example("speech")

for name, cfg in melrecon.PRESETS.items():
    print(f"{name:>8}: {cfg}")

# %% [markdown]
# ## The filterbanks
# Every (or every n-th) triangle of each preset's filterbank. HTK with no normalisation (`seed`): peaks at 1;
# Slaney normalisation: each triangle divided by its width, so wide high bands have low peaks.

# %%
plotting.filterbank_figure(["seed", "hifigan", "librosa"])

# %% [markdown]
# ## Magnitude, power, log and dB
# The same clip's Mel spectrogram in four units. Linear values are dominated by a few loud bands; the log and
# dB versions show the structure (they are what neural vocoders consume). A log of 0 is -inf, so every
# compression clamps at a floor first (`floor=1e-5` for `hifigan`).

# %%
cfg = melrecon.MelConfig.preset("hifigan")
y, sr = io.load_audio(CLIP, sample_rate=cfg.sample_rate)
variants = {
    "magnitude (power=1, none)": cfg.replace(compression="none"),
    "power (power=2, none)": cfg.replace(power=2.0, compression="none"),
    "natural log (hifigan)": cfg,
    "dB (20 log10 magnitude)": cfg.replace(compression="db"),
}
mels = {label: np.asarray(melrecon.mel_spectrogram(y, c)) for label, c in variants.items()}
plotting.mel_panels(mels, cfg)

# %% [markdown]
# Given the matching config, `reconstruct` undoes the compression itself: the log and dB versions hold exactly
# the magnitude Mel, so all three give the same audio. The power Mel is a different target (the squares are
# summed inside each band), so its reconstruction differs a little.

# %%
COLUMNS = [("method", "Mel given as", "s"), ("mel_sc", "Mel SC", ".4f"), ("lsd", "LSD (dB)", ".2f"),
           ("mel_db", "Mel dist (dB)", ".2f"), ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f")]
rows = []
for label, c in variants.items():
    res = melrecon.reconstruct(mels[label], c, method="fgla", n_iter=ITERS, progress=False)
    rows.append(dict(method=label, **metrics.evaluate(y, res.audio, cfg)))
display(Markdown(plotting.metrics_table(rows, COLUMNS)))
same = [r["mel_sc"] for r in rows if not r["method"].startswith("power")]
print(f"Mel SC of the magnitude, log and dB inputs: {', '.join(f'{v:.5f}' for v in same)}")
assert np.ptp(same) < 1e-3

# %% [markdown]
# ## Feeding a Mel made by librosa or a HiFi-GAN pipeline
# The librosa call that gives exactly each preset's Mel (`melrecon.mel_spectrogram(y, preset)`):
#
# ```python
# # hifigan (HiFi-GAN / BigVGAN meldataset.py): reflect-pad (n_fft - hop) / 2, no centring, magnitude, ln
# mel = np.log(np.maximum(librosa.feature.melspectrogram(
#     y=np.pad(y, 384, mode="reflect"), sr=22050, n_fft=1024, hop_length=256, center=False,
#     power=1, n_mels=80, fmax=8000), 1e-5))
# # seed: HTK formula, no filter normalisation, magnitude, centred with zero padding
# mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=128, power=1, n_mels=128,
#                                      htk=True, norm=None)
# # librosa: the defaults (power 2, 128 bands, n_fft 2048, hop 512)
# mel = librosa.feature.melspectrogram(y=y, sr=22050)
# ```
#
# Checked here against `melrecon.mel_spectrogram`:

# %%
def librosa_mel(y, preset):
    if preset == "hifigan":
        return np.log(np.maximum(librosa.feature.melspectrogram(
            y=np.pad(y, 384, mode="reflect"), sr=22050, n_fft=1024, hop_length=256, center=False,
            power=1, n_mels=80, fmax=8000), 1e-5))
    if preset == "seed":
        return librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=128, power=1, n_mels=128,
                                              htk=True, norm=None)
    return librosa.feature.melspectrogram(y=y, sr=22050)


clips, theirs = {}, {}
for preset in ("hifigan", "seed", "librosa"):
    c = melrecon.MelConfig.preset(preset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampling notice for the 16 kHz preset
        clips[preset], _ = io.load_audio(CLIP, sample_rate=c.sample_rate)
    theirs[preset] = librosa_mel(clips[preset], preset)
    ours = np.asarray(melrecon.mel_spectrogram(clips[preset], c))
    err = np.abs(ours - theirs[preset]).max() / np.abs(theirs[preset]).max()
    print(f"{preset:>8}: librosa {theirs[preset].shape}, melrecon {ours.shape}, max |difference| / max = {err:.1e}")
    assert ours.shape == theirs[preset].shape and err < 1e-3

# %% [markdown]
# So a Mel from such a pipeline goes straight into `reconstruct` with the matching preset (or a
# `MelConfig.preset(...).replace(...)` for other settings, e.g. `n_mels=100` or `fmax=None`):

# %%
mel_hifigan = theirs["hifigan"]
out = melrecon.reconstruct(mel_hifigan, "hifigan", method="gl+gd", gl_iters=ITERS, gd_iters=ITERS, progress=False)
print(f"reconstructed {out.audio.shape[-1] / out.sample_rate:.2f} s, Mel SC {float(out.mel_sc):.4f}")
display(plotting.players_html({"original": clips["hifigan"], "from librosa's Mel (GL+GD)": out}, out.sample_rate))

# %% [markdown]
# ## When the settings don't match
# Some mismatches are caught before anything runs, with a `ParameterError` that names the parameter and the
# fix:

# %%
def show_error(what, fn):
    try:
        fn()
        print(f"{what}: accepted")
    except melrecon.ParameterError as exc:
        print(f"{what}:\n  ParameterError: {exc}\n")


show_error("an 80-band hifigan Mel given with the 128-band seed config",
           lambda: melrecon.reconstruct(mel_hifigan, "seed", n_iter=1, progress=False))
show_error("a Mel stored as (frames, bands)",
           lambda: melrecon.reconstruct(mel_hifigan.T, "hifigan", n_iter=1, progress=False))
mel_db = 20 * np.log10(np.maximum(np.exp(mel_hifigan), 1e-5))
show_error("a dB Mel given to a natural-log config",
           lambda: melrecon.reconstruct(mel_db, "hifigan", n_iter=1, progress=False))
show_error("a log Mel given to a linear config",
           lambda: melrecon.reconstruct(mel_hifigan, cfg.replace(compression="none"), n_iter=1, progress=False))

# %% [markdown]
# Others are not errors, only suspicions: a log10 Mel read as ln spans too few decibels for speech, so
# `reconstruct` warns and names the presets it looks like (`espnet`), but runs (a short mel or a steady
# signal gives no such evidence); the log of a *power* Mel looks like a perfectly good natural-log magnitude
# Mel and passes silently. `reconstruct` then inverts the wrong compression and fits the wrong magnitudes;
# the result sounds dull or harsh and the metrics (against the original audio) drop (the command line
# refuses to write such a result when it would clip: `melrecon invert` exits with the fix):

# %%
y22 = clips["hifigan"]
wrong = {
    "correct: ln magnitude, hifigan": (mel_hifigan, cfg),
    "log10 Mel read as ln": (np.asarray(melrecon.mel_spectrogram(y22, cfg.replace(compression="log10"))), cfg),
    "ln of power Mel read as magnitude": (np.asarray(melrecon.mel_spectrogram(y22, cfg.replace(power=2.0))), cfg),
}
rows, outs = [], {}
for label, (mel, c) in wrong.items():
    res = melrecon.reconstruct(mel, c, method="fgla", n_iter=ITERS, progress=False)
    outs[label] = res
    rows.append(dict(method=label, **metrics.evaluate(y22, res.audio, cfg)))
display(Markdown(plotting.metrics_table(rows, COLUMNS)))
display(plotting.players_html({"original": y22, **outs}, cfg.sample_rate))
assert rows[0]["mel_sc"] < rows[1]["mel_sc"] and rows[0]["mel_sc"] < rows[2]["mel_sc"]
plotting.overview_figure(y22, mel_hifigan, outs, cfg)
