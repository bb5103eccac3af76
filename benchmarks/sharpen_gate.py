"""What the noise-aware method's automatic choice reads on CLEAN mels, and what it costs where it fires.

The noise-aware recipe (``tolmeladmm+tolmelgl``) could only become the default if its automatic choice
left every clean mel alone. This script prints, as Markdown tables:

* ``presets``: the choice on the clean mel of every dev clip (the seed recording included) at each preset
  (no inversion): the largest noise level, the lowest sharpness, the largest band spread and the clips it
  would change;
* ``signals``: the choice on clean, noise-free signals that are smooth along time (sine sweeps, a
  tremolo, a vibrato, a harmonic glide), with ``--invert`` PESQ-wb and Mel SC (against the given mel) of
  the default and of the noise-aware recipe (default iterations).

Usage::

    python benchmarks/sharpen_gate.py presets [--presets seed,hifigan]
    python benchmarks/sharpen_gate.py signals --invert [--presets seed,hifigan]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import scipy.signal

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import find_clips  # noqa: E402

from melrecon import MelConfig, mel_spectrogram, reconstruct  # noqa: E402
from melrecon.algorithms.tolerant import auto_choice  # noqa: E402
from melrecon.apps.metrics import mel_spectral_convergence, pesq_wb  # noqa: E402
from melrecon.core.config import PRESETS  # noqa: E402
from melrecon.core.transforms import decompress  # noqa: E402
from melrecon.io import load_audio  # noqa: E402

SECONDS = 2.4


def smooth_signals(sr: int) -> dict[str, np.ndarray]:
    """Clean, noise-free signals whose Mel spectrogram is smooth along time (``SECONDS`` long, peak 0.5)."""
    t = np.arange(int(SECONDS * sr)) / sr
    glide = 2 * np.pi * np.cumsum(np.geomspace(110, 220, t.size)) / sr
    out = {
        "sine sweep 100-7000 Hz (log)": scipy.signal.chirp(t, 100, t[-1], 7000, method="logarithmic"),
        "sine sweep 100-3000 Hz (linear)": scipy.signal.chirp(t, 100, t[-1], 3000),
        "sine sweep 100-1000 Hz (log)": scipy.signal.chirp(t, 100, t[-1], 1000, method="logarithmic"),
        "sine sweep 300-600 Hz (linear)": scipy.signal.chirp(t, 300, t[-1], 600),
        "440 Hz, tremolo 3 Hz": np.sin(2 * np.pi * 440 * t) * (1 + 0.8 * np.sin(2 * np.pi * 3 * t)),
        "440 Hz, vibrato 5 Hz": np.sin(2 * np.pi * 440 * t + 20 * np.sin(2 * np.pi * 5 * t)),
        "harmonic glide 110-220 Hz": sum(np.sin(k * glide) / k for k in range(1, 30) if k * 220 < sr / 2),
    }
    return {k: (0.5 * v / np.max(np.abs(v))).astype(np.float32) for k, v in out.items()}


def clean_mel(x: np.ndarray, cfg: MelConfig) -> tuple[np.ndarray, np.ndarray]:
    mel = np.asarray(mel_spectrogram(x, cfg))
    return mel, np.asarray(decompress(mel, cfg))


def presets_table(presets) -> str:
    lines = ["| preset | clips | largest noise level (floor 0.20) | lowest sharpness (floor 0.78) | "
             "largest band spread (floor 0.62) | clips it changes |", "|---|---|---|---|---|---|"]
    for name in presets:
        cfg = MelConfig.preset(name)
        seen = []
        for path in find_clips([], quick=False):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                x, _ = load_audio(path, sample_rate=cfg.sample_rate)
            seen.append((path.stem, auto_choice(clean_mel(x, cfg)[1], cfg)[0]))
        loud = max(seen, key=lambda s: s[1]["noise_level"])
        smooth = min(seen, key=lambda s: s[1]["sharpness"])
        spread = max(seen, key=lambda s: s[1]["band_spread"])
        changed = [f"{n} (w {v['tolerance']:.2f}, a {v['sharpen']:.1f}, deblur {v['deblur']:.2f})" for n, v in seen
                   if v["tolerance"] or v["sharpen"] or v["deblur"]]
        lines.append(f"| `{name}` | {len(seen)} | {loud[1]['noise_level']:.3f} ({loud[0]}) | "
                     f"{smooth[1]['sharpness']:.2f} ({smooth[0]}) | "
                     f"{spread[1]['band_spread']:.2f} ({spread[0]}) | "
                     f"{', '.join(changed) or 'none'} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def _pair(values, fmt: str) -> str:
    return " → ".join(format(u, fmt) for u in values) or "–"


def signals_table(presets, invert: bool) -> str:
    lines = ["| preset | clean signal | sharpness | noise level | a (sharpen) | band spread | deblur (bands) | "
             "PESQ-wb default → noise-aware | Mel SC default → noise-aware |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name in presets:
        cfg = MelConfig.preset(name)
        for label, x in smooth_signals(cfg.sample_rate).items():
            mel, lin = clean_mel(x, cfg)
            seen = auto_choice(lin, cfg)[0]
            pesq, sc = [], []
            for method in ("meladmm+melgl", "tolmeladmm+tolmelgl") if invert else ():
                y = np.asarray(reconstruct(mel, cfg, method=method, seed=0, progress=False).audio)
                pesq.append(pesq_wb(x, y, cfg.sample_rate))
                sc.append(mel_spectral_convergence(lin, y, cfg, reference_is_mel=True))
            lines.append(f"| `{name}` | {label} | {seen['sharpness']:.2f} | {seen['noise_level']:.3f} | "
                         f"{seen['sharpen']:.1f} | {seen['band_spread']:.2f} | {seen['deblur']:.2f} | "
                         f"{_pair(pesq, '.2f')} | {_pair(sc, '.3f')} |")
            print(lines[-1], flush=True)
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("table", choices=("presets", "signals"))
    ap.add_argument("--presets", default=",".join(PRESETS), help="comma-separated preset names (default: all)")
    ap.add_argument("--invert", action="store_true", help="signals: also invert with both recipes (PESQ-wb, Mel SC)")
    args = ap.parse_args(argv)
    presets = [p.strip() for p in args.presets.split(",")]
    text = presets_table(presets) if args.table == "presets" else signals_table(presets, args.invert)
    print(f"\n{text}\n\nload average {', '.join(f'{v:.2f}' for v in os.getloadavg())} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
