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
# # Mels from your toolkit
#
# Your mel came out of Vocos, BigVGAN, ESPnet, Coqui TTS, Tacotron 2, SpeechBrain or HiFi-GAN. Each stores it
# its own way: sample rate, filterbank, log base, dB normalisation, `(n_mels, T)` or `(T, n_mels)`. Pick the
# toolkit's preset, and melrecon undoes all of it before inverting. This notebook:
#
# 1. chooses a convention (the dropdown, or `PRESET` in the parameters cell);
# 2. makes that toolkit's mel of a clip with its documented formula (or loads yours: `MEL_FILE`);
# 3. inverts it with melrecon's default method, and with `librosa.feature.inverse.mel_to_audio` on the
#    equivalent linear mel, and lets you listen and compare.
#
# From the command line the same is `melrecon invert MEL.npy OUT.wav --preset NAME` (`melrecon presets` lists
# them; `melrecon config --preset NAME > my.toml` gives a settings file to edit and pass with `--config`).

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: fewer iterations, a shorter clip).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
PRESET = "vocos"        # one of melrecon.PRESETS
MEL_FILE = None         # your own mel (.npy/.npz/.pt/.h5) to invert instead of the clip's
STATS_FILE = None       # mean/variance statistics it was normalised with (ESPnet feats_stats.npz, ...)
SECONDS = 1.5 if FAST else 4.0
ITERS = [30, 20] if FAST else None        # the default method's two stages (None: its default effort's)
LIBROSA_ITERS = 8 if FAST else 32          # librosa's default n_iter

# %%
# %matplotlib inline
import warnings
from pathlib import Path

import numpy as np
from IPython.display import Markdown, display

import melrecon
from melrecon import io
from melrecon.apps import metrics, plotting
from melrecon.apps.examples import example
from melrecon.io import conventions

REPO = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
SHARED = REPO.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"
CLIP = SHARED if SHARED.exists() else example("speech")

rows = [f"| `{n}` | {c.description} | {c.citation} |" for n, c in melrecon.PRESETS.items()]
display(Markdown("| preset | convention | source |\n|---|---|---|\n" + "\n".join(rows)))

# %% [markdown]
# ## Choose a convention
# The dropdown changes `PRESET`; re-run the cells below it after a change.

# %%
import ipywidgets as widgets

chooser = widgets.Dropdown(options=list(melrecon.PRESETS), value=PRESET, description="preset")
info = widgets.HTML()


def _show(change=None):
    global PRESET
    PRESET = chooser.value
    info.value = f"<small>{melrecon.PRESETS[PRESET].description}</small>"


chooser.observe(_show, names="value")
_show()
display(widgets.VBox([chooser, info]))

# %% [markdown]
# ## The toolkit's mel
# `conventions.toolkit_mel` computes what that toolkit stores (values, normalisation and layout); a file of
# yours is read with `io.load_mel` instead. `conventions.prepare` undoes the layout and statistics and checks
# the values against the convention (a mel in another convention warns and names the preset it looks like).

# %%
cfg = melrecon.PRESETS[PRESET]
with warnings.catch_warnings(record=True) as notes:  # routine notes (resampled, mixed down): printed
    warnings.simplefilter("always")
    audio, sr = io.load_audio(CLIP, sample_rate=cfg.sample_rate)
for note in notes:
    print("note:", note.message)
audio = audio[: int(SECONDS * sr)]
stored = io.load_mel(MEL_FILE) if MEL_FILE else conventions.toolkit_mel(audio, cfg)
print(f"stored mel: shape {stored.shape} ({cfg.layout}), values {stored.min():.3g} .. {stored.max():.3g}")
mel = conventions.prepare(stored, cfg, stats=STATS_FILE)
print(f"prepared:   shape {mel.shape} (n_mels, T) in {cfg.compression}")

# %% [markdown]
# ## Invert, listen, compare with librosa
# librosa's `mel_to_audio` takes a linear mel; we give it the same mel decompressed and with its own
# filterbank settings. `melrecon.mel_to_audio` is the drop-in with librosa's interface.

# %%
import time

import librosa

t0 = time.perf_counter()
ours = melrecon.reconstruct(mel, cfg, n_iter=ITERS, progress=False)  # the first call compiles (cached on disk)
t_first = time.perf_counter() - t0
t0 = time.perf_counter()
ours = melrecon.reconstruct(mel, cfg, n_iter=ITERS, progress=False)  # the steady call: what every later one costs
t_ours = time.perf_counter() - t0
lin = np.asarray(melrecon.decompress(mel, cfg))
t0 = time.perf_counter()
theirs = librosa.feature.inverse.mel_to_audio(
    lin, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
    center=cfg.center, pad_mode="reflect" if cfg.pad_mode == "reflect" else "constant", power=cfg.power,
    n_iter=LIBROSA_ITERS, fmin=cfg.fmin, fmax=cfg.fmax, htk=cfg.mel_scale == "htk", norm=cfg.norm)
t_librosa = time.perf_counter() - t0

OURS = f"melrecon ({ours.method})"  # the method that ran: the default for a mel handed in
items = {"original": audio, OURS: ours.audio, "librosa mel_to_audio": theirs}
notes = {}
if not MEL_FILE:
    for label, out in list(items.items())[1:]:
        notes[label] = f"PESQ-wb {metrics.pesq_wb(audio, out, cfg.sample_rate):.2f}"
notes[OURS] = notes.get(OURS, "") + f", {t_ours:.1f} s (first call {t_first:.1f} s: compiling)"
notes["librosa mel_to_audio"] = notes.get("librosa mel_to_audio", "") + f", {t_librosa:.1f} s"
print(f"output length {ours.audio.shape[-1]} samples at {cfg.sample_rate} Hz (source: {audio.shape[-1]})")
display(plotting.players_html(items, cfg.sample_rate, notes=notes))

# %%
from types import SimpleNamespace

if not MEL_FILE:  # the original's Mel, each output's, and their difference (dB)
    results = {"melrecon": ours, "librosa": SimpleNamespace(audio=theirs)}
    display(plotting.spectrogram_panels(audio, results, cfg.replace(compression="none")))
