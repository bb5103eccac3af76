"""Scale benchmark: peak memory vs input length, segmented vs whole quality, local vs Ray throughput.

    python benchmarks/scale.py                 # everything (slow on a loaded 2-core machine)
    python benchmarks/scale.py --only memory   # one part: memory, quality, engines
    python benchmarks/scale.py --memory-iters 20 --lengths 10,60,600

* memory: each length runs in its own process: the input audio (real speech, repeated) -> its Mel ->
  ``reconstruct`` with the default method (automatic segmentation), and reports the process's peak
  resident set (VmHWM), which counts XLA's buffers. Peak memory does not grow with the iteration
  count (the state has a fixed size), so these runs may use fewer iterations (``--memory-iters``).
  ``whole`` rows force ``segment_seconds=None`` for comparison.
* quality: a 60 s clip of real speech (the bundled sample and the CMU ARCTIC recording, repeated),
  default method at its default iterations, whole vs 30 s segments; PESQ-wb against the input.
* engines: one folder of short clips through ``invert_folder`` with the local engine and with the
  Ray engine (a local cluster with one worker per core), in the same run; the Ray time is given with
  and without starting the cluster.

Results: printed, and written to results/scale/scale.json with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MEMORY_CASE = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from benchmarks.scale import speech
from melrecon import MelConfig, mel_spectrogram, reconstruct
seconds, iters, mode = float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cfg = MelConfig.preset("hifigan")
x = speech(seconds, cfg.sample_rate)
t0 = time.perf_counter()
mel = np.asarray(mel_spectrogram(x, cfg))
kw = {} if mode == "auto" else {"segment_seconds": None}
out = reconstruct(mel, cfg, n_iter=[iters, iters], progress=False, **kw)
wall = time.perf_counter() - t0
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0]
print(json.dumps({"seconds": seconds, "mode": mode, "iters": iters, "segments": len(out.settings.get("segments", [0])),
                  "peak_rss_mb": hwm / 1024, "wall_s": wall, "mel_sc": float(out.mel_sc)}))
"""


def speech(seconds: float, sample_rate: int):
    """Real speech repeated to ``seconds``: the bundled sample and the CMU ARCTIC clip (when present),
    with 0.3 s pauses, at ``sample_rate``."""
    import numpy as np
    import soundfile as sf
    import soxr

    from melrecon.apps.examples import example

    parts = []
    for path in (example("speech"), REPO.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"):
        if path.exists():
            x, sr = sf.read(str(path), dtype="float32")
            x = soxr.resample(x, sr, sample_rate).astype(np.float32) if sr != sample_rate else x
            parts += [x / max(np.abs(x).max(), 1e-6) * 0.5, np.zeros(int(0.3 * sample_rate), np.float32)]
    one = np.concatenate(parts)
    n = int(seconds * sample_rate)
    return np.tile(one, -(-n // one.size))[:n].copy()


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def memory(lengths, iters):
    rows = []
    for seconds in lengths:
        for mode in (["auto", "whole"] if seconds <= 60 else ["auto"]):
            out = subprocess.run([sys.executable, "-c", MEMORY_CASE, str(REPO), str(seconds), str(iters), mode],
                                 capture_output=True, text=True, env=dict(os.environ, JAX_PLATFORMS="cpu"))
            if out.returncode != 0:
                print(out.stderr[-2000:], file=sys.stderr)
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"memory  {seconds:6.0f} s  {mode:5s}  segments {row['segments']:3d}  peak RSS "
                  f"{row['peak_rss_mb']:7.0f} MB  ({row['wall_s']:.0f} s, {iters}+{iters} iterations, load {load()})",
                  flush=True)
    return rows


def quality(seconds=60.0, segment=30.0):
    import numpy as np
    import soxr
    from pesq import pesq

    from melrecon import MelConfig, mel_spectrogram, reconstruct

    cfg = MelConfig.preset("hifigan")
    x = speech(seconds, cfg.sample_rate)
    mel = np.asarray(mel_spectrogram(x, cfg))
    ref = soxr.resample(x, cfg.sample_rate, 16000)
    rows = {}
    for label, seg in (("whole", None), (f"segments of {segment:.0f} s", segment)):
        t0 = time.perf_counter()
        out = reconstruct(mel, cfg, progress=False, segment_seconds=seg)
        wall = time.perf_counter() - t0
        score = pesq(16000, ref, soxr.resample(out.audio, cfg.sample_rate, 16000), "wb")
        rows[label] = {"pesq_wb": score, "mel_sc": float(out.mel_sc), "wall_s": wall,
                       "segments": len(out.settings.get("segments", [0]))}
        print(f"quality {seconds:.0f} s  {label:18s}  PESQ-wb {score:.3f}  Mel SC {float(out.mel_sc):.4f}  "
              f"({wall:.0f} s, load {load()})", flush=True)
    a, b = rows.values()
    print(f"quality difference (segmented - whole): {b['pesq_wb'] - a['pesq_wb']:+.3f} PESQ-wb", flush=True)
    return rows


def engines(n_files=24, iters=(40, 30)):
    import soundfile as sf

    from melrecon.apps.batch import invert_folder
    from melrecon.apps.batch.engines.ray import ray_init

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        x = speech(n_files * 3.0, 22050)
        for i in range(n_files):  # 2-3 s clips
            n = int((2.0 + (i % 5) * 0.25) * 22050)
            sf.write(src / f"u{i:03d}.wav", x[i * 66150: i * 66150 + n], 22050, subtype="FLOAT")
        kw = dict(method="meladmm+melgl", n_iter=list(iters), progress=False)
        t0 = time.perf_counter()
        s = invert_folder(src, Path(tmp) / "local", **kw)
        rows["local"] = {"wall_s": time.perf_counter() - t0, "audio_s": s.audio_seconds, "load": load()}
        t0 = time.perf_counter()
        import ray

        ray_init()
        started = time.perf_counter()
        s = invert_folder(src, Path(tmp) / "ray", engine="ray", **kw)
        end = time.perf_counter()
        ray.shutdown()
        rows["ray"] = {"wall_s": end - started, "wall_with_start_s": end - t0, "audio_s": s.audio_seconds,
                       "load": load()}
    for name, r in rows.items():
        extra = f", {r['wall_with_start_s']:.0f} s with the cluster's start" if "wall_with_start_s" in r else ""
        print(f"engine  {name:5s}  {r['audio_s']:.0f} s of audio in {r['wall_s']:.0f} s{extra}: "
              f"{r['audio_s'] / r['wall_s']:.2f} audio-s/s (load {r['load']})", flush=True)
    print(f"engine  ray / local throughput: {rows['local']['wall_s'] / rows['ray']['wall_s']:.2f}x", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=("memory", "quality", "engines"), default=None)
    ap.add_argument("--lengths", default="10,60,600", help="seconds, comma-separated (memory part)")
    ap.add_argument("--memory-iters", type=int, default=20, help="iterations per stage in the memory part")
    args = ap.parse_args()
    results = {"load_before": load(), "cpus": os.cpu_count()}
    if args.only in (None, "memory"):
        results["memory"] = memory([float(s) for s in args.lengths.split(",")], args.memory_iters)
    if args.only in (None, "quality"):
        results["quality"] = quality()
    if args.only in (None, "engines"):
        results["engines"] = engines()
    results["load_after"] = load()
    out = REPO / "results" / "scale"
    out.mkdir(parents=True, exist_ok=True)
    (out / "scale.json").write_text(json.dumps(results, indent=2))
    print(f"load average before {results['load_before']}, after {results['load_after']}; wrote {out}/scale.json")


if __name__ == "__main__":
    main()
