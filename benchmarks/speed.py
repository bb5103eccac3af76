"""Speed benchmark: melrecon's fast Griffin-Lim against ``librosa.griffinlim``, gradient-descent step
rates, padded batches, the folder command, and a 10-minute clip through ``gl+gd``.

    python benchmarks/speed.py            # full run (1 s, 10 s, 60 s and 600 s clips; ~15-25 min on 2 cores)
    python benchmarks/speed.py --quick    # 1 s and 10 s clips, no 600 s / folder rows (~3 min)
    python benchmarks/speed.py --only ratios  # headline ratios: the default vs librosa's mel_to_audio,
                                              # fgla vs librosa.griffinlim (200 it., 10 s and 60 s),
                                              # `melrecon invert` first / second run (compilation cache)

Writes ``results/speed/speed.md`` and ``results/speed/speed.json``.

Every case runs in a fresh subprocess (so compile caches and memory peaks do not carry over). In a Griffin-
Lim case librosa and melrecon run in the same process, one after the other, on the same magnitude
(float32, n_fft / hop / window of the preset, momentum 0.99, the same iteration count), with the same
CPU affinity; the peak resident memory of each is read from ``VmHWM`` after resetting it
(``/proc/self/clear_refs``), which also counts XLA's allocations (tracemalloc would not).

* each Griffin-Lim case alternates librosa and melrecon 3 times (once at 600 s) and keeps the best time
  of each, so that other load on the machine disturbs the ratio as little as possible;
* throughput = audio seconds x iterations / wall second of the iterations (melrecon: the chunked loop
  of :func:`melrecon.reconstruct`, including its per-chunk output evaluation; without compilation and
  without the NNLS magnitude estimate, which librosa does not do either: librosa gets the magnitude);
* compile = the chunk's compilation (``Reconstruction.compile_seconds``) and the whole first-call
  overhead (first call minus a second, warm call);
* librosa's FFT (``scipy.fft``) runs on one thread; XLA's CPU client may use every core it is given.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "results" / "speed"


# ------------------------------------------------------------------------------------------ helpers
def _peak_reset() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
    except OSError:
        pass


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _signal(seconds: float, sample_rate: int):
    """The bundled speech sample looped to ``seconds`` (content does not matter for speed)."""
    import numpy as np
    import soundfile as sf

    from melrecon.apps.examples import example

    x, sr = sf.read(str(example("speech")), dtype="float32")
    if sr != sample_rate:
        import soxr

        x = soxr.resample(x, sr, sample_rate).astype(np.float32)
    n = int(round(seconds * sample_rate))
    reps = -(-n // len(x))
    return np.tile(x, reps)[:n].astype(np.float32)


def _mel(audio, cfg):
    import numpy as np

    from melrecon import mel_spectrogram

    return np.asarray(mel_spectrogram(audio, cfg))


# --------------------------------------------------------------------------------------------- cases
def case_gl(preset: str, seconds: float, n_iter: int) -> dict:
    import librosa
    import numpy as np

    from melrecon import MelConfig, reconstruct, stft

    cfg = MelConfig.preset(preset)
    audio = _signal(seconds, cfg.sample_rate)
    mag = np.abs(np.asarray(stft(audio, cfg))).astype(np.float32)
    mel = _mel(audio, cfg)
    row = dict(kind="gl", preset=preset, clip_s=seconds, n_iter=n_iter, frames=int(mag.shape[-1]))

    # librosa: the same magnitude, float32, momentum 0.99, random initial phase
    kw = dict(n_iter=n_iter, hop_length=cfg.hop_length, win_length=cfg.win_length, n_fft=cfg.n_fft,
              window=cfg.window, center=True, momentum=0.99, init="random", random_state=0)
    librosa.griffinlim(mag[:, :20], **dict(kw, n_iter=2))  # warm-up (imports, plans)
    reps = 3 if seconds <= 60 else 1
    lib_times, mr_times, mr_walls, one_times, one_walls = [], [], [], [], []
    _peak_reset()
    t0 = time.perf_counter()
    first = reconstruct(mel, cfg, method="fgla", n_iter=n_iter, progress=False)
    first_wall = time.perf_counter() - t0
    mr_peak = _peak_mb()
    reconstruct(mel, cfg, method="fgla", n_iter=n_iter, progress=False, pieces=1)  # compiles the whole shape
    for _ in range(reps):  # alternate, keep the best of each (robust to other load on the machine)
        _peak_reset()
        t0 = time.perf_counter()
        y = librosa.griffinlim(mag, **kw)
        lib_times.append(time.perf_counter() - t0)
        lib_peak = _peak_mb()
        t0 = time.perf_counter()
        warm = reconstruct(mel, cfg, method="fgla", n_iter=n_iter, progress=False)
        mr_walls.append(time.perf_counter() - t0)
        mr_times.append(warm.seconds)
        t0 = time.perf_counter()
        one_times.append(reconstruct(mel, cfg, method="fgla", n_iter=n_iter, progress=False, pieces=1).seconds)
        one_walls.append(time.perf_counter() - t0)
    row["librosa_s"] = min(lib_times)
    row["librosa_dtype"] = str(y.dtype)
    row["librosa_peak_mb"] = lib_peak
    row.update(
        reps=reps, melrecon_s=min(mr_times), melrecon_wall_s=min(mr_walls), compile_s=first.compile_seconds,
        first_call_overhead_s=first_wall - min(mr_walls), melrecon_peak_mb=mr_peak, chunk=warm.settings["chunk_size"],
        librosa_all_s=lib_times, melrecon_all_s=mr_times, pieces=len(warm.settings.get("pieces", [0])),
        one_piece_s=min(one_times), one_piece_all_s=one_times, one_piece_ratio=min(lib_times) / min(one_times),
        one_piece_wall_s=min(one_walls),
    )
    work = seconds * n_iter
    row["librosa_tput"] = work / row["librosa_s"]
    row["melrecon_tput"] = work / row["melrecon_s"]
    row["ratio"] = row["melrecon_tput"] / row["librosa_tput"]
    return row


def case_default(preset: str, seconds: float, reps: int = 3) -> dict:
    """The default method end to end (NNLS estimate, iterations, output) against
    ``librosa.feature.inverse.mel_to_audio`` (its NNLS, then 32 fast Griffin-Lim iterations) on the same
    linear mel, alternating, best of ``reps`` each, warm (compiled)."""
    import librosa
    import numpy as np

    from melrecon import MelConfig, reconstruct
    from melrecon.core.transforms import decompress

    cfg = MelConfig.preset(preset)
    mel = _mel(_signal(seconds, cfg.sample_rate), cfg)
    mel_lin = np.asarray(decompress(mel, cfg))
    kw = dict(sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
              window=cfg.window, power=cfg.power, n_iter=32, fmin=cfg.fmin, fmax=cfg.fmax,
              htk=cfg.mel_scale == "htk", norm=cfg.norm, center=False)
    librosa.feature.inverse.mel_to_audio(mel_lin[:, :20], **dict(kw, n_iter=2))  # warm-up (imports, plans)
    t0 = time.perf_counter()
    first = reconstruct(mel, cfg, progress=False)
    first_wall = time.perf_counter() - t0
    lib_times, mr_times, loops, one_times = [], [], [], []
    reconstruct(mel, cfg, progress=False, pieces=1)  # compiles the whole shape
    for _ in range(reps):
        t0 = time.perf_counter()
        librosa.feature.inverse.mel_to_audio(mel_lin, **kw)
        lib_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = reconstruct(mel, cfg, progress=False)
        mr_times.append(time.perf_counter() - t0)
        loops.append(out.seconds)
        t0 = time.perf_counter()
        reconstruct(mel, cfg, progress=False, pieces=1)
        one_times.append(time.perf_counter() - t0)
    return dict(kind="default", preset=preset, clip_s=seconds, method=out.method,
                n_iter="+".join(str(st["n_iter"]) for st in out.settings["stages"]), librosa_s=min(lib_times),
                melrecon_s=min(mr_times), loop_s=loops[mr_times.index(min(mr_times))], first_wall_s=first_wall,
                compile_s=first.compile_seconds,
                ratio=min(lib_times) / min(mr_times), librosa_all_s=lib_times, melrecon_all_s=mr_times,
                pieces=len(out.settings.get("pieces", [0])), one_piece_s=min(one_times), one_piece_all_s=one_times,
                one_piece_ratio=min(lib_times) / min(one_times))


def case_cli(reps: int = 2) -> dict:
    """``melrecon invert`` of the bundled 3.2 s sample, wall time of whole processes: with a fresh
    compilation cache (first run, then runs that load it), and with the cache off."""
    import soundfile as sf

    from melrecon.apps.examples import example

    wav = example("speech")
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as tmp:
        def run(cache):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "melrecon", "invert", str(wav), f"{tmp}/out.wav", "--quiet",
                            "--cache-dir", cache], env=env, check=True, capture_output=True)
            return time.perf_counter() - t0

        cache = f"{tmp}/cache"
        first = run(cache)
        second = [run(cache) for _ in range(reps)]
        off = [run("off") for _ in range(reps)]
        files = sum(1 for _ in Path(cache).iterdir())
    return dict(kind="cli", clip_s=round(sf.info(str(wav)).duration, 2), first_s=first, second_s=min(second),
                off_s=min(off), second_all_s=second, off_all_s=off, cache_files=files)


def case_gd(preset: str, seconds: float, method: str, n_iter: int) -> dict:
    from melrecon import MelConfig, reconstruct

    cfg = MelConfig.preset(preset)
    mel = _mel(_signal(seconds, cfg.sample_rate), cfg)
    _peak_reset()
    t0 = time.perf_counter()
    first = reconstruct(mel, cfg, method=method, n_iter=n_iter, progress=False)
    first_wall = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm = reconstruct(mel, cfg, method=method, n_iter=n_iter, progress=False)
    warm_wall = time.perf_counter() - t0
    done = warm.n_iterations  # a line search may stop early (non-finite step): count what ran
    return dict(kind="gd", preset=preset, clip_s=seconds, method=method, n_iter=n_iter, done_iter=done,
                stop_reason=warm.stop_reason, melrecon_s=warm.seconds, melrecon_wall_s=warm_wall,
                compile_s=first.compile_seconds, first_call_overhead_s=first_wall - warm_wall,
                melrecon_peak_mb=_peak_mb(), melrecon_tput=seconds * done / warm.seconds,
                steps_per_s=done / warm.seconds)


def case_pipeline(preset: str, seconds: float, gl_iters: int, gd_iters: int) -> dict:
    import numpy as np

    from melrecon import MelConfig, reconstruct

    cfg = MelConfig.preset(preset)
    mel = _mel(_signal(seconds, cfg.sample_rate), cfg)
    _peak_reset()
    t0 = time.perf_counter()
    res = reconstruct(mel, cfg, method="gl+gd", gl_iters=gl_iters, gd_iters=gd_iters, progress=False)
    wall = time.perf_counter() - t0
    return dict(kind="pipeline", preset=preset, clip_s=seconds, method="gl+gd", n_iter=gl_iters + gd_iters,
                gl_iters=gl_iters, gd_iters=gd_iters, wall_s=wall, melrecon_s=res.seconds,
                compile_s=res.compile_seconds, melrecon_peak_mb=_peak_mb(), mel_sc=float(np.mean(res.mel_sc)),
                completed=res.stop_reason is None and res.n_iterations == gl_iters + gd_iters,
                samples=int(res.audio.shape[-1]))


def case_batch(preset: str, n_clips: int, method: str, n_iter) -> dict:
    import numpy as np

    from melrecon import MelConfig, reconstruct

    cfg = MelConfig.preset(preset)
    rng = np.random.default_rng(0)
    lengths = rng.uniform(1.0, 5.0, n_clips)
    source = _signal(float(lengths.sum()) + 1.0, cfg.sample_rate)
    mels, start = [], 0
    for s in lengths:
        n = int(s * cfg.sample_rate)
        mels.append(_mel(source[start:start + n], cfg))
        start += n
    audio_s = float(sum(cfg.n_samples(m.shape[-1]) for m in mels) / cfg.sample_rate)
    total_iter = sum(n_iter) if isinstance(n_iter, list) else n_iter

    t0 = time.perf_counter()
    batch = reconstruct(mels, cfg, method=method, n_iter=n_iter, progress=False)
    batch_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    reconstruct(mels, cfg, method=method, n_iter=n_iter, progress=False)
    batch_warm = time.perf_counter() - t0

    t0 = time.perf_counter()
    for m in mels:
        reconstruct(m, cfg, method=method, n_iter=n_iter, progress=False)
    single_first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for m in mels:
        reconstruct(m, cfg, method=method, n_iter=n_iter, progress=False)
    single_warm = time.perf_counter() - t0
    buckets = sorted({(r.settings["batch"]["padded_frames"], r.settings["batch"]["size"]) for r in batch})
    work = audio_s * total_iter
    return dict(kind="batch", preset=preset, clips=n_clips, method=method, n_iter=total_iter, audio_s=audio_s,
                buckets=[list(b) for b in buckets], batch_first_s=batch_first, batch_warm_s=batch_warm,
                single_first_s=single_first, single_warm_s=single_warm,
                batch_tput_warm=work / batch_warm, single_tput_warm=work / single_warm,
                speedup_warm=single_warm / batch_warm, speedup_first=single_first / batch_first)


def case_folder(n_files: int, method: str, n_iter: int) -> dict:
    import numpy as np
    import soundfile as sf

    from melrecon.apps.batch import invert_folder

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        source = _signal(6.0 * n_files, 22050)
        rng = np.random.default_rng(1)
        start, audio_s = 0, 0.0
        for i in range(n_files):
            n = int(rng.uniform(1.0, 5.0) * 22050)
            sf.write(src / f"utt{i:03d}.wav", source[start:start + n], 22050)
            start += n
            audio_s += n / 22050
        t0 = time.perf_counter()
        summary = invert_folder(src, dst, "hifigan", method=method, n_iter=n_iter, progress=False)
        wall = time.perf_counter() - t0
        ok = all(sf.info(str(p)).frames > 0 for p in dst.glob("*.wav"))
        return dict(kind="folder", files=n_files, method=method, n_iter=n_iter, audio_s=audio_s, wall_s=wall,
                    written=len(summary.written), failed=len(summary.failed), readable=ok,
                    compile_s=summary.compile_seconds, buckets=len({b["padded_frames"] for b in summary.buckets}))


CASES = {"default": case_default, "cli": case_cli, "gl": case_gl, "gd": case_gd, "pipeline": case_pipeline,
         "batch": case_batch, "folder": case_folder}


# ---------------------------------------------------------------------------------------------- driver
RATIO_CASES = [dict(case="default", preset="hifigan", seconds=10),
               dict(case="gl", preset="hifigan", seconds=10, n_iter=200),
               dict(case="gl", preset="hifigan", seconds=60, n_iter=200),
               dict(case="cli")]


def plan(quick: bool) -> list[dict]:
    clips = [(1, 100), (10, 50)] if quick else [(1, 100), (10, 50), (60, 20), (600, 5)]
    gd_iters = {1: 50, 10: 20, 60: 10, 600: 3}
    cases = list(RATIO_CASES)
    for preset in ("hifigan", "seed"):
        for seconds, n_iter in clips:
            cases.append(dict(case="gl", preset=preset, seconds=seconds, n_iter=n_iter))
        for seconds, _ in clips:
            for method in ("gd", "lbfgs"):
                cases.append(dict(case="gd", preset=preset, seconds=seconds, method=method,
                                  n_iter=gd_iters[seconds]))
    cases.append(dict(case="batch", preset="hifigan", n_clips=32, method="fgla", n_iter=100))
    cases.append(dict(case="batch", preset="hifigan", n_clips=32, method="gl+gd", n_iter=[50, 50]))
    if not quick:
        cases.append(dict(case="pipeline", preset="hifigan", seconds=600, gl_iters=10, gd_iters=10))
        cases.append(dict(case="folder", n_files=50, method="gl+gd", n_iter=[100, 100]))
    return cases


def run_case(spec: dict) -> dict:
    spec = dict(spec)
    fn = CASES[spec.pop("case")]
    return fn(**spec)


def _fmt(v, f):
    return "–" if v is None else format(v, f)


def markdown(rows: list[dict], meta: dict) -> str:
    out = [f"# melrecon speed\n\n{meta['machine']}; {meta['cpus']} CPUs usable; jax {meta['jax']} "
           f"({meta['backend']}), librosa {meta['librosa']}; load before: `{meta['load_before']}`, after: "
           f"`{meta['load_after']}`.\n\nThroughput = audio seconds x iterations per second (higher is better).\n"]
    out.extend(_ratio_lines(rows))
    gl = [r for r in rows if r.get("kind") == "gl"]
    if gl:
        out.append("## Fast Griffin-Lim (momentum 0.99) vs librosa.griffinlim\n")
        out.append("| preset | clip | iterations | librosa tput | melrecon tput | ratio | melrecon ms/it | "
                   "compile (s) | first-call overhead (s) | peak MB librosa | peak MB melrecon |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in gl:
            out.append(f"| {r['preset']} | {r['clip_s']} s | {r['n_iter']} | {r['librosa_tput']:.0f} | "
                       f"{r['melrecon_tput']:.0f} | **{r['ratio']:.2f}x** | "
                       f"{1e3 * r['melrecon_s'] / r['n_iter']:.1f} | "
                       f"{r['compile_s']:.2f} | {r['first_call_overhead_s']:.2f} | {r['librosa_peak_mb']:.0f} | "
                       f"{r['melrecon_peak_mb']:.0f} |")
    gd = [r for r in rows if r.get("kind") == "gd"]
    if gd:
        out.append("\n## Gradient descent step rates\n")
        out.append("| preset | clip | method | iterations (done) | steps/s | tput | compile (s) | "
                   "first-call overhead (s) | peak MB |")
        out.append("|---|---|---|---|---|---|---|---|---|")
        for r in gd:
            out.append(f"| {r['preset']} | {r['clip_s']} s | {r['method']} | {r['n_iter']} ({r['done_iter']}) | "
                       f"{r['steps_per_s']:.2f} | "
                       f"{r['melrecon_tput']:.0f} | {r['compile_s']:.2f} | {r['first_call_overhead_s']:.2f} | "
                       f"{r['melrecon_peak_mb']:.0f} |")
    pipe = [r for r in rows if r.get("kind") == "pipeline"]
    if pipe:
        out.append("\n## Long clip through the default pipeline\n")
        out.append("| preset | clip | method | iterations | completed | wall (s) | loop (s) | compile (s) | peak MB | "
                   "Mel SC |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in pipe:
            out.append(f"| {r['preset']} | {r['clip_s']} s | gl+gd | {r['gl_iters']}+{r['gd_iters']} | "
                       f"{r['completed']} | {r['wall_s']:.1f} | {r['melrecon_s']:.1f} | {r['compile_s']:.1f} | "
                       f"{r['melrecon_peak_mb']:.0f} | {r['mel_sc']:.3f} |")
    bat = [r for r in rows if r.get("kind") == "batch"]
    if bat:
        out.append("\n## Padded batches vs one by one (32 clips of 1-5 s)\n")
        out.append("| preset | method | iterations | audio (s) | buckets (frames, batch) | one by one warm (s) | "
                   "batched warm (s) | speed-up warm | one by one incl. compile (s) | batched incl. compile (s) | "
                   "speed-up incl. compile |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in bat:
            b = ", ".join(f"{p}x{s}" for p, s in r["buckets"])
            out.append(f"| {r['preset']} | {r['method']} | {r['n_iter']} | {r['audio_s']:.1f} | {b} | "
                       f"{r['single_warm_s']:.1f} | {r['batch_warm_s']:.1f} | **{r['speedup_warm']:.2f}x** | "
                       f"{r['single_first_s']:.1f} | {r['batch_first_s']:.1f} | {r['speedup_first']:.2f}x |")
    fol = [r for r in rows if r.get("kind") == "folder"]
    if fol:
        out.append("\n## `melrecon batch` on a folder\n")
        out.append("| files | audio (s) | method | iterations | written | failed | all readable | buckets | wall (s) | "
                   "compile (s) |")
        out.append("|---|---|---|---|---|---|---|---|---|---|")
        for r in fol:
            out.append(f"| {r['files']} | {r['audio_s']:.0f} | {r['method']} | {'+'.join(map(str, r['n_iter']))} | "
                       f"{r['written']} | {r['failed']} | {r['readable']} | {r['buckets']} | {r['wall_s']:.1f} | "
                       f"{r['compile_s']:.1f} |")
    errors = [r for r in rows if "error" in r]
    if errors:
        out.append("\n## Failed cases\n")
        out.extend(f"- `{json.dumps(r['spec'])}`: {r['error']}" for r in errors)
    return "\n".join(out) + "\n"


def _one_piece(r: dict) -> str:
    """How many pieces the run was cut into (melrecon.methods.planner), and the same run in one piece."""
    if "one_piece_s" not in r:
        return ""
    walls = (f"; end to end {r['melrecon_wall_s']:.2f} s vs {r['one_piece_wall_s']:.2f} s in one piece"
             if "one_piece_wall_s" in r else "")
    return f" ({r['pieces']} piece(s); in one piece {r['one_piece_s']:.2f} s, {r['one_piece_ratio']:.2f}x{walls})"


def _ratio_lines(rows: list[dict]) -> list[str]:
    """The headline ratios (peer and melrecon in the same process, best of alternating repeats)."""
    out = []
    for r in (r for r in rows if r.get("kind") == "default"):
        out.append(f"- **default ({r['method']} {r['n_iter']}) vs librosa `mel_to_audio` (32 iterations)**, "
                   f"{r['preset']} {r['clip_s']} s, warm, end to end: librosa {r['librosa_s']:.2f} s, melrecon "
                   f"{r['melrecon_s']:.2f} s (of which iterations {r['loop_s']:.2f} s): **{r['ratio']:.2f}x**"
                   f"{_one_piece(r)}")
    for r in (r for r in rows if r.get("kind") == "gl" and r["n_iter"] >= 200):
        out.append(f"- **fgla vs `librosa.griffinlim`** ({r['n_iter']} iterations, same magnitude), {r['preset']} "
                   f"{r['clip_s']} s: librosa {r['librosa_s']:.2f} s, melrecon {r['melrecon_s']:.2f} s: "
                   f"**{r['ratio']:.2f}x**{_one_piece(r)}")
    for r in (r for r in rows if r.get("kind") == "cli"):
        out.append(f"- **`melrecon invert`** of a {r['clip_s']} s wav (default method), whole process: first run "
                   f"(empty cache) {r['first_s']:.1f} s, **second run {r['second_s']:.1f} s**, cache off "
                   f"{r['off_s']:.1f} s ({r['cache_files']} cache files)")
    return ["## Headline ratios\n", *out, ""] if out else []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1 s and 10 s clips only, no 600 s or folder rows")
    ap.add_argument("--only", default=None,
                    help="run only cases of this kind (gl, gd, pipeline, batch, folder, default, cli), or 'ratios' "
                         "(the headline ratios: default vs mel_to_audio, fgla vs griffinlim at 10 s and 60 s, "
                         "CLI runs)")
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = ap.parse_args(argv)
    if args.case:
        print("RESULT " + json.dumps(run_case(json.loads(args.case))))
        return 0

    import jax
    import librosa

    cases = plan(args.quick)
    if args.only == "ratios":
        cases = list(RATIO_CASES)
    elif args.only:
        cases = [c for c in cases if c["case"] == args.only]
    meta = dict(machine=f"{platform.machine()} {platform.processor() or ''}".strip(), cpus=len(os.sched_getaffinity(0)),
                jax=jax.__version__, backend=jax.default_backend(), librosa=librosa.__version__,
                load_before=open("/proc/loadavg").read().strip(), command=" ".join(["python"] + sys.argv),
                date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                xla_flags=os.environ.get("XLA_FLAGS", ""))
    rows = []
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("MELRECON_CACHE_DIR", "off")  # compile times are measured cold (the cli case has its own cache)
    for spec in cases:
        label = json.dumps(spec)
        print(f"running {label} ...", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, __file__, "--case", label], capture_output=True, text=True, env=env,
                              cwd=REPO)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            rows.append(dict(spec=spec, error=(proc.stderr.strip().splitlines() or ["no output"])[-1]))
            print(f"  FAILED: {rows[-1]['error']}", flush=True)
            continue
        row = json.loads(lines[-1][len("RESULT "):])
        row["load"] = open("/proc/loadavg").read().split()[0]
        rows.append(row)
        print(f"  done in {time.perf_counter() - t0:.0f} s: "
              + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()), flush=True)
    meta["load_after"] = open("/proc/loadavg").read().strip()
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    from melrecon.io import atomic_path

    with atomic_path(OUT / "speed.json") as tmp:
        tmp.write_text(json.dumps(dict(meta=meta, rows=rows), indent=2))
    with atomic_path(OUT / "speed.md") as tmp:
        tmp.write_text(markdown(rows, meta))
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
