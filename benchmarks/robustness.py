"""Robustness benchmark: inverting imperfect Mel spectrograms (the ways a predicted mel errs).

For every clip (the dev set, the bundled sample and the seed recording when present) at the ``hifigan``
preset, the clean Mel spectrogram is degraded (:mod:`melrecon.apps.degrade`): log-domain Gaussian noise
(sigma 0.1, 0.3, 0.5), Gaussian smoothing along time (1 frame), across bands (0.5, 1, 2 bands) and both
(1 frame and 1 band), a 3 x 3 box blur of the linear mel, and a time stretch by frame interpolation
(x0.9, x1.1: no aligned reference). Each row inverts the degraded mel:

* ``librosa``: ``librosa.feature.inverse.mel_to_audio`` (NNLS, then 32 iterations of fast Griffin-Lim);
* ``lbfgs``: the L-BFGS peer (linear-Mel MSE, 200 iterations, :data:`PEER_ITERS`; the other rows run at the
  default effort);
* ``meladmm+melgl``: the exact Mel-constraint method (the default when this was written);
* ``tolmeladmm+tolmelgl``: the noise-aware method, its band deconvolution, time smoothing and
  sharpening chosen automatically.

Measures: PESQ-wb and STOI against the original audio where the mel is still time-aligned; DNSMOS
OVRL (no reference) everywhere; Mel SC of the output against the *given* (degraded) mel and against the
clean mel (aligned conditions); seconds of iteration. The report ends with the targets of the noise-aware
method over the peer (:data:`TARGETS`: log-noise sigma 0.3 +0.25 PESQ-wb, 3 x 3 box blur +0.3, band blur sigma 2
+0.5, stretched mels DNSMOS >= the peer's), met or not.

Usage::

    python benchmarks/robustness.py            # all clips, all conditions
    python benchmarks/robustness.py --quick    # 5 clips (3 speech), 6 conditions (QUICK_CONDITIONS)
    python benchmarks/robustness.py --clips seed_arctic_raw_16k,speech_flite_awb \
        --conditions "clean,freq smooth 1" --rows lbfgs,tolmeladmm   # a subset (stems, names, row prefixes)

Writes ``results/robustness/robustness.md`` and ``robustness.json``; timings depend on the load (recorded).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from quality import SEED_CLIP, category, find_clips, librosa_inverse  # noqa: E402

from melrecon import MelConfig, mel_spectrogram, reconstruct  # noqa: E402
from melrecon.apps.degrade import DEGRADATIONS, degrade  # noqa: E402
from melrecon.apps.metrics import dnsmos, mel_spectral_convergence, pesq_wb, stoi  # noqa: E402
from melrecon.core.transforms import compress, decompress  # noqa: E402
from melrecon.io import load_audio  # noqa: E402

ROWS = {"librosa": None, "lbfgs": "lbfgs", "meladmm+melgl": "meladmm+melgl",
        "tolmeladmm+tolmelgl (auto)": "tolmeladmm+tolmelgl"}
#: The L-BFGS peer's iterations (its figures elsewhere: benchmarks/quality.py and effort.py), not an effort level's.
PEER_ITERS = 200
QUICK_CONDITIONS = ("clean", "noise 0.3", "time smooth 1", "freq smooth 1", "time+freq smooth 1", "stretch 0.9")
QUICK_CLIPS = ("speech_reverb_flite_slt.wav", "speech_16k_espeak_f4.wav", "music_piano.wav", "noise_rain.wav")
MEASURES = ("pesq", "stoi", "dnsmos", "mel_sc_given", "mel_sc_clean", "seconds")


def invert(row: str, mel_lin: np.ndarray, cfg: MelConfig, length: int) -> tuple[np.ndarray, float]:
    if ROWS[row] is None:
        t0 = time.perf_counter()
        return librosa_inverse(mel_lin, cfg, 32, length), time.perf_counter() - t0
    counts = {"n_iter": PEER_ITERS} if ROWS[row] == "lbfgs" else {}  # the peer at its own budget; ours at the default
    r = reconstruct(np.asarray(compress(mel_lin, cfg)), cfg, method=ROWS[row], seed=0, progress=False, **counts)
    return np.asarray(r.audio), float(r.seconds)


def measure(x, y, given, clean, aligned: bool, cfg) -> dict:
    out = {"dnsmos": dnsmos(y, cfg.sample_rate),
           "mel_sc_given": mel_spectral_convergence(given, y, cfg, reference_is_mel=True)}
    if aligned:
        for name, fn in (("pesq", pesq_wb), ("stoi", stoi)):
            try:
                out[name] = fn(x, y, cfg.sample_rate)
            except Exception:  # PESQ finds no utterance in some noise clips
                out[name] = float("nan")
        out["mel_sc_clean"] = mel_spectral_convergence(clean, y, cfg, reference_is_mel=True)
    return out


def run_clip(path: Path, cfg: MelConfig, conditions) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, _ = load_audio(path, sample_rate=cfg.sample_rate)
    clean = np.asarray(decompress(mel_spectrogram(x, cfg), cfg))
    res = {}
    for cond in conditions:
        given = degrade(clean, cond)
        aligned = DEGRADATIONS[cond][2]
        length = cfg.n_samples(given.shape[-1])
        for row in ROWS:
            y, seconds = invert(row, given, cfg, length)
            res[f"{cond}|{row}"] = dict(measure(x, y, given, clean, aligned, cfg), seconds=seconds)
        print(f"  {path.name} {cond}: " + ", ".join(
            f"{row} {res[f'{cond}|{row}'].get('pesq', res[f'{cond}|{row}']['dnsmos']):.2f}" for row in ROWS),
              flush=True)
    return {"name": path.stem, "category": category(path), "results": res}


def fmt(v) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.3f}" if abs(v) < 1 else f"{v:.2f}"


def _gain(v) -> str:
    return "–" if not np.isfinite(v) else f"{v:+.2f}"


def gains(clips: list[dict], conditions, peer: str = "lbfgs", row: str = "tolmeladmm+tolmelgl (auto)") -> list[str]:
    """Speech: the noise-aware method against the L-BFGS peer, per condition (means over the speech clips)."""
    speech = [c for c in clips if c["category"] == "speech"]
    if not speech or peer not in ROWS or row not in ROWS:
        return []
    lines = ["", f"## speech ({len(speech)} clip(s)): noise-aware against the L-BFGS peer", "",
             "| mel | PESQ-wb peer | PESQ-wb noise-aware | gain | DNSMOS peer | DNSMOS noise-aware | gain |",
             "|---|---|---|---|---|---|---|"]
    for cond in conditions:
        mean = {(r, m): np.nanmean([c["results"][f"{cond}|{r}"].get(m, np.nan) for c in speech])
                for r in (peer, row) for m in ("pesq", "dnsmos")}
        lines.append(f"| {cond} | " + " | ".join(
            f"{fmt(mean[peer, m])} | {fmt(mean[row, m])} | {_gain(mean[row, m] - mean[peer, m])}"
            for m in ("pesq", "dnsmos")) + " |")
    return lines


#: What the noise-aware method (the default for mels handed in, at its default level) must reach over the L-BFGS
#: peer on the speech clips' means: condition -> (measure, smallest gain).
TARGETS = {"noise 0.3": ("pesq", 0.25), "box 3x3": ("pesq", 0.3), "freq smooth 2": ("pesq", 0.5),
           "stretch 0.9": ("dnsmos", 0.0), "stretch 1.1": ("dnsmos", 0.0)}


def targets(clips: list[dict], conditions, peer: str = "lbfgs", row: str = "tolmeladmm+tolmelgl (auto)") -> list[str]:
    """The targets of :data:`TARGETS` this run measured, met or not (speech means)."""
    speech = [c for c in clips if c["category"] == "speech"]
    measured = [cond for cond in TARGETS if cond in conditions]
    if not speech or peer not in ROWS or row not in ROWS or not measured:
        return []
    lines = ["", f"## Targets: the noise-aware method against the L-BFGS peer ({len(speech)} speech clip(s))", "",
             "| mel | measure | peer | noise-aware | gain | target | |", "|---|---|---|---|---|---|---|"]
    for cond in measured:
        m, need = TARGETS[cond]
        a, b = (np.nanmean([c["results"][f"{cond}|{r}"].get(m, np.nan) for c in speech]) for r in (peer, row))
        ok = np.isfinite(b - a) and b - a >= need
        name = {"pesq": "PESQ-wb", "dnsmos": "DNSMOS"}[m]
        lines.append(f"| {cond} | {name} | {fmt(a)} | {fmt(b)} | {_gain(b - a)} | {need:+.2f} | "
                     f"{'met' if ok else 'NOT met'} |")
    return lines


def report(clips: list[dict], conditions, header: list[str]) -> str:
    lines = header[:]
    for cat in ("speech", "music", "noise", "tone"):
        members = [c for c in clips if c["category"] == cat]
        if not members:
            continue
        lines += ["", f"## {cat} ({len(members)} clip(s), mean)", "",
                  "| mel | method | PESQ-wb | STOI | DNSMOS | Mel SC (given) | Mel SC (clean) | seconds |",
                  "|---|---|---|---|---|---|---|---|"]
        for cond in conditions:
            for row in ROWS:
                vals = [np.mean([c["results"][f"{cond}|{row}"].get(m, np.nan) for c in members]) for m in MEASURES]
                lines.append(f"| {cond} | {row} | " + " | ".join(fmt(v) for v in vals) + " |")
    lines += gains(clips, conditions)
    lines += targets(clips, conditions)
    seed = [c for c in clips if c["name"] == SEED_CLIP.stem]
    speech = [c for c in clips if c["category"] == "speech"]
    if speech:
        lines += ["", "## speech, PESQ-wb per clip (seed recording included)", "",
                  "| clip | mel | " + " | ".join(ROWS) + " |", "|---|---|" + "---|" * len(ROWS)]
        for c in seed + [c for c in speech if c not in seed]:
            for cond in conditions:
                if DEGRADATIONS[cond][2]:
                    lines.append(f"| {c['name']} | {cond} | " + " | ".join(
                        fmt(c["results"][f"{cond}|{row}"].get("pesq")) for row in ROWS) + " |")
    return "\n".join(lines) + "\n"


def clip_order(path: Path) -> tuple:
    """The seed recording first, then music, noise and tones, then speech (real-like variants before the
    plain synthesiser): a run cut short still covers every category."""
    cat = category(path)
    return (path != SEED_CLIP, cat == "speech", cat == "speech" and "flite" in path.stem
            and not any(v in path.stem for v in ("16k", "breathy", "reverb")), path.name)


def _subset(args) -> str:
    return "".join(f' --{k} "{v}"' for k, v in (("clips", args.clips), ("conditions", args.conditions),
                                                ("rows", args.rows)) if v)


def write(results: list[dict], conditions, args, n_clips: int, took: float) -> str:
    done = "" if len(results) == n_clips else f" (partial: {len(results)} of {n_clips} clips)"
    header = ["# Robustness: inverting imperfect Mel spectrograms (hifigan preset)", "",
              f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; `python benchmarks/robustness.py"
              f"{' --quick' if args.quick else ''}{_subset(args)}`; {len(results)} clip(s){done}; "
              f"{took / 60:.1f} min; load average "
              f"{', '.join(f'{v:.2f}' for v in os.getloadavg())} at the end. Rows are means over the clips of a "
              "category; PESQ-wb / STOI / Mel SC (clean) only where the mel stays aligned with the audio."]
    text = report(results, conditions, header)
    (args.out / "robustness.md").write_text(text)
    (args.out / "robustness.json").write_text(json.dumps(results, indent=1, default=float))
    return text


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="5 clips (the seed recording, 2 varied speech, piano, rain), 4 conditions")
    ap.add_argument("--clips", help="comma-separated clip stems (default: all, or the quick set)")
    ap.add_argument("--conditions", help=f"comma-separated conditions among {list(DEGRADATIONS)}")
    ap.add_argument("--rows", help=f"comma-separated rows (names or prefixes) among {list(ROWS)}")
    ap.add_argument("--out", type=Path, default=REPO / "results" / "robustness")
    args = ap.parse_args(argv)
    cfg = MelConfig.preset("hifigan")
    conditions = QUICK_CONDITIONS if args.quick else tuple(DEGRADATIONS)
    if args.conditions:
        conditions = tuple(c.strip() for c in args.conditions.split(","))
        unknown = [c for c in conditions if c not in DEGRADATIONS]
        if unknown:
            raise SystemExit(f"--conditions: unknown {unknown}; choose from {list(DEGRADATIONS)}")
    if args.rows:
        wanted = [r.strip() for r in args.rows.split(",")]
        for row in list(ROWS):
            if not any(row.startswith(w) for w in wanted):
                del ROWS[row]
    clips = find_clips([], quick=False)
    if args.quick:
        clips = [c for c in clips if c.name in QUICK_CLIPS or c == SEED_CLIP]
    if args.clips:
        stems = {c.strip() for c in args.clips.split(",")}
        clips = [c for c in clips if c.stem in stems]
    t0 = time.time()
    results = []
    args.out.mkdir(parents=True, exist_ok=True)
    for path in sorted(clips, key=clip_order):
        results.append(run_clip(path, cfg, conditions))
        # after every clip: a run cut short keeps its tables
        text = write(results, conditions, args, len(clips), time.time() - t0)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
