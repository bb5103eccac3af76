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
#    source: for audio clips ADMM then fast Griffin-Lim, both with the Mel constraint; for an uploaded mel their
#    noise-aware variants) and the **effort**; the method has one **iterations** slider per stage, starting at
#    the effort level's counts, so a first Run gives exactly what `melrecon.reconstruct` gives; set the
#    optimizer, learning rate and loss weights of the gradient stages;
# 3. press **Run** and watch the loss fall (every loss term per iteration, and the output's Mel spectral
#    convergence as a black line); **Stop** ends the run after the current chunk and keeps the best result
#    so far;
# 4. compare: the original and the latest results are played side by side at their real level, with their
#    metrics, and the spectrograms with the error map appear below.
#
# The reconstruction runs in a background thread, so the notebook stays responsive while it runs.

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: smaller starting values for the sliders).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
N_ITER = [20, 20] if FAST else None  # None: the effort level's counts, one per stage
GLGD_ITERS = [20, 40] if FAST else None  # the gl+gd run from code below (None: its sliders' own counts)
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
wb.method.value = "gl+gd"  # its sliders move to gl+gd's own counts at the chosen effort
print(f"gl+gd at effort {wb.effort.value!r}:", [int(s.value) for s in wb.stage_iters])
if GLGD_ITERS:
    wb.set_iters(*GLGD_ITERS)
result = wb.run(blocking=True)
print(wb.error or f"{result.method}: {result.n_iterations} iterations, Mel SC {float(result.mel_sc):.4f}, "
      f"stopped: {result.stop_reason}")
label, _, scores = wb.results[-1]
print(label, {k: round(float(v), 4) for k, v in scores.items()})
