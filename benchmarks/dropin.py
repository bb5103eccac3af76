"""The librosa drop-ins against librosa itself, in one process: ``melrecon.mel_to_audio`` vs
``librosa.feature.inverse.mel_to_audio`` and ``melrecon.griffinlim(n_iter=32)`` vs ``librosa.griffinlim``.

At librosa's defaults (22.05 kHz, n_fft 2048, hop 512, 128 Slaney bands, power 2, centred, zero padding) on
10 s of speech (the bundled ``speech.wav`` tiled to 10 s). Times are steady state: after a first call of each
function (which compiles), five calls alternate and the best of each is kept. Quality: the Mel spectral
convergence of the output against the input mel (griffinlim: of its output's Mel against the speech's Mel,
and the linear SC against ``S``) and wide-band PESQ against the speech. The machine's load
(``os.getloadavg``) is stored with the rows.

Usage::

    python benchmarks/dropin.py             # prints a Markdown table, writes results/dropin/dropin.json
    python scripts/docs_tables.py --dropin results/dropin/dropin.json   # README's drop-in table from it
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))

import librosa  # noqa: E402
import soundfile as sf  # noqa: E402
from docs_tables import render_dropin  # noqa: E402

import melrecon  # noqa: E402
from melrecon.apps.examples import example  # noqa: E402
from melrecon.apps.metrics import pesq_wb  # noqa: E402

SR = 22050
SECONDS = 10
OUT = REPO / "results" / "dropin"


def speech() -> np.ndarray:
    y, sr = sf.read(str(example("speech")), dtype="float32")
    assert sr == SR, sr
    return np.tile(y, int(np.ceil(SECONDS * SR / len(y))))[: SECONDS * SR]


def timed(fn, *args, **kwargs) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def steady_pair(theirs, ours, *args, repeats: int = 5, **kwargs):
    """Both functions' outputs and steady-state seconds: a first call each (compiles, caches), then
    ``repeats`` alternating calls, the best time of each kept (robust to other load on the machine)."""
    theirs(*args, **kwargs)
    ours(*args, **kwargs)
    t_theirs, t_ours = [], []
    for _ in range(repeats):
        out_theirs, t = timed(theirs, *args, **kwargs)
        t_theirs.append(t)
        out_ours, t = timed(ours, *args, **kwargs)
        t_ours.append(t)
    return out_theirs, min(t_theirs), out_ours, min(t_ours)


def mel_sc(y, M) -> float:
    Mo = librosa.feature.melspectrogram(y=y, sr=SR)
    n = min(Mo.shape[-1], M.shape[-1])
    return float(np.linalg.norm(Mo[:, :n] - M[:, :n]) / np.linalg.norm(M[:, :n]))


def lin_sc(y, S) -> float:
    So = np.abs(librosa.stft(y))
    n = min(So.shape[-1], S.shape[-1])
    return float(np.linalg.norm(So[:, :n] - S[:, :n]) / np.linalg.norm(S[:, :n]))


def counts(n_iter=None) -> str:
    """The stage counts ``melrecon.mel_to_audio`` runs for librosa's ``n_iter`` (None: its default level)."""
    return " + ".join(str(n) for n in melrecon.resolve(source="predicted", total_iters=n_iter).counts)


def measure() -> dict:
    """The rows of the table, with the run's context (date, load, machine, versions)."""
    warnings.simplefilter("ignore")
    y = speech()
    M = librosa.feature.melspectrogram(y=y, sr=SR)
    S = np.abs(librosa.stft(y))
    load_before = os.getloadavg()[0]
    cases = [
        (f"`mel_to_audio` (defaults; melrecon {counts()})", librosa.feature.inverse.mel_to_audio,
         melrecon.mel_to_audio, (M,), dict(sr=SR), False),
        (f"`mel_to_audio(n_iter=32)` (melrecon {counts(32)})", librosa.feature.inverse.mel_to_audio,
         melrecon.mel_to_audio, (M,), dict(sr=SR, n_iter=32), False),
        ("`griffinlim(n_iter=32)`, `random_state=0`", librosa.griffinlim, melrecon.griffinlim, (S,),
         dict(n_iter=32, random_state=0), True),
    ]
    rows = []
    for label, theirs_fn, ours_fn, args, kwargs, linear in cases:
        theirs, t_theirs, ours, t_ours = steady_pair(theirs_fn, ours_fn, *args, **kwargs)
        rows.append(dict(call=label, librosa_s=t_theirs, melrecon_s=t_ours, mel_sc_librosa=mel_sc(theirs, M),
                         mel_sc_melrecon=mel_sc(ours, M), sc_librosa=lin_sc(theirs, S) if linear else None,
                         sc_melrecon=lin_sc(ours, S) if linear else None, pesq_librosa=pesq_wb(y, theirs, SR),
                         pesq_melrecon=pesq_wb(y, ours, SR)))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    context = (f"`python benchmarks/dropin.py`, {when}: {SECONDS} s of speech (the bundled sample tiled) at "
               f"librosa's defaults; steady state (best of 5 alternating calls after a first call each, one "
               f"process); {os.cpu_count()}-core CPU, load average {load_before:.2f} before, "
               f"{os.getloadavg()[0]:.2f} after; librosa {librosa.__version__}, melrecon {melrecon.__version__}.")
    return {"context": context, "rows": rows}


def main() -> None:
    data = measure()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "dropin.json").write_text(json.dumps(data, indent=2) + "\n")
    print(render_dropin(data))
    print(f"\nwrote {(OUT / 'dropin.json').relative_to(REPO)}; README's table: "
          f"python scripts/docs_tables.py --dropin {(OUT / 'dropin.json').relative_to(REPO)}")


if __name__ == "__main__":
    main()
