"""How much of the speech quality a Mel spectrogram leaves reachable: the default method from the mel
against Griffin-Lim given what the mel does not hold, the true STFT magnitude.

For every speech clip of the quality benchmark (``benchmarks/quality.py``: the bundled sample, the
development set's speech, the seed recording when ``../shared`` is present) at one preset:

* ``default (from the mel)``: ``reconstruct(mel, cfg)``, the default method, as users run it;
* ``librosa.griffinlim, true magnitude, N it.``: librosa's fast Griffin-Lim (momentum 0.99, random initial
  phase, seed 0) on the clip's own STFT magnitude: no Mel pooling, only the phase is missing;
* ``true magnitude and phase``: the inverse STFT of the clip's own STFT (the framing's own ceiling).

All three are scored with ``melrecon.apps.metrics.evaluate`` against the original (wide-band PESQ, STOI, Mel SC).
If Griffin-Lim from the *true* magnitude does not reach a PESQ, a method that must first estimate that
magnitude from the Mel bands has no reason to: it is the phase-retrieval ceiling, not the mel's.

Usage::

    python benchmarks/ceiling.py                      # hifigan, 500 Griffin-Lim iterations
    python benchmarks/ceiling.py --preset seed --gl-iters 1000

Prints a Markdown table and writes ``results/ceiling/ceiling.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import category, find_clips  # noqa: E402

from melrecon import MelConfig, istft, mel_spectrogram, reconstruct, stft  # noqa: E402
from melrecon.apps.metrics import evaluate  # noqa: E402
from melrecon.io import load_audio  # noqa: E402
from melrecon.methods.resolve import resolve  # noqa: E402

DEFAULT_METHOD = resolve(source="analysis").method  # the default for a mel computed from audio, as here

MEASURES = ("pesq", "stoi", "mel_sc")


def true_magnitude_gl(x: np.ndarray, cfg: MelConfig, n_iter: int) -> np.ndarray:
    import librosa  # noqa: PLC0415 - an extra (dev, notebooks), not a melrecon dependency

    mag = np.abs(np.asarray(stft(x, cfg))).astype(np.float32)
    window = cfg.window if cfg.window != "rectangular" else "boxcar"
    kw = dict(n_iter=n_iter, hop_length=cfg.hop_length, win_length=cfg.win_length, n_fft=cfg.n_fft, window=window,
              momentum=0.99, init="random", random_state=0)
    if cfg.center:
        return librosa.griffinlim(mag, center=True, length=len(x), **kw)
    # frames of the signal padded by cfg.pad on each side, not centred (HiFi-GAN): invert that, then trim
    y = librosa.griffinlim(mag, center=False, **kw)
    return np.pad(y, (0, max(0, 2 * cfg.pad + len(x) - len(y))))[cfg.pad: cfg.pad + len(x)]


def clip_rows(path: Path, cfg: MelConfig, gl_iters: int) -> dict[str, dict]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the resampling notice
        x, _ = load_audio(path, sample_rate=cfg.sample_rate)
    x = np.asarray(x, np.float32)
    mel = np.asarray(mel_spectrogram(x, cfg))
    rows = {}
    t0 = time.perf_counter()
    rows["default (from the mel)"] = reconstruct(mel, cfg, progress=False).audio
    rows[f"librosa.griffinlim, true magnitude, {gl_iters} it."] = true_magnitude_gl(x, cfg, gl_iters)
    rows["true magnitude and phase (inverse STFT)"] = np.asarray(istft(stft(x, cfg), cfg, length=len(x)))
    print(f"{path.name:38s} {time.perf_counter() - t0:6.1f} s", flush=True)
    return {label: evaluate(x, np.asarray(y), cfg) for label, y in rows.items()}


def report(results: dict[str, dict[str, dict]], meta: str) -> str:
    labels = list(next(iter(results.values())))
    lines = [meta, "", "| clip | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    for name, rows in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{rows[k]['pesq']:.2f}" for k in labels) + " |")
    lines.append("| **mean PESQ-wb** | " + " | ".join(
        f"**{np.nanmean([r[k]['pesq'] for r in results.values()]):.3f}**" for k in labels) + " |")
    for m in MEASURES[1:]:
        lines.append(f"| mean {m} | " + " | ".join(
            f"{np.nanmean([r[k][m] for r in results.values()]):.4f}" for k in labels) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", default="hifigan")
    ap.add_argument("--gl-iters", type=int, default=500)
    ap.add_argument("--out", default=str(REPO / "results" / "ceiling"))
    args = ap.parse_args(argv)
    cfg = MelConfig.preset(args.preset)
    clips = [c for c in find_clips([], quick=False) if category(c) == "speech"]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = os.getloadavg()[0]
    results = {c.stem: clip_rows(c, cfg, args.gl_iters) for c in clips}
    meta = (f"Command: `python benchmarks/ceiling.py {' '.join(sys.argv[1:] if argv is None else argv)}`; {date}; "
            f"preset `{args.preset}`; default method `{DEFAULT_METHOD}`; {len(clips)} speech clips; load average "
            f"{load:.1f} at start, {os.getloadavg()[0]:.1f} at the end. PESQ-wb per clip:")
    text = report(results, meta)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ceiling.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
