"""Effort levels: PESQ and end-to-end speed of melrecon's iteration budgets against librosa's ``mel_to_audio``.

Three parts, each in this one process:

* ``quality``: mean wide-band PESQ on the speech clips of the quality benchmark (``benchmarks/quality.py``:
  the bundled sample, the development set's speech clips, the ARCTIC recording) at the ``hifigan`` preset,
  for every melrecon row, ``librosa.feature.inverse.mel_to_audio`` (32 iterations) and the L-BFGS peer
  (200 iterations);
* ``speed``: the same rows on one 10 s mel (``benchmarks/speed.py``'s looped speech), end to end (the whole
  call: magnitude estimate, iterations, inverse STFT), warm (after one compiling call), librosa and melrecon
  alternating, best of 3 each; ratio = librosa-32's time / the row's time (higher is faster);
* ``compat``: ``melrecon.mel_to_audio`` (the librosa drop-in) against librosa's at librosa's own defaults
  (power 2, n_fft 2048, hop 512, 128 bands): PESQ on the same speech clips and speed on 10 s.

A row is ``METHOD@COUNTS[:OPTION=VALUE,...]``: ``meladmm+melgl@100+50``, ``fgla@64``,
``meladmm+melgl@150+100:init=pghi``; the option ``starts=K`` runs K starts (zero phase, PGHI, then random
phases) as one batch and keeps the one with the lowest Mel spectral convergence (:func:`best_of_starts`);
``race=K`` runs the method with a start race of K steps between a zero and a PGHI start (the first stage's
first K steps from each, the one of lower Mel SC goes on: ``Level.race`` in melrecon/methods/registry.py), as
a level with a race would (:func:`raced`); ``tries=1`` runs it from each start whole, the lower Mel SC kept
(as the ``best`` level does). ``--category music,noise`` measures other clips of the quality benchmark, scored by
ViSQOL's audio mode unless ``--measure pesq`` (PESQ, a speech measure, jumps between neighbouring budgets on
music while SC, LSD and ViSQOL move together: docs/effort.md, lead 4).

Usage::

    python benchmarks/effort.py --quick                 # 4 speech clips, 2 repeats (~5 min on 2 cores)
    python benchmarks/effort.py                         # 17 speech clips, best of 3
    python benchmarks/effort.py --part quality --rows "meladmm+melgl@300+200:starts=4"
    python benchmarks/effort.py --part quality --no-peer --rows "meladmm+melgl@60+40:race=10"
    python benchmarks/effort.py --levels "fast=meladmm+melgl@40+30;default=meladmm+melgl@100+50"

``--levels`` names the rows whose targets are checked (by default the levels as they are, :func:`level_rows`,
when they ran): ``default`` >= 2x faster than librosa-32, mean >= 3.95 and no clip below the L-BFGS peer,
``fast`` >= 3x and >= +1.0 over librosa-32, ``best`` mean >= 4.35 with no clip below the peer, and each level
at least as good as the faster one below it;
``--compat-levels`` likewise for the drop-in (``compat``: no slower than librosa, >= +0.5 PESQ).
Writes ``results/effort/effort.md`` and ``effort.json``; timings depend on the load (recorded).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import quality  # noqa: E402  (clip list, librosa settings, categories)
import speed  # noqa: E402  (the looped 10 s speech signal)
from quality import librosa_inverse, seeded_mel_to_audio  # noqa: E402

from melrecon import MelConfig, mel_spectrogram, mel_to_audio, reconstruct  # noqa: E402
from melrecon.apps.metrics import pesq_wb, visqol  # noqa: E402
from melrecon.core.pghi import pghi_phase  # noqa: E402
from melrecon.core.transforms import decompress, mel_to_linear  # noqa: E402
from melrecon.io import load_audio  # noqa: E402
from melrecon.methods import registry  # noqa: E402


def level_rows(method: str = "meladmm+melgl") -> dict[str, str]:
    """Each effort level of ``method`` (melrecon/methods/registry.py) as a row: its counts, its start (``init=``)
    or, for a level that tries several starts, ``tries=1`` (each start whole, the lower Mel SC kept)."""
    rows = {}
    for effort in registry.EFFORTS:
        level = registry.METHODS[method].level(effort)
        row = f"{method}@{'+'.join(str(c) for c in level.counts)}"
        rows[effort] = row + (":tries=1" if level.init_phases else f":init={level.init_phase}" if level.init_phase
                              else ":init=zero")
    return rows


#: The levels as they are (checked against their targets by default), then budgets around them.
DEFAULT_ROWS = (*level_rows().values(), "meladmm+melgl@150+100:init=pghi", "meladmm+melgl@100+50:init=pghi")
DEFAULT_COMPAT_ROWS = ("agla@32", "meladmm+melgl@20+12", "meladmm+melgl@30+20", "melgl@32")
LIBROSA, PEER = "librosa-32", "lbfgs@200"
#: level -> (least speed ratio vs librosa, least PESQ margin over librosa)
TARGETS = {"fast": (3.0, 1.0), "compat": (1.0, 0.5)}
#: best: mean PESQ-wb (trained neural vocoders report 4.32-4.36 on their own test sets), no clip below the peer;
#: default: >= 2x librosa-32's speed, this mean, no clip below the peer. Every level checked is also at least as
#: good as the faster level below it (speech mean).
BEST_TARGET = 4.35
DEFAULT_TARGET = (2.0, 3.95)


# ------------------------------------------------------------------------------------------------ rows
def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_row(spec: str) -> dict:
    """``"meladmm+melgl@100+50:init=pghi"`` -> method, n_iter and options."""
    head, _, opts = spec.partition(":")
    method, _, counts = head.partition("@")
    if not counts:
        raise SystemExit(f"row {spec!r}: give the counts, e.g. {method}@100+50")
    n_iter = [int(c) for c in counts.split("+")]
    options = dict(o.split("=", 1) for o in opts.split(",") if o) if opts else {}
    return dict(label=spec, method=method, n_iter=n_iter if len(n_iter) > 1 else n_iter[0],
                options={k: _value(v) for k, v in options.items()})


def phase_array(magnitude_shape: tuple, starts: int, config: MelConfig, magnitude) -> np.ndarray:
    """``starts`` initial phase arrays (starts, F, frames): zero, PGHI of the magnitude, then random."""
    rng = np.random.default_rng(0)
    phases = [np.zeros(magnitude_shape, np.float32), np.asarray(pghi_phase(magnitude, config), np.float32)]
    while len(phases) < starts:
        phases.append(rng.uniform(0, 2 * np.pi, magnitude_shape).astype(np.float32))
    return np.stack(phases[:starts])


def best_of_starts(mel, cfg: MelConfig, starts: int, **kw):
    """Several starts of one method as one batch; the audio of the start with the lowest Mel SC."""
    magnitude = mel_to_linear(mel, cfg)  # the estimate reconstruct starts from (NNLS)
    phases = phase_array(tuple(magnitude.shape), starts, cfg, magnitude)
    out = reconstruct(np.broadcast_to(mel, (starts, *mel.shape)).copy(), cfg, init=phases, **kw)
    best = int(np.argmin(out.mel_sc))
    return out.audio[best], out.seconds, dict(mel_sc=[float(v) for v in out.mel_sc], chosen=best)


@contextlib.contextmanager
def raced(method: str, race: int | None):
    """Within: the named ``method``'s levels try a zero and a PGHI start, with a start race of ``race`` steps
    (None: whole runs, the lower Mel SC kept), as a level of :data:`melrecon.methods.registry.PIPELINE_LEVELS`
    that sets them would."""
    key = method.strip().lower()
    record = registry.METHODS.get(key)
    if record is None:
        raise SystemExit(f"race/tries: {method!r} is not a named method of melrecon.methods.registry.METHODS")
    levels = {e: registry.Level(record.level(e).counts, init_phases=("zero", "pghi"), race=race)
              for e in registry.EFFORTS}
    registry.METHODS[key] = dataclasses.replace(record, levels=levels)
    registry.method_record.cache_clear()
    registry.GENERATION[0] += 1
    try:
        yield
    finally:
        registry.METHODS[key] = record
        registry.method_record.cache_clear()
        registry.GENERATION[0] += 1


def run_row(row: dict, mel, cfg: MelConfig, length: int | None = None):
    """Audio of one row (and the iteration seconds, extra facts)."""
    opts = dict(row["options"])
    starts = int(opts.pop("starts", 1))
    race, tries = opts.pop("race", None), opts.pop("tries", None)
    kw = dict(method=row["method"], n_iter=row["n_iter"], progress=False, seed=0, **opts)
    if starts > 1:
        audio, seconds, extra = best_of_starts(mel, cfg, starts, **kw)
        return audio[:length] if length else audio, seconds, extra
    if race is not None or tries:
        with raced(row["method"], None if race is None else int(race)):
            out = reconstruct(mel, cfg, length=length, **kw)
        return out.audio, out.seconds, dict(mel_sc=float(np.mean(out.mel_sc)), init_phase=out.settings["init_phase"],
                                            init_phase_mel_sc=out.settings["init_phase_mel_sc"])
    out = reconstruct(mel, cfg, length=length, **kw)
    return out.audio, out.seconds, dict(mel_sc=float(np.mean(out.mel_sc)))


# --------------------------------------------------------------------------------------------- quality
def speech_clips(quick: bool, limit: int | None, categories=("speech",)) -> list[Path]:
    """The quality benchmark's clips of ``categories`` (speech unless told)."""
    clips = [c for c in quality.find_clips([], quick) if quality.category(c) in categories]
    return clips[:limit] if limit else clips


