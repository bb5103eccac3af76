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
# # Streaming
#
# A streaming TTS or voice-conversion model emits mel frames a few at a time; `melrecon.stream.Streamer`
# turns them into audio as they come, so the first syllable plays before the sentence is done. It is
# RTISI-LA (real-time iterative spectrogram inversion with look-ahead) with the Mel constraint as the
# magnitude set: each new frame starts from its own Mel frame's magnitude and a phase continued from the
# frames before it, a few Griffin-Lim iterations run over the `lookahead` newest frames, and the oldest is
# committed. The latency is `lookahead` frames plus one window (`Streamer.latency_seconds`).
#
# This notebook pushes a mel frame by frame (live waveform and a player of what has come out), draws the
# latency / quality curve, and puts the stream next to the offline default in A/B players.
#
# The same from the command line: `model | melrecon stream --preset hifigan | aplay -f FLOAT_LE -r 22050`;
# the measured curve over the development set is in `docs/streaming.md` (`benchmarks/stream.py`).

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: a shorter clip, fewer look-aheads and iterations).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
SECONDS = 1.5 if FAST else 4.0
LOOKAHEAD = 4                                    # frames of look-ahead of the live stream
ITERS = 4 if FAST else None                      # Griffin-Lim iterations per frame (None: the default effort's)
LOOKAHEADS = (0, 2, 4) if FAST else (0, 1, 2, 4, 8)
OFFLINE_ITERS = (30, 20) if FAST else None       # the offline default's two stages (None: its defaults)
UPDATE_SECONDS = 0.5                             # how often the live view is redrawn (seconds of audio)

# %%
# %matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

import melrecon
from melrecon import io
from melrecon.apps import metrics, plotting
from melrecon.apps.examples import example
from melrecon.stream import Streamer

cfg = melrecon.MelConfig.preset("hifigan")
audio, sr = io.load_audio(example("speech"), sample_rate=cfg.sample_rate)
audio = audio[: int(SECONDS * sr)]
mel = np.asarray(melrecon.mel_spectrogram(audio, cfg))
print(f"{audio.shape[-1] / sr:.1f} s at {sr} Hz, mel {mel.shape} (hifigan preset)")

# %% [markdown]
# ## Push the frames one at a time
# Each `push` returns the samples that no later frame can change. The view below is redrawn every
# `UPDATE_SECONDS` of audio: the waveform so far (grey: the original), and a player of what has come out.

# %%
streamer = Streamer(cfg, LOOKAHEAD, iters=ITERS)
print(f"look-ahead {LOOKAHEAD} frames: latency {1000 * streamer.latency_seconds:.0f} ms")
view, parts, next_draw, push_s = display(display_id=True), [], 0.0, []
for t in range(mel.shape[1]):
    t0 = time.perf_counter()
    parts.append(streamer.push(mel[:, t:t + 1]))
    push_s.append(time.perf_counter() - t0)  # the pushes only (not the drawing)
    n_out = sum(p.size for p in parts)  # samples out so far (counted, never rebuilt from seconds)
    done = n_out / sr
    if done >= next_draw or t == mel.shape[1] - 1:
        fig, ax = plt.subplots(figsize=(10, 2))
        ax.plot(np.arange(audio.size) / sr, audio, color="0.85", lw=0.5)
        ax.plot(np.arange(n_out) / sr, np.concatenate(parts), lw=0.5)
        ax.set(xlim=(0, audio.size / sr), xlabel="seconds", title=f"{t + 1} frames in, {done:.2f} s out")
        plt.close(fig)
        view.update(fig)
        next_draw = done + UPDATE_SECONDS
parts.append(streamer.flush())
streamed = np.concatenate(parts)
print(f"{mel.shape[1]} frames: the first push {push_s[0]:.2f} s (compiling the step; the next session loads it), "
      f"then {1000 * np.mean(push_s[1:]):.1f} ms per frame (a hop lasts {1000 * cfg.hop_length / sr:.1f} ms); "
      f"{streamed.size} samples (offline length {cfg.n_samples(mel.shape[1])})")
display(plotting.audio_player(streamed, sr))  # the real level, as the A/B players below

# %% [markdown]
# ## Latency against quality
# More look-ahead: each frame is iterated longer with its future neighbours before it is committed.

# %%
offline_kw = {} if OFFLINE_ITERS is None else {"n_iter": list(OFFLINE_ITERS)}
offline = melrecon.reconstruct(mel, cfg, progress=False, **offline_kw)
rows, outputs = [], {}
for lookahead in LOOKAHEADS:
    s = Streamer(cfg, lookahead, iters=ITERS)
    outputs[lookahead] = np.concatenate([s.push(mel), s.flush()])  # one push: the same samples as frame by frame
    rows.append((lookahead, 1000 * s.latency_seconds, metrics.evaluate(audio, outputs[lookahead], cfg)))
reference = metrics.evaluate(audio, offline.audio, cfg)
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([r[1] for r in rows], [r[2]["pesq"] for r in rows], "o-", label="stream")
for lookahead, latency, m in rows:
    ax.annotate(f"look-ahead {lookahead}", (latency, m["pesq"]), textcoords="offset points", xytext=(4, -12))
ax.axhline(reference["pesq"], color="k", ls="--", label=f"offline default ({offline.method})")
ax.set(xlabel="latency (ms)", ylabel="PESQ-wb", title="Streaming: latency against quality")
ax.legend()
plt.show()
table = ["| inversion | latency (ms) | PESQ-wb | STOI | Mel SC |", "|---|---|---|---|---|"]
table += [f"| stream, look-ahead {k} | {lat:.0f} | {m['pesq']:.2f} | {m['stoi']:.3f} | {m['mel_sc']:.4f} |"
          for k, lat, m in rows]
ref = reference
table.append(f"| offline default | – | {ref['pesq']:.2f} | {ref['stoi']:.3f} | {ref['mel_sc']:.4f} |")
display(Markdown("\n".join(table)))

# %% [markdown]
# ## A/B: the stream against the offline default
# At their real levels (one scale for all, no normalisation), so a difference in loudness is heard as one.

# %%
display(plotting.players_html({"original": audio, f"stream, look-ahead {LOOKAHEAD}": streamed,
                                f"offline default ({offline.method})": offline.audio}, sr))
