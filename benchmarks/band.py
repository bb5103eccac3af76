"""The band above fmax: what the default method puts there, scored where PESQ does not listen.

The Mel spectrogram says nothing about the bins above ``fmax`` (8 kHz at the ``hifigan`` preset, whose
audio runs to 11 kHz). For each clip this runs the default method with each ``outside`` choice and
reports PESQ-wb (up to 8 kHz), ViSQOL (audio mode, full band), the log-spectral distance over the bins above
fmax only, and the energy there (dB) in the source and in the output. 16 kHz-sourced clips (the CMU ARCTIC
recording, flite voices, ``speech.wav``) hold nothing above 8 kHz; espeak voices, music and noise do.

Usage::

    nice python benchmarks/band.py                 # hifigan, the clips below, outside free/zero/extend
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from melrecon import MelConfig, mel_spectrogram, reconstruct  # noqa: E402
from melrecon.apps.examples import example  # noqa: E402
from melrecon.apps.metrics import evaluate  # noqa: E402
from melrecon.io import load_audio  # noqa: E402

DEV = REPO / "samples" / "devset"
CLIPS = [REPO.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav", example("speech"), DEV / "speech_flite_slt.wav",
         DEV / "speech_espeak_en-us_m3.wav", DEV / "speech_breathy_espeak_f3.wav", DEV / "speech_reverb_espeak_m3.wav",
         DEV / "music_piano.wav", DEV / "noise_wind.wav"]


def above_fmax(x: np.ndarray, y: np.ndarray, cfg: MelConfig) -> tuple[float, float, float]:
    """(LSD over the bins above fmax, source energy there, output energy there), in dB."""
    import librosa  # noqa: PLC0415 - an extra (dev, notebooks), not a melrecon dependency

    n = min(len(x), len(y))
    spec = [np.abs(librosa.stft(a[:n], n_fft=cfg.n_fft, hop_length=cfg.hop_length)) ** 2 for a in (x, y)]
    band = np.fft.rfftfreq(cfg.n_fft, 1 / cfg.sample_rate) > cfg.fmax
    ref, est = (10 * np.log10(s[band] + 1e-10) for s in spec)
    lsd = float(np.mean(np.sqrt(np.mean((ref - est) ** 2, axis=0))))
    return lsd, *(float(10 * np.log10(s[band].sum() + 1e-12)) for s in spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="hifigan")
    ap.add_argument("--outside", default="free,zero,extend")
    args = ap.parse_args()
    cfg = MelConfig.preset(args.preset)
    choices = [c.strip() for c in args.outside.split(",")]
    print(f"preset {cfg.name} (fmax {cfg.fmax:.0f} Hz, sr {cfg.sample_rate}); load average {os.getloadavg()[0]:.1f}\n")
    print("| clip | outside | PESQ-wb | ViSQOL | LSD above fmax (dB) | energy above fmax: source / output (dB) |")
    print("|---|---|---|---|---|---|")
    for path in [c for c in CLIPS if c.exists()]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # resampling notice
            x, _ = load_audio(path, sample_rate=cfg.sample_rate)
        x = np.asarray(x, np.float32)
        mel = np.asarray(mel_spectrogram(x, cfg))
        for outside in choices:
            y = np.asarray(reconstruct(mel, cfg, outside=outside, progress=False).audio)
            n = min(len(x), len(y))
            m = evaluate(x[:n], y[:n], cfg, extra=("visqol",))
            lsd, e_src, e_out = above_fmax(x[:n], y[:n], cfg)
            print(f"| {path.stem} | {outside} | {m['pesq']:.2f} | {m['visqol']:.3f} | {lsd:.1f} | "
                  f"{e_src:.0f} / {e_out:.0f} |", flush=True)


if __name__ == "__main__":
    main()