def _load(path: Path, sr: int) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the resampling notice
        x, _ = load_audio(path, sample_rate=sr)
    return np.asarray(x, np.float32)


#: The quality measure of a run (``--measure``): PESQ-wb for speech; ViSQOL's audio mode for music, where PESQ (a
#: speech measure) jumps by 2 points between neighbouring budgets while SC, LSD and ViSQOL move together
#: (docs/effort.md, lead 4). The per-clip fields keep the name ``pesq`` whichever measure fills them.
MEASURES = {"pesq": "PESQ-wb", "visqol": "ViSQOL (audio)"}
MEASURE = {"name": "pesq"}


def _pesq(ref, est, sr) -> float:
    """The run's measure (:data:`MEASURE`) of ``est`` against ``ref``; NaN where it cannot score the clip."""
    n = min(len(ref), len(est))
    try:
        if MEASURE["name"] == "visqol":
            return float(visqol(ref[:n], est[:n], sr))
        return float(pesq_wb(ref[:n], est[:n], sr))
    except Exception:  # a clip the measure cannot score
        return float("nan")


def quality_part(clips: list[Path], rows: list[dict], preset: str = "hifigan") -> dict:
    """Per clip and row: PESQ-wb and iteration seconds (melrecon) or wall seconds (librosa)."""
    cfg = MelConfig.preset(preset)
    per_clip = {}
    for path in clips:
        t_clip = time.perf_counter()
        x = _load(path, cfg.sample_rate)
        mel = np.asarray(mel_spectrogram(x, cfg))
        length = cfg.n_samples(mel.shape[-1])
        res = {}
        t0 = time.perf_counter()
        y = librosa_inverse(np.asarray(decompress(mel, cfg)), cfg, 32, length)
        res[LIBROSA] = dict(pesq=_pesq(x, y, cfg.sample_rate), seconds=time.perf_counter() - t0)
        for row in rows:
            audio, seconds, extra = run_row(row, mel, cfg)
            res[row["label"]] = dict(pesq=_pesq(x, audio, cfg.sample_rate), seconds=seconds, **extra)
        per_clip[path.stem] = res
        print(f"  {path.stem:34s} {time.perf_counter() - t_clip:5.1f} s  "
              + "  ".join(f"{k.split('@')[-1]}={v['pesq']:.2f}" + (f"[{v['init_phase']}]" if "init_phase" in v else "")
                          for k, v in res.items()), flush=True)
    return per_clip


