"""The librosa drop-ins against librosa itself, in one process: ``melrecon.mel_to_audio`` vs
``librosa.feature.inverse.mel_to_audio`` and ``melrecon.griffinlim(n_iter=32)`` vs ``librosa.griffinlim``.

At librosa's defaults (22.05 kHz, n_fft 2048, hop 512, 128 Slaney bands, power 2, centred, zero padding) on
10 s of speech (the bundled ``speech.wav`` tiled to 10 s). Times are steady state: the second call of each
function in this process (the first compiles). Quality: the Mel spectral convergence of the output against the
input mel (griffinlim: of its output's Mel against the speech's Mel, and the linear SC against ``S``) and
wide-band PESQ against the speech. The machine's load (``os.getloadavg``) is printed with the table.

Usage::

    python benchmarks/dropin.py             # prints a Markdown table
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import librosa  # noqa: E402
import soundfile as sf  # noqa: E402

import melrecon  # noqa: E402
from melrecon.apps.examples import example  # noqa: E402
from melrecon.apps.metrics import pesq_wb  # noqa: E402

SR = 22050
SECONDS = 10


def speech() -> np.ndarray:
    y, sr = sf.read(str(example("speech")), dtype="float32")
    assert sr == SR, sr
    return np.tile(y, int(np.ceil(SECONDS * SR / len(y))))[: SECONDS * SR]


def second_call(fn, *args, **kwargs) -> tuple[np.ndarray, float]:
    """``fn``'s output and the seconds of its second call (the first warms up: compiles, caches)."""
    fn(*args, **kwargs)
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def mel_sc(y, M) -> float:
    Mo = librosa.feature.melspectrogram(y=y, sr=SR)
    n = min(Mo.shape[-1], M.shape[-1])
    return float(np.linalg.norm(Mo[:, :n] - M[:, :n]) / np.linalg.norm(M[:, :n]))


def lin_sc(y, S) -> float:
    So = np.abs(librosa.stft(y))
    n = min(So.shape[-1], S.shape[-1])
    return float(np.linalg.norm(So[:, :n] - S[:, :n]) / np.linalg.norm(S[:, :n]))


def main() -> None:
    warnings.simplefilter("ignore")
    y = speech()
    M = librosa.feature.melspectrogram(y=y, sr=SR)
    S = np.abs(librosa.stft(y))
    rows = []
    theirs, t_theirs = second_call(librosa.feature.inverse.mel_to_audio, M, sr=SR)
    ours, t_ours = second_call(melrecon.mel_to_audio, M, sr=SR)
    rows.append(("mel_to_audio (defaults; melrecon: 60 + 40)", t_theirs, t_ours, mel_sc(theirs, M), mel_sc(ours, M),
                 None, None, pesq_wb(y, theirs, SR), pesq_wb(y, ours, SR)))
    theirs, t_theirs = second_call(librosa.feature.inverse.mel_to_audio, M, sr=SR, n_iter=32)
    ours, t_ours = second_call(melrecon.mel_to_audio, M, sr=SR, n_iter=32)
    rows.append(("mel_to_audio(n_iter=32) (melrecon: 19 + 13)", t_theirs, t_ours, mel_sc(theirs, M), mel_sc(ours, M),
                 None, None, pesq_wb(y, theirs, SR), pesq_wb(y, ours, SR)))
    theirs, t_theirs = second_call(librosa.griffinlim, S, n_iter=32, random_state=0)
    ours, t_ours = second_call(melrecon.griffinlim, S, n_iter=32, random_state=0)
    rows.append(("griffinlim(n_iter=32)", t_theirs, t_ours, mel_sc(theirs, M), mel_sc(ours, M), lin_sc(theirs, S),
                 lin_sc(ours, S), pesq_wb(y, theirs, SR), pesq_wb(y, ours, SR)))

    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"10 s of speech at librosa's defaults; steady state (second call); load average {load} "
          f"({os.cpu_count()} cores); librosa {librosa.__version__}\n")
    print("| call | librosa s | melrecon s | speed-up | Mel SC librosa | Mel SC melrecon | SC librosa | SC melrecon "
          "| PESQ-wb librosa | PESQ-wb melrecon |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, tl, tm, ml, mm, sl, sm, pl, pm in rows:
        lin = f"{sl:.4f} | {sm:.4f}" if sl is not None else "- | -"
        print(f"| {name} | {tl:.2f} | {tm:.2f} | {tl / tm:.1f}x | {ml:.4f} | {mm:.4f} | {lin} | {pl:.2f} | {pm:.2f} |")


if __name__ == "__main__":
    main()
