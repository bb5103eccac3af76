"""Quality benchmark: melrecon's methods against librosa's ``mel_to_audio`` and the L-BFGS peer.

For every clip and preset: the Mel spectrogram is computed (the preset's compression included), each
method reconstructs audio from it, and the audio is compared with the original (trimmed to the same
length): wide-band PESQ, STOI, Mel spectral convergence, Mel distance (dB), log-spectral distance,
seconds and real-time factor. Reference rows, on the same Mel input in the same process:

* ``librosa-32`` / ``librosa-1000``: ``librosa.feature.inverse.mel_to_audio`` (NNLS magnitude, then
  librosa's fast Griffin-Lim) with the preset's settings, at 32 and 1000 iterations;
* ``lbfgs``: L-BFGS on the waveform (history 100, zoom line search satisfying the strong Wolfe
  conditions), linear-Mel MSE, 200 iterations from tiny noise (Decorsiere et al. 2015);
* on the seed recording at the ``seed`` preset: the original implementation's outputs
  (``../shared/audio/seed_graddescent.wav``, ``seed_griffinlim.wav``), when present.

Then every melrecon method runs again for exactly the wall-clock time the L-BFGS peer took on that
clip (a callback stops it; ``*@lbfgs-time`` rows).

Usage::

    python benchmarks/quality.py                       # everything (~15-25 min on 2 CPU cores)
    python benchmarks/quality.py --quick               # 6 clips, fewer rows (~3 min)
    python benchmarks/quality.py --clips my_wavs/ --presets hifigan

Writes ``results/quality/quality.md`` and ``quality.json``. Seconds are iteration time after
compilation (``Reconstruction.seconds``) for melrecon, wall time for librosa; timings depend on the
machine's load (the report records the load average), compare rows of one run only.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import jax  # noqa: E402

from melrecon import MelConfig, mel_spectrogram, reconstruct  # noqa: E402
from melrecon.apps.examples import example  # noqa: E402
from melrecon.apps.metrics import evaluate  # noqa: E402
from melrecon.core.transforms import decompress  # noqa: E402
from melrecon.io import atomic_path, load_audio  # noqa: E402
from melrecon.methods.resolve import resolve  # noqa: E402

DEFAULT_METHOD = resolve(source="analysis").method  # the default for a mel computed from audio, as here

SHARED = REPO.parent / "shared" / "audio"
SEED_CLIP = SHARED / "seed_arctic_raw_16k.wav"
SEED_REFERENCES = {"original GD 200+5000 (file)": "seed_graddescent.wav",
                   "original GL 5000 (file)": "seed_griffinlim.wav"}
QUICK_CLIPS = ("speech.wav", "speech_flite_awb.wav", "speech_espeak_en-us_m3.wav", "music_piano.wav", "noise_rain.wav")
METRICS = ("pesq", "stoi", "mel_sc", "mel_db", "lsd", "seconds", "rtf")

#: melrecon rows: label -> (method, keyword arguments of reconstruct). "default" is reconstruct()'s default.
METHOD_ROWS = {
    "fgla-200": ("fgla", dict(n_iter=200)),
    "gl+gd (seed method) 200+300": ("gl+gd", dict(n_iter=[200, 300])),
    "fgla+waveform (Adam, log-Mel) 100+400": ("fgla+waveform",
                                              dict(n_iter=[100, 400], mel_loss="log", learning_rate=1e-3)),
    "fgla+lbfgs 100+100": ("fgla+lbfgs", dict(n_iter=[100, 100])),
    "admm (ADMM-GLA) 300": ("admm", dict(n_iter=300)),
    "meladmm 300": ("meladmm", dict(n_iter=300)),
    "melgl 500": ("melgl", dict(n_iter=500)),
    "melgl 500, outside=zero": ("melgl", dict(n_iter=500, outside="zero")),
    "meladmm+melgl 300+200, PGHI initial phase": ("meladmm+melgl", dict(init="pghi")),
    "default": (None, {}),
}
QUICK_ROWS = ("fgla-200", "melgl 500", "meladmm+melgl 300+200, PGHI initial phase", "default")
#: rows re-run at the L-BFGS peer's wall-clock: label -> (method, iterations per stage, the last one open-ended)
EQUAL_TIME_ROWS = {
    "fgla": ("fgla", [100000]),
    "gl+gd": ("gl+gd", [200, 100000]),
    "melgl": ("melgl", [100000]),
    "meladmm": ("meladmm", [100000]),
    "meladmm+melgl": ("meladmm+melgl", [300, 100000]),
}


def category(path: Path) -> str:
    name = path.stem.lower()
    if path.resolve() == SEED_CLIP.resolve() or name.startswith("speech") or "arctic" in name:
        return "speech"
    for cat in ("music", "noise", "tone"):
        if name.startswith(cat):
            return cat
    return "other"


def find_clips(extra_dirs, quick: bool) -> list[Path]:
    devset = REPO / "samples" / "devset"
    if not devset.is_dir() or not any(devset.glob("*.wav")):
        print("rendering the development set (samples/make_samples.py) ...", flush=True)
        subprocess.run([sys.executable, str(REPO / "samples" / "make_samples.py")], check=True)
    clips = [example("speech"), *sorted(devset.glob("*.wav"))]
    if SEED_CLIP.exists():
        clips.append(SEED_CLIP)
    if quick:
        clips = [c for c in clips if c.name in QUICK_CLIPS or c == SEED_CLIP]
    for d in extra_dirs or []:
        d = Path(d)
        found = [d] if d.is_file() else sorted(p for p in d.iterdir() if p.suffix.lower() in (".wav", ".flac", ".ogg"))
        if not found:
            raise SystemExit(f"--clips {d}: no .wav/.flac/.ogg files there")
        clips.extend(found)
    return clips


def librosa_inverse(mel_lin: np.ndarray, cfg: MelConfig, n_iter: int, length: int) -> np.ndarray:
    """``librosa.feature.inverse.mel_to_audio`` with the settings of ``cfg`` (same framing as melrecon)."""
    kw = dict(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window=cfg.window if cfg.window != "rectangular" else "boxcar", power=cfg.power, n_iter=n_iter,
        fmin=cfg.fmin, fmax=cfg.fmax, htk=cfg.mel_scale == "htk", norm=cfg.norm,
    )
    if cfg.center:
        return seeded_mel_to_audio(mel_lin, center=True, pad_mode=cfg.pad_mode, length=length, **kw)
    # Framing without centring of a signal padded by cfg.pad on each side: invert the padded signal, trim.
    y = seeded_mel_to_audio(mel_lin, center=False, **kw)
    return y[cfg.pad: cfg.pad + length]


def seeded_mel_to_audio(mel_lin: np.ndarray, *, sr=22050, n_fft=2048, hop_length=None, win_length=None,
                        window="hann", center=True, pad_mode="constant", power=2.0, n_iter=32, length=None,
                        **mel_kw) -> np.ndarray:
    """``librosa.feature.inverse.mel_to_audio`` step for step (``mel_to_stft``, then ``griffinlim``) with the
    random initial phase seeded (``random_state=0``): librosa's own call draws it from an unseeded
    generator, so its PESQ changes from run to run (by up to 0.3 on a clip)."""
    import librosa  # noqa: PLC0415 - an extra (dev, notebooks), not a melrecon dependency

    stft = librosa.feature.inverse.mel_to_stft(mel_lin, sr=sr, n_fft=n_fft, power=power, **mel_kw)
    return librosa.griffinlim(stft, n_iter=n_iter, hop_length=hop_length, win_length=win_length, n_fft=n_fft,
                              window=window, center=center, length=length, pad_mode=pad_mode, random_state=0)


def stop_after(budget: float):
    return lambda info: info.elapsed < budget


def score(ref, est, cfg, seconds, duration) -> dict:
    out = evaluate(ref, est, cfg)
    out["seconds"] = float(seconds)
    out["rtf"] = float(seconds) / duration
    return out


def run_clip(path: Path, cfg: MelConfig, rows: dict, equal_time: bool, lib_iters) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the resampling notice
        x, sr = load_audio(path, sample_rate=cfg.sample_rate)
    x = np.asarray(x, np.float32)
    duration = len(x) / sr
    mel = np.asarray(mel_spectrogram(x, cfg))
    mel_lin = np.asarray(decompress(mel, cfg))
    length = cfg.n_samples(mel.shape[-1])
    res: dict[str, dict] = {}

    for n in lib_iters:
        t0 = time.perf_counter()
        y = librosa_inverse(mel_lin, cfg, n, length)
        res[f"librosa-{n}"] = score(x, y, cfg, time.perf_counter() - t0, duration)

    peer = reconstruct(mel, cfg, method="lbfgs", n_iter=200, seed=0, progress=False)
    res["lbfgs (peer) 200"] = dict(score(x, peer.audio, cfg, peer.seconds, duration), iterations=peer.best_iteration)

    for label, (method, kw) in rows.items():
        r = reconstruct(mel, cfg, method=method or DEFAULT_METHOD, seed=0, progress=False, **kw)
        if method is None:
            iters = "+".join(str(stop - start) for _, start, stop in r.stage_spans)
            label = f"default: {DEFAULT_METHOD} {iters}"
        res[label] = dict(score(x, r.audio, cfg, r.seconds, duration), iterations=r.n_iterations)

    if equal_time:
        budget = peer.seconds
        for label, (method, iters) in EQUAL_TIME_ROWS.items():
            r = reconstruct(mel, cfg, method=method, n_iter=iters, seed=0, progress=False, chunk_size=10,
                            callback=stop_after(budget))
            res[f"{label} @lbfgs-time"] = dict(score(x, r.audio, cfg, r.seconds, duration), iterations=r.n_iterations)

    if cfg.name == "seed" and path.resolve() == SEED_CLIP.resolve():
        for label, fname in SEED_REFERENCES.items():
            if (SHARED / fname).exists():
                y, _ = load_audio(SHARED / fname, sample_rate=cfg.sample_rate)  # already 16 kHz
                res[label] = score(x, y, cfg, float("nan"), duration)
    return {"clip": str(path.relative_to(REPO.parent)) if REPO.parent in path.resolve().parents else str(path),
            "name": path.stem, "category": category(path), "duration": duration, "results": res}


# -------------------------------------------------------------------------------------------- report
def fmt(v, metric) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    return {"pesq": "{:.2f}", "stoi": "{:.3f}", "mel_sc": "{:.4f}", "mel_db": "{:.3f}", "lsd": "{:.2f}",
            "seconds": "{:.2f}", "rtf": "{:.2f}"}[metric].format(v)


HEAD = "| method | PESQ-wb | STOI | Mel SC | Mel dist (dB) | LSD (dB) | seconds | RTF |"
SEP = "|---|---|---|---|---|---|---|---|"


def table(rows: dict[str, dict], extra: str = "") -> list[str]:
    out = [HEAD.replace("| method |", f"| method{extra} |"), SEP]
    for label, m in rows.items():
        out.append(f"| {label} | " + " | ".join(fmt(m.get(k), k) for k in METRICS) + " |")
    return out


def means(clips: list[dict]) -> dict[str, dict]:
    labels = list(dict.fromkeys(label for c in clips for label in c["results"]))
    out = {}
    for label in labels:
        vals = [c["results"][label] for c in clips if label in c["results"]]
        key = label if len(vals) == len(clips) else f"{label} [{len(vals)} of {len(clips)} clips]"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN (PESQ cannot score a clip)
            out[key] = {k: float(np.nanmean([v[k] for v in vals])) for k in METRICS}
        out[key]["n"] = len(vals)
    return out


def claims(preset: str, clips: list[dict]) -> list[str]:
    """The targets of docs/quality.md, checked on this run's figures."""
    speech = [c for c in clips if c["category"] == "speech"]
    if not speech:
        return []
    default = next(label for label in speech[0]["results"] if label.startswith("default"))
    m = means(speech)
    peer = m["lbfgs (peer) 200"]
    lines = [f"Speech ({len(speech)} clips), `{default}` vs the L-BFGS peer: PESQ {m[default]['pesq']:.3f} vs "
             f"{peer['pesq']:.3f} (difference {m[default]['pesq'] - peer['pesq']:+.3f}); "
             f"STOI {m[default]['stoi']:.4f} vs {peer['stoi']:.4f}; RTF {m[default]['rtf']:.2f} vs "
             f"{peer['rtf']:.2f}."]
    worst = []
    for c in speech:
        refs = [v["pesq"] for k, v in c["results"].items() if k.startswith(("librosa", "lbfgs"))]
        gap = c["results"][default]["pesq"] - max(refs)
        worst.append((gap, c["name"]))
    gap, name = min(worst)
    lines.append(f"Smallest margin of the default over the best reference row on a speech clip: {gap:+.3f} PESQ "
                 f"({name}).")
    lib = m.get("librosa-32")
    if lib is not None:
        margin = m[default]["pesq"] - lib["pesq"]
        lines.append(f"Default vs librosa `mel_to_audio` (32 it.), speech mean: {m[default]['pesq']:.3f} vs "
                     f"{lib['pesq']:.3f} ({margin:+.3f}; target +0.5: {'met' if margin >= 0.5 else 'NOT met'}).")
    for cat in ("music", "noise", "tone"):
        sub = [c for c in clips if c["category"] == cat]
        if not sub:
            continue
        mm = means(sub)
        refs = {k: v for k, v in mm.items() if k.startswith(("librosa", "lbfgs")) and np.isfinite(v["pesq"])}
        if not refs:
            refs = {k: v for k, v in mm.items() if k.startswith(("librosa", "lbfgs"))}
        best_p = max(refs.items(), key=lambda kv: kv[1]["pesq"])
        best_d = min(refs.items(), key=lambda kv: kv[1]["mel_db"])
        lines.append(f"{cat} ({len(sub)} clips): default PESQ {mm[default]['pesq']:.2f} vs best reference "
                     f"{best_p[1]['pesq']:.2f} ({best_p[0]}); Mel distance {mm[default]['mel_db']:.3f} dB vs "
                     f"{best_d[1]['mel_db']:.3f} dB ({best_d[0]}).")
    return lines