def compat_quality(clips: list[Path], rows: list[dict]) -> dict:
    """librosa's ``mel_to_audio`` vs ``melrecon.mel_to_audio`` at librosa's defaults, PESQ per clip."""
    import librosa  # noqa: PLC0415 - an extra (dev, notebooks), not a melrecon dependency

    per_clip = {}
    for path in clips:
        x = _load(path, 22050)
        M = librosa.feature.melspectrogram(y=x, sr=22050)
        res = {LIBROSA: dict(pesq=_pesq(x, seeded_mel_to_audio(M, length=len(x)), 22050))}
        for row in rows:
            y = mel_to_audio(M, length=len(x), method=row["method"], n_iter=row["n_iter"], **row["options"])
            res[row["label"]] = dict(pesq=_pesq(x, y, 22050))
        per_clip[path.stem] = res
        print(f"  {path.stem:34s} " + "  ".join(f"{k}={v['pesq']:.2f}" for k, v in res.items()), flush=True)
    return per_clip


# ----------------------------------------------------------------------------------------------- speed
def best_times(calls: dict, reps: int) -> dict[str, float]:
    """Each callable once to warm up (compile), then ``reps`` rounds alternating; the best time of each."""
    for fn in calls.values():
        fn()
    times = {k: [] for k in calls}
    for _ in range(reps):
        for k, fn in calls.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: min(v) for k, v in times.items()}


