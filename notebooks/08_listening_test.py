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
# # Listening test: blind MUSHRA
#
# Objective scores (PESQ-wb, DNSMOS, Mel SC) guess what listeners hear; a listening test asks them. This
# notebook reconstructs a few clips with a few methods and effort levels, turns them into a **MUSHRA** test
# (ITU-R BS.1534-3: an open reference; per trial the conditions, a hidden copy of the reference and two low-pass
# anchors made from it, 3.5 and 7 kHz, all at one loudness, in a seeded random order), lets you take it here,
# writes a **shareable page** (one HTML file, nothing to install, no server) for other listeners, and analyses
# the answers: post-screened means with 95 % confidence intervals, and how well the objective scores predict them.
#
# `melrecon.apps.listening` does the work; `melrecon listen new | build | collect | report` does the same from a
# shell. An ABX test (can listeners tell two conditions apart at all?) is `build_abx` instead of `build_mushra`.

# %% tags=["parameters"]
# Parameters (CI sets MELRECON_FAST=1: two short clips, four conditions, few iterations, fewer simulated listeners).
from melrecon.apps.examples import notebook_setup

FAST = notebook_setup()  # True under MELRECON_FAST=1; warnings print without melrecon's file:line
N_CLIPS = 2 if FAST else 3
SECONDS = 1.5 if FAST else 4.0                      # each clip is cut to this length
# the conditions: label -> keyword arguments of melrecon.reconstruct (a method and an effort, or counts)
CONDITIONS = {
    "fgla 16": dict(method="fgla", n_iter=16),
    "fgla 64": dict(method="fgla", n_iter=64),
    "meladmm+melgl 6+4": dict(method="meladmm+melgl", n_iter=[6, 4]),
    "meladmm+melgl 30+20": dict(method="meladmm+melgl", n_iter=[30, 20]),
} if FAST else {
    "fgla 32": dict(method="fgla", n_iter=32),
    "meladmm+melgl fast": dict(method="meladmm+melgl", effort="fast"),
    "meladmm+melgl default": dict(method="meladmm+melgl", effort="default"),
    "meladmm+melgl balanced": dict(method="meladmm+melgl", effort="balanced"),
}
TEST_NAME = "notebook08-fast" if FAST else "notebook08"
LISTENER = "me"                                     # your name: your answers go to <test folder>/me.json
SIMULATED_LISTENERS = 3 if FAST else 5             # simulated listeners (their own folder), to show the analysis
SEED = 0

# %%
# %matplotlib inline
import html
import os

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import HTML, FileLink, Markdown, display

import melrecon
from melrecon import io
from melrecon.apps import examples, metrics, plotting
from melrecon.apps.listening import analyse, build_mushra, build_page, collect, take_test

cfg = melrecon.MelConfig.preset("hifigan")
sr = cfg.sample_rate
paths = list(examples.clips().values())
originals = {}
for path in paths[:N_CLIPS]:
    audio, _ = io.load_audio(path, sample_rate=sr)
    originals[path.stem] = audio[: int(SECONDS * sr)]
if len(originals) < N_CLIPS:  # only the bundled sample here: its later seconds are the other clips
    audio, _ = io.load_audio(examples.example("speech"), sample_rate=sr)
    n = int(SECONDS * sr)
    for i in range(len(originals), N_CLIPS):
        start = min(i * n, max(0, audio.size - n))
        originals[f"speech-{i}"] = audio[start:start + n]
print({name: f"{x.size / sr:.2f} s" for name, x in originals.items()}, f"at {sr} Hz (hifigan preset)")

# %% [markdown]
# ## The conditions: every method and effort on every clip

# %%
reconstructions = {label: {} for label in CONDITIONS}
for clip, audio in originals.items():
    mel = np.asarray(melrecon.mel_spectrogram(audio, cfg))
    for label, kwargs in CONDITIONS.items():
        reconstructions[label][clip] = melrecon.reconstruct(mel, cfg, source="analysis", seed=SEED, progress=False,
                                                            **kwargs)
print(f"{len(CONDITIONS)} conditions x {len(originals)} clips reconstructed")

# %% [markdown]
# ## Objective scores, per condition (mean over the clips)
# Computed here with `melrecon.apps.metrics`; the analysis below only correlates them with the listeners' means.
# PESQ-wb and DNSMOS need the `metrics` extra; a missing one is left out.

# %%
def mean_score(fn, label):
    try:
        values = [fn(originals[clip], out.audio) for clip, out in reconstructions[label].items()]
    except Exception as exc:  # noqa: BLE001 - an optional metric package may be missing
        print(f"left out: {exc}")
        return None
    return float(np.mean(values))


scores = {"Mel SC": {}, "PESQ-wb": {}, "DNSMOS": {}}
for label in CONDITIONS:
    scores["Mel SC"][label] = mean_score(lambda ref, est: metrics.mel_spectral_convergence(ref, est, cfg), label)
    scores["PESQ-wb"][label] = mean_score(lambda ref, est: metrics.pesq_wb(ref, est, sr), label)
    scores["DNSMOS"][label] = mean_score(lambda ref, est: metrics.dnsmos(est, sr), label)
scores = {k: v for k, v in scores.items() if all(x is not None for x in v.values())}
table = ["| condition | " + " | ".join(scores) + " |", "|---|" + "---|" * len(scores)]
table += [f"| {label} | " + " | ".join(f"{scores[k][label]:.3f}" for k in scores) + " |" for label in CONDITIONS]
display(Markdown("\n".join(table)))

