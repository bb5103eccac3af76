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
# # Quickstart: from a Mel spectrogram back to audio
#
# A Mel spectrogram keeps the energy in a few dozen frequency bands and throws away the phase. `melrecon`
# recovers a waveform whose Mel spectrogram matches it, with Griffin-Lim (GL) and with gradient descent (GD).
#
# This notebook: load the bundled clip, make its Mel spectrogram, reconstruct it with fast Griffin-Lim
# (`method="fgla"`), with GL followed by gradient descent on the STFT (`method="gl+gd"`, the seed's method) and
# with melrecon's default method for a mel it computed from audio (`melrecon.DEFAULT_METHODS["analysis"]`, what
# `reconstruct(mel, cfg, source="analysis")` runs when no method is given: ADMM then Griffin-Lim between the
# Mel-constraint set and the consistent STFTs), look at the
# spectrograms, listen, and read the metrics.

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1 to run this notebook quickly with fewer iterations).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
PRESET = "hifigan"          # the analysis settings the Mel is made with: "hifigan", "seed" or "librosa"
GL_ITERS = 30 if FAST else 200
GD_ITERS = 30 if FAST else 500
DEFAULT_ITERS = [30, 20] if FAST else None  # per stage of the default method (None: its default effort's)

# %%
# %matplotlib inline
import numpy as np
from IPython.display import Markdown, display

import melrecon
from melrecon import io
from melrecon.apps import metrics, plotting
from melrecon.apps.examples import example

cfg = melrecon.MelConfig.preset(PRESET)
audio, sr = io.load_audio(example("speech"), sample_rate=cfg.sample_rate)
print(f"{audio.shape[-1] / sr:.2f} s at {sr} Hz; preset {cfg.name}: n_fft {cfg.n_fft}, hop {cfg.hop_length}, "
      f"{cfg.n_mels} Mel bands, compression {cfg.compression!r}")

# %% [markdown]
# ## The Mel spectrogram
# `melrecon.mel_spectrogram` gives the Mel spectrogram in the preset's compression (for `hifigan`: the natural
# log of the magnitude Mel, clamped at 1e-5), shape `(n_mels, frames)`. This array is all the reconstruction
# sees.

# %%
mel = np.asarray(melrecon.mel_spectrogram(audio, cfg))
print("mel", mel.shape, f"range {mel.min():.2f} .. {mel.max():.2f}")

# %% [markdown]
# ## Reconstruct
# `reconstruct(mel, cfg, method=...)` returns a `Reconstruction`: the audio, the loss history and timings.

# %%
gl = melrecon.reconstruct(mel, cfg, method="fgla", n_iter=GL_ITERS, progress=False)
glgd = melrecon.reconstruct(mel, cfg, method="gl+gd", gl_iters=GL_ITERS, gd_iters=GD_ITERS, progress=False)
# the resolver's default (its method and counts: melrecon.resolve)
print("default:", melrecon.resolve(source="analysis", n_iter=DEFAULT_ITERS).summary())
default = melrecon.reconstruct(mel, cfg, source="analysis", n_iter=DEFAULT_ITERS, progress=False)
results = {f"GL {GL_ITERS}": gl, f"GL {GL_ITERS} + GD {GD_ITERS}": glgd, f"default ({default.method})": default}
for label, res in results.items():
    print(f"{label:>22}: {res.n_iterations} iterations in {res.seconds:.2f} s (+{res.compile_seconds:.1f} s "
          f"compilation), Mel SC {float(res.mel_sc):.4f}")

# %% [markdown]
# ## Spectrograms
# The original's spectrogram, the Mel input, and the spectrograms of the three reconstructions (dB relative to
# the original's peak). The phase is lost in the Mel, so the fine structure must be rebuilt; the better
# reconstruction has cleaner harmonics and less smearing between them.

# %%
plotting.overview_figure(audio, mel, results, cfg)

# %% [markdown]
# ## Listen
# The players play the real levels (no normalisation), so loudness differences are real.

# %%
display(plotting.players_html({"original": audio, **results}, sr))

# %% [markdown]
# ## Metrics
# Against the original audio: Mel spectral convergence (lower is better), log-spectral distance (dB),
# mean Mel distance (dB), wide-band PESQ (1-4.6, higher is better) and STOI (0-1).

# %%
rows = []
for label, res in results.items():
    m = metrics.evaluate(audio, res.audio, cfg)
    iters = "+".join(str(stop - start) for _, start, stop in res.stage_spans)
    rows.append(dict(preset=cfg.name, method=label, iters=iters, seconds=res.seconds, **m))
display(Markdown(plotting.metrics_table(rows)))
assert all(np.isfinite(r["mel_sc"]) for r in rows)