def speed_part(rows: list[dict], seconds: float, reps: int, preset: str = "hifigan") -> dict[str, float]:
    """End-to-end seconds of librosa-32 and every row on one ``seconds`` mel (warm, best of ``reps``)."""
    import librosa  # noqa: PLC0415 - an extra (dev, notebooks), not a melrecon dependency

    cfg = MelConfig.preset(preset)
    mel = speed._mel(speed._signal(seconds, cfg.sample_rate), cfg)
    mel_lin = np.asarray(decompress(mel, cfg))
    length = cfg.n_samples(mel.shape[-1])
    calls = {LIBROSA: lambda: librosa_inverse(mel_lin, cfg, 32, length)}
    for row in rows:
        calls[row["label"]] = (lambda r: lambda: run_row(r, mel, cfg))(row)
    librosa.feature.inverse.mel_to_audio(mel_lin[:, :20], sr=cfg.sample_rate, n_fft=cfg.n_fft, n_iter=2)
    return best_times(calls, reps)


def compat_speed(rows: list[dict], seconds: float, reps: int) -> dict[str, float]:
    import librosa  # noqa: PLC0415 - an extra (dev, notebooks), not a melrecon dependency

    M = librosa.feature.melspectrogram(y=speed._signal(seconds, 22050), sr=22050)
    calls = {LIBROSA: lambda: librosa.feature.inverse.mel_to_audio(M)}
    for row in rows:
        calls[row["label"]] = (lambda r: lambda: mel_to_audio(M, method=r["method"], n_iter=r["n_iter"],
                                                               **r["options"]))(row)
    return best_times(calls, reps)


# ---------------------------------------------------------------------------------------------- report
def summary(per_clip: dict, times: dict[str, float] | None) -> dict[str, dict]:
    """Row -> mean / lowest PESQ, margin over librosa-32, mean iteration seconds, 10 s time and ratio."""
    labels = list(dict.fromkeys([*(k for res in per_clip.values() for k in res), *(times or {})]))
    out = {}
    for label in labels:
        vals = [res[label] for res in per_clip.values() if label in res]
        pesq = np.array([v["pesq"] for v in vals], float)
        lib = np.array([res[LIBROSA]["pesq"] for res in per_clip.values() if label in res], float)
        row = dict(pesq=float(np.nanmean(pesq)) if vals else float("nan"),
                   low=float(np.nanmin(pesq)) if vals else float("nan"),
                   margin=float(np.nanmean(pesq - lib)) if vals else float("nan"),
                   clip_s=float(np.mean([v["seconds"] for v in vals])) if vals and "seconds" in vals[0]
                   else float("nan"))
        if times and label in times:
            row.update(time_s=times[label], ratio=times[LIBROSA] / times[label])
        out[label] = row
    return out


def _f(v, fmt) -> str:
    return "–" if v is None or not np.isfinite(v) else format(v, fmt)


def table(rows: dict[str, dict], clip_label: str) -> list[str]:
    out = [f"| row | mean {MEASURES[MEASURE['name']]} | lowest clip | vs librosa-32 | {clip_label} | "
           "10 s end to end (s) | speed vs librosa-32 |", "|---|---|---|---|---|---|---|"]
    for label, m in rows.items():
        out.append(f"| {label} | {_f(m['pesq'], '.3f')} | {_f(m['low'], '.2f')} | {_f(m['margin'], '+.3f')} | "
                   f"{_f(m['clip_s'], '.2f')} | {_f(m.get('time_s'), '.2f')} | **{_f(m.get('ratio'), '.2f')}x** |")
    return out