# %% [markdown]
# ## Build the test
# One trial per clip, in a seeded random order; inside a trial, the conditions in a seeded random order (recorded
# per trial in `test.json` as `order`). Condition ids such as `c3f9a` are opaque: what they are stays in `test.json`.

# %%
folder = examples.results_dir("listening") / TEST_NAME
test = build_mushra(originals, reconstructions, folder, sample_rate=sr, seed=SEED, overwrite=True)
print(f"{folder}: {len(test.trials)} trials, {len(test.conditions)} conditions per trial")
display(Markdown("| id | condition | role |\n|---|---|---|\n" + "\n".join(
    f"| `{cid}` | {c['label']} | {c['role']} |" for cid, c in test.conditions.items())))

# %% [markdown]
# ## Take the test
# Play the reference and each condition (a button switches at the position the current one is at; playback
# loops), move every slider from 0 (bad) to 100 (excellent), press *next trial*. Each answer is saved at once to
# `<test folder>/<listener>.json`; if the kernel dies, run this cell again: it resumes at the first unanswered
# trial. (The table above unblinds the ids: scroll past it, or collapse its output, before you listen.)

# %%
view = take_test(test, LISTENER)
view

# %% [markdown]
# ## Simulated listeners
# So that the analysis has answers to show before real ones come in, simulated listeners take the same test
# through the same widget, from Python (`set_rating` is a slider moved, `next` the button pressed), saving to
# their own folder, `<test folder>/simulated/`: your answers and the page's downloads stay apart from theirs.
# They rate each condition by its Mel SC, with noise; the last one is careless with the hidden reference, which
# post-screening catches.

# %%
rng = np.random.default_rng(SEED)
mel_sc = scores.get("Mel SC", {})


def simulated_rating(cid, careless=False):
    info = test.conditions[cid]
    if info["role"] == "reference":  # a careful listener finds it: near 100
        return float(np.clip(70 + rng.normal(0, 6), 0, 100)) if careless else 100 - abs(rng.normal(0, 2))
    elif info["role"] == "anchor":
        mean = 20 if info["cutoff_hz"] < 5000 else 45
    else:
        mean = 95 - 250 * (mel_sc.get(info["label"]) or 0.1)
    return float(np.clip(mean + rng.normal(0, 6), 0, 100))


def answer(v, careless=False):
    while not v.session.done:
        for cid in v.stimulus_ids:
            v.set_rating(cid, simulated_rating(cid, careless))
        v.next()


simulated = folder / "simulated"
for i in range(SIMULATED_LISTENERS):
    answer(take_test(test, f"simulated-{i + 1}", folder=simulated), careless=i == SIMULATED_LISTENERS - 1)
print(f"{SIMULATED_LISTENERS} simulated listeners answered in {simulated}; {LISTENER}: "
      f"{view.session.progress[0]} of {view.session.progress[1]} trials answered so far")

# %% [markdown]
# ## The shareable page
# One self-contained HTML file: the audio is inside it (base64), so is the script; it makes no network request
# and states only the kind of test and the number of conditions. A listener opens it, takes the test and
# downloads `<name>.json`; put those files in the test folder (or anywhere: `collect` takes files and folders).
# From a shell: `melrecon listen build <test folder> page.html`.

# %%
page = build_page(test, folder / "page.html")
print(f"{page} ({page.stat().st_size / 1e6:.2f} MB)")
display(FileLink(os.path.relpath(page)))

# %% [markdown]
# ## Read the answers back and analyse them
# `collect` reads every answer file of a folder (the notebook's and the page's downloads); `analyse` screens
# listeners (BS.1534-3: the hidden reference below 90, or the 7 kHz anchor above 90, in more than 15 % of the
# trials), then gives each condition's mean with its 95 % t-interval and the correlation of the means with the
# objective scores. `melrecon listen report <test folder>` prints and saves the same. First your answers (and the
# page's downloads put in the test folder), then the simulated listeners'; each report is saved in its folder.

# %%
reports = {}
for who, where in (("Your answers", folder), ("Simulated listeners", simulated)):
    answers = collect(where, test=test)
    listed = ", ".join(f"{r.listener} ({len(r.answers)} trials, from the {r.source})" for r in answers)
    display(Markdown(f"### {who}: {listed or 'no answers yet'}"))
    reports[where] = analyse(test, answers, scores=scores)
    display(Markdown(reports[where].markdown()))
    fig = reports[where].figure()
    plt.show()
    reports[where].save(where)
report = reports[folder] if collect(folder, test=test) else reports[simulated]  # the unblinded notes: yours first

# %% [markdown]
# ## Unblinded: what each condition was
# The first clip, each condition at the level it had in the test (loudness matched).

# %%
trial = test.trials[0]
players = {"reference": io.load_audio(test.audio_path(trial["reference"]))[0]}
for s in trial["stimuli"]:
    players[test.label(s["id"])] = io.load_audio(test.audio_path(s["file"]))[0]
means = {r.label: r.ci for r in report.conditions}
notes = {k: f"MUSHRA {means[k].mean:.0f} ± {means[k].half_width:.0f}" for k in players
         if k in means and np.isfinite(means[k].half_width)}
display(HTML(f"<b>{html.escape(trial['clip'])}</b>"))
display(plotting.players_html(players, sr, notes=notes))