def write_report(out_dir: Path, runs: dict, meta: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_dir / "quality.json") as tmp:
        Path(tmp).write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    lines = ["# Quality benchmark", "", f"Command: `{meta['command']}`  ", f"Date: {meta['date']}; {meta['machine']}",
             "", "Seconds: iteration time after compilation (melrecon), wall time (librosa). RTF = seconds / clip "
             "duration. PESQ is wide-band at 16 kHz; all measures compare with the original audio trimmed to the "
             "same length.", ""]
    for preset, clips in runs.items():
        lines += [f"## Preset `{preset}`", ""]
        cl = claims(preset, clips)
        if cl:
            lines += ["Checks:", ""] + [f"- {c}" for c in cl] + [""]
        for cat in ("speech", "music", "noise", "tone", "other"):
            sub = [c for c in clips if c["category"] == cat]
            if sub:
                lines += [f"### Mean over {cat} ({len(sub)} clips)", ""] + table(means(sub)) + [""]
        lines += ["### Per clip", ""]
        for c in clips:
            lines += [f"#### {c['name']} ({c['category']}, {c['duration']:.2f} s)", ""] + table(c["results"]) + [""]
    with atomic_path(out_dir / "quality.md") as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", nargs="*", default=[], help="extra folders (or files) of audio clips")
    ap.add_argument("--presets", default="hifigan,seed", help="comma-separated presets (default hifigan,seed)")
    ap.add_argument("--quick", action="store_true", help="a subset of clips and rows, no librosa-1000")
    ap.add_argument("--no-equal-time", action="store_true", help="skip the equal wall-clock rows")
    ap.add_argument("--rows", default="", help="comma-separated melrecon rows to run (labels as in the tables, "
                    "e.g. 'default'); the librosa and L-BFGS reference rows always run")
    ap.add_argument("--librosa-iters", default="", help="librosa rows' iteration counts, comma-separated "
                    "(default 32,1000; 32 with --quick)")
    ap.add_argument("--category", default="", help="only clips of these categories (comma-separated: speech, "
                    "music, noise, tone)")
    ap.add_argument("--out", default=str(REPO / "results" / "quality"), help="output folder")
    args = ap.parse_args(argv)

    clips = find_clips(args.clips, args.quick)
    if args.category:
        wanted = {c.strip() for c in args.category.split(",")}
        clips = [c for c in clips if category(c) in wanted]
    rows = {k: v for k, v in METHOD_ROWS.items() if not args.quick or k in QUICK_ROWS}
    if args.rows:
        chosen = [r.strip() for r in args.rows.split(",") if r.strip()]
        unknown = [r for r in chosen if r not in METHOD_ROWS]
        if unknown:
            raise SystemExit(f"--rows: unknown {unknown}; known: {', '.join(METHOD_ROWS)}")
        rows = {k: METHOD_ROWS[k] for k in chosen}
    if not clips:
        raise SystemExit("no clips left after --category")
    lib_iters = (32,) if args.quick else (32, 1000)
    if args.librosa_iters:
        lib_iters = tuple(int(n) for n in args.librosa_iters.split(","))
    meta = {
        "command": "python benchmarks/quality.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, JAX {jax.__version__} "
                   f"on {jax.default_backend()}, load average at start {os.getloadavg()[0]:.1f}",
        "default_method": DEFAULT_METHOD,
    }
    runs: dict[str, list] = {}
    t_start = time.perf_counter()
    for preset in [p.strip() for p in args.presets.split(",") if p.strip()]:
        cfg = MelConfig.preset(preset)
        runs[preset] = []
        for path in clips:
            t0 = time.perf_counter()
            c = run_clip(path, cfg, rows, not args.no_equal_time, lib_iters)
            runs[preset].append(c)
            best = max(c["results"].items(), key=lambda kv: kv[1]["pesq"] if np.isfinite(kv[1]["pesq"]) else -9)
            print(f"[{preset}] {path.name:32s} {time.perf_counter() - t0:6.1f}s  best PESQ {best[1]['pesq']:.2f} "
                  f"({best[0]})", flush=True)
            write_report(Path(args.out), runs, meta)  # partial results survive an interruption
    meta["total_seconds"] = time.perf_counter() - t_start
    meta["load_average_end"] = os.getloadavg()[0]
    write_report(Path(args.out), runs, meta)
    print(f"wrote {args.out}/quality.md and quality.json ({meta['total_seconds']:.0f} s)")
    for preset, clips_ in runs.items():
        for line in claims(preset, clips_):
            print(f"[{preset}] {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