def _worst_margin(label: str, per_clip: dict) -> tuple[float, str]:
    """The smallest per-clip PESQ margin of row ``label`` over the L-BFGS peer, and the clip."""
    peer = [(res[label]["pesq"] - res[PEER]["pesq"], name) for name, res in per_clip.items()
            if label in res and PEER in res]
    return min(peer) if peer else (float("nan"), "-")


def checks(rows: dict[str, dict], levels: dict[str, str], per_clip: dict) -> list[str]:
    """The targets of the named levels, met or not, on this run's figures; then whether they rank."""
    lines = []
    for level, label in levels.items():
        m = rows.get(label)
        if m is None:
            lines.append(f"{level} ({label}): not measured in this run")
            continue
        worst = _worst_margin(label, per_clip)
        margin = f"smallest margin over the L-BFGS peer {worst[0]:+.2f} ({worst[1]})"
        if level == "best":
            ok = m["pesq"] >= BEST_TARGET and worst[0] >= 0
            lines.append(f"best ({label}): mean {m['pesq']:.3f} (target {BEST_TARGET}); {margin}: "
                         f"{'met' if ok else 'NOT met'}")
        elif level == "default":
            speed_min, mean_min = DEFAULT_TARGET
            ratio = m.get("ratio", float("nan"))
            ok = ratio >= speed_min and m["pesq"] >= mean_min and worst[0] >= 0
            lines.append(f"default ({label}): {_f(ratio, '.2f')}x librosa-32 (target {speed_min}x), mean "
                         f"{m['pesq']:.3f} (target {mean_min}); {margin}: {'met' if ok else 'NOT met'}")
        elif level in TARGETS:
            speed_min, pesq_min = TARGETS[level]
            ratio = m.get("ratio", float("nan"))
            ok = ratio >= speed_min and m["margin"] >= pesq_min
            lines.append(f"{level} ({label}): {_f(ratio, '.2f')}x librosa-32 (target {speed_min}x), "
                         f"{MEASURES[MEASURE['name']]} {_f(m['margin'], '+.3f')} over it (target +{pesq_min}): "
                         f"{'met' if ok else 'NOT met'}")
    ranked = [(lv, levels[lv]) for lv in registry.EFFORTS if lv in levels and levels[lv] in rows]  # fastest first
    for (lo, a), (hi, b) in zip(ranked, ranked[1:]):
        ok = rows[b]["pesq"] >= rows[a]["pesq"]
        lines.append(f"{hi} ({rows[b]['pesq']:.3f}) at least {lo} ({rows[a]['pesq']:.3f}): "
                     f"{'met' if ok else 'NOT met'}")
    return lines


def parse_levels(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (t.strip() for t in text.split(";"))):
        level, _, label = item.partition("=")
        if level not in (*TARGETS, *registry.EFFORTS):
            raise SystemExit(f"--levels: unknown level {level!r}; known: {', '.join((*registry.EFFORTS, 'compat'))}")
        out[level] = label
    return out


def _rows(text: str, defaults) -> list[dict]:
    specs = [s.strip() for s in text.split(";") if s.strip()] if text else list(defaults)
    return [parse_row(s) for s in specs]


def _args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="the 4 speech clips of quality.py --quick, 2 repeats")
    ap.add_argument("--part", default="quality,speed,compat", help="comma-separated: quality, speed, compat "
                    "(or 'none' with --merge: only report an earlier run, e.g. with other --levels)")
    ap.add_argument("--rows", default="", help="';'-separated rows METHOD@COUNTS[:OPT=V,...] (default: the "
                    "default method at six budgets)")
    ap.add_argument("--no-peer", action="store_true", help="leave out the L-BFGS peer row")
    ap.add_argument("--compat-rows", default="", help="';'-separated rows for melrecon.mel_to_audio")
    ap.add_argument("--levels", default=None, help="';'-separated LEVEL=ROW (fast, default, balanced, best) to "
                    "check (default: the levels as they are, when their rows ran)")
    ap.add_argument("--compat-levels", default="", help="compat=ROW to check")
    ap.add_argument("--clips", type=int, default=None, help="only the first N speech clips")
    ap.add_argument("--category", default="speech", help="the quality part's clips: comma-separated categories "
                    "of benchmarks/quality.py (speech, music, noise, tone; default speech)")
    ap.add_argument("--measure", choices=sorted(MEASURES), default=None, help="the quality measure: pesq "
                    "(PESQ-wb) or visqol (ViSQOL's audio mode); default pesq for speech, visqol otherwise (PESQ is "
                    "a speech measure: on music it jumps between neighbouring budgets, docs/effort.md)")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of the speed mel (default 10 s)")
    ap.add_argument("--reps", type=int, default=None, help="speed repeats (default 3; 2 with --quick)")
    ap.add_argument("--merge", default=None, help="an effort.json of an earlier run: its parts that this run "
                    "does not measure are reported with this run's (e.g. quality from one run, speed from another)")
    ap.add_argument("--out", default=str(HERE.parent / "results" / "effort"), help="output folder")
    return ap.parse_args(argv)


