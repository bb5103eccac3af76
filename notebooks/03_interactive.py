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
# # Interactive workbench
#
# Run the cells, then:
#
# 1. pick a clip (the bundled sample, the seed recording when `../shared/audio` is present, the development
#    set after `python samples/make_samples.py`) or **upload** your own wav/flac/ogg, or a `.npy`/`.npz` Mel
#    spectrogram made with the chosen preset;
# 2. choose the **preset** (the analysis settings), the **method** (`auto`: the default for the clip's mel
#    source, ADMM then fast Griffin-Lim for audio clips) and the **effort**; the method has one **iterations**
#    slider per stage, starting at the effort level's counts, so a first Run gives exactly what
#    `melrecon.reconstruct` gives; set the optimizer, learning rate and loss weights
#    of the gradient stages;
# 3. press **Run** and watch the loss fall (every loss term per iteration, and the output's Mel spectral
#    convergence as a black line); **Stop** ends the run after the current chunk and keeps the best result
#    so far;
# 4. compare: the original and the latest results are played side by side at their real level, with their
#    metrics, and the spectrograms with the error map appear below.
#
# The reconstruction runs in a background thread, so the notebook stays responsive while it runs.

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: smaller starting values for the sliders).
from melrecon.apps.examples import fast_mode

FAST = fast_mode()
N_ITER = [20, 20] if FAST else None  # None: the effort level's counts, one per stage
PRESET = "hifigan"

# %%
from melrecon.apps.workbench import Workbench

wb = Workbench(preset=PRESET, n_iter=N_ITER)
wb.show()

# %% [markdown]
# ## The same from code
# The widgets are attributes of the workbench (`wb.stage_iters` are the stage sliders, `wb.set_iters(...)`
# sets them); `run(blocking=True)` runs in this cell (Ctrl-C / the kernel's stop button ends it with the best
# result so far) and returns the `Reconstruction`. The A/B board above shows it too.

# %%
wb.method.value = "gl+gd"  # its sliders move to gl+gd's own counts (GL 200, GD 500)
if FAST:
    wb.set_iters(20, 40)
result = wb.run(blocking=True)
print(wb.error or f"{result.method}: {result.n_iterations} iterations, Mel SC {float(result.mel_sc):.4f}, "
      f"stopped: {result.stop_reason}")
label, _, scores = wb.results[-1]
print(label, {k: round(float(v), 4) for k, v in scores.items()})