def report(results: dict, meta: dict, levels: dict, compat_levels: dict) -> list[str]:
    lines = ["# Effort levels", "", f"Command: `{meta['command']}`  ",
             f"Date: {meta['date']}; {meta['machine']}; load average {meta['load_start']} at the start, "
             f"{meta.get('load_end', '?')} at the end", ""]
    if meta.get("merged"):
        lines += [f"Parts not measured by this command are from {meta['merged']}.", ""]
    q, t = results.get("quality", {}), results.get("speed")
    if q or t:
        rows = summary(q, t)
        lines += [f"## hifigan: {len(q)} {meta.get('category', 'speech')} clips ({MEASURES[MEASURE['name']]}), "
                  f"{meta['seconds']:.0f} s mel "
                  f"(speed, best of "
                  f"{meta['reps']})", ""] + table(rows, "iteration s / clip") + [""]
        lines += [f"- {c}" for c in checks(rows, levels, q)] + [""]
    cq, ct = results.get("compat_quality", {}), results.get("compat_speed")
    if cq or ct:
        rows = summary(cq, ct)
        lines += ["## melrecon.mel_to_audio at librosa's defaults (power 2, n_fft 2048, hop 512, 128 bands)", ""]
        lines += table(rows, "–") + [""] + [f"- {c}" for c in checks(rows, compat_levels, cq)] + [""]
    return lines


def main(argv=None) -> int:
    args = _args(argv)
    MEASURE["name"] = args.measure or ("pesq" if args.category == "speech" else "visqol")
    parts = {p.strip() for p in args.part.split(",")}
    rows = _rows(args.rows, DEFAULT_ROWS) + ([] if args.no_peer else [parse_row(PEER)])
    compat_rows = _rows(args.compat_rows, DEFAULT_COMPAT_ROWS)
    reps = args.reps or (2 if args.quick else 3)
    meta = dict(command="python benchmarks/effort.py " + " ".join(sys.argv[1:] if argv is None else argv),
                date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                machine=f"{os.cpu_count()} CPU cores, JAX {jax.__version__} on {jax.default_backend()}",
                load_start=f"{os.getloadavg()[0]:.1f}", seconds=args.seconds, reps=reps)
    categories = tuple(c.strip() for c in args.category.split(",") if c.strip())
    meta["category"] = ", ".join(categories)
    clips = speech_clips(args.quick, args.clips) if parts & {"quality", "compat"} else []
    results: dict = {}
    if "quality" in parts:
        chosen = clips if categories == ("speech",) else speech_clips(args.quick, args.clips, categories)
        print(f"quality: {len(chosen)} {meta['category']} clips at hifigan", flush=True)
        results["quality"] = quality_part(chosen, rows)
    if "speed" in parts:
        print(f"speed: {args.seconds:.0f} s mel, best of {reps}", flush=True)
        results["speed"] = speed_part(rows, args.seconds, reps)
    if "compat" in parts:
        print("compat: librosa's defaults", flush=True)
        results["compat_quality"] = compat_quality(clips, compat_rows)
        results["compat_speed"] = compat_speed(compat_rows, args.seconds, reps)
    meta["load_end"] = f"{os.getloadavg()[0]:.1f}"
    if args.merge:
        earlier = json.loads(Path(args.merge).read_text())
        for part, value in earlier["results"].items():
            results.setdefault(part, value)
        meta["merged"] = f"{args.merge} ({earlier['meta']['command']}, {earlier['meta']['date']})"
    levels = parse_levels(args.levels) if args.levels is not None else level_rows()
    lines = report(results, meta, levels, parse_levels(args.compat_levels))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "effort.json").write_text(json.dumps(dict(meta=meta, results=results), indent=1))
    (out / "effort.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
