"""Streaming benchmark: the latency / quality curve of :class:`melrecon.stream.Streamer` and its cost.

1. Quality against latency: every speech clip of the quality benchmark (the bundled sample, the development
   set's speech clips, the ARCTIC recording when ``../shared/audio`` has it) at the ``hifigan`` preset is
   streamed with look-ahead 0, 1, 2, 4 and 8 frames; wide-band PESQ, STOI and Mel SC against the original,
   with the offline default (``melrecon.reconstruct(mel, cfg)``) as the reference row.
2. Cost: a 10 s mel (the bundled sample, repeated) pushed one frame at a time, against the offline default
   on the same mel, in the same process, both after a first (compiling) run; alternating, best of 3 each
   (``--cost-only``: this part alone).

Usage::

    python benchmarks/stream.py                 # all speech clips (~10 min on 2 busy CPU cores)
    python benchmarks/stream.py --quick         # 6 clips, no offline row per clip
    python benchmarks/stream.py --iters 16 --lookaheads 2,4

Prints markdown tables (the curve, then the cost) with the load average; writes results/stream/stream.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from melrecon import MelConfig, mel_spectrogram, reconstruct  # noqa: E402
from melrecon.apps.examples import example  # noqa: E402
from melrecon.apps.metrics import evaluate  # noqa: E402
from melrecon.io import load_audio  # noqa: E402
from melrecon.methods.resolve import streaming_iters  # noqa: E402
from melrecon.stream import Streamer  # noqa: E402

SEED_CLIP = REPO.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"


def speech_clips(quick: bool) -> list[Path]:
    devset = REPO / "samples" / "devset"
    if not any(devset.glob("speech*.wav")):
        print("rendering the development set's speech (samples/make_samples.py) ...", flush=True)
        subprocess.run([sys.executable, str(REPO / "samples" / "make_samples.py"), "--only", "speech", "--only",
                        "varied"], check=True)
    clips = [example("speech"), *sorted(devset.glob("speech*.wav"))]
    if SEED_CLIP.exists():
        clips.append(SEED_CLIP)
    return clips[:6] if quick else clips


def load(path: Path, cfg: MelConfig) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the resampling notice
        x, _ = load_audio(path, sample_rate=cfg.sample_rate)
    x = np.asarray(x, np.float32)
    return x, np.asarray(mel_spectrogram(x, cfg))


def streamed(streamer: Streamer, mel: np.ndarray) -> np.ndarray:
    """All frames in one push (the same samples as any other chunking), then the tail."""
    return np.concatenate([streamer.push(mel), streamer.flush()])


def curve(clips, cfg: MelConfig, lookaheads, iters: int, offline: bool) -> list[str]:
    data = [load(c, cfg) for c in clips]
    rows = []
    for lookahead in lookaheads:
        s = Streamer(cfg, lookahead, iters=iters)
        scores = [evaluate(x, streamed(s, mel), cfg) for x, mel in data]
        rows.append((f"stream, look-ahead {lookahead}", f"{1000 * s.latency_seconds:.0f}", scores))
        print(f"  look-ahead {lookahead}: PESQ-wb {np.mean([r['pesq'] for r in scores]):.3f}", flush=True)
    if offline:
        scores = [evaluate(x, reconstruct(mel, cfg, progress=False).audio, cfg) for x, mel in data]
        rows.append(("offline default (whole mel)", "–", scores))
    out = ["| inversion | latency (ms) | PESQ-wb mean | PESQ-wb min | STOI | Mel SC |", "|---|---|---|---|---|---|"]
    for label, latency, scores in rows:
        col = lambda k: np.array([r[k] for r in scores])  # noqa: E731
        out.append(f"| {label} | {latency} | {col('pesq').mean():.2f} | {col('pesq').min():.2f} | "
                   f"{col('stoi').mean():.3f} | {col('mel_sc').mean():.4f} |")
    return out


def cost(cfg: MelConfig, lookahead: int, iters: int, seconds: float = 10.0, repeats: int = 3) -> list[str]:
    x, _ = load(example("speech"), cfg)
    x = np.tile(x, int(np.ceil(seconds * cfg.sample_rate / len(x))))[: int(seconds * cfg.sample_rate)]
    mel = np.asarray(mel_spectrogram(x, cfg))
    s = Streamer(cfg, lookahead, iters=iters)
    streamed(s, mel[:, :20])  # compiles the step
    reconstruct(mel, cfg, progress=False)  # compiles
    t_stream = t_offline = np.inf
    for _ in range(repeats):  # alternating, the best of each (robust to other load on the machine)
        t0 = time.perf_counter()
        parts = [s.push(mel[:, t:t + 1]) for t in range(mel.shape[1])]
        audio = np.concatenate([*parts, s.flush()])
        t_stream = min(t_stream, time.perf_counter() - t0)
        t0 = time.perf_counter()
        offline = reconstruct(mel, cfg, progress=False)
        t_offline = min(t_offline, time.perf_counter() - t0)
    pesq_s, pesq_o = evaluate(x, audio, cfg)["pesq"], evaluate(x, offline.audio, cfg)["pesq"]
    per_frame = 1000 * t_stream / mel.shape[1]
    return [f"| {seconds:g} s mel, {mel.shape[1]} frames | wall seconds | ms per frame | PESQ-wb |",
            "|---|---|---|---|",
            f"| stream, look-ahead {lookahead}, {iters} iterations, 1 frame per push | {t_stream:.2f} | "
            f"{per_frame:.2f} (a hop lasts {1000 * cfg.hop_length / cfg.sample_rate:.1f}) | {pesq_s:.2f} |",
            f"| offline default, reconstruct(mel, cfg) | {t_offline:.2f} | – | {pesq_o:.2f} |",
            "", f"stream / offline time: {t_stream / t_offline:.2f}"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="6 clips and no offline row per clip")
    ap.add_argument("--preset", default="hifigan")
    ap.add_argument("--iters", type=int, default=streaming_iters(None, None), help="iterations per frame "
                    "(default: the default effort's)")
    ap.add_argument("--lookaheads", default="0,1,2,4,8")
    ap.add_argument("--cost-lookahead", type=int, default=4)
    ap.add_argument("--no-cost", action="store_true")
    ap.add_argument("--cost-only", action="store_true", help="only the cost: 10 s pushed frame by frame vs offline")
    args = ap.parse_args(argv)
    cfg = MelConfig.preset(args.preset)
    clips = speech_clips(args.quick)
    load_start = os.getloadavg()[0]
    print(f"{len(clips)} speech clips at {cfg.name}, {args.iters} iterations per frame; load average {load_start:.1f}",
          flush=True)
    lines = [] if args.cost_only else curve(clips, cfg, [int(v) for v in args.lookaheads.split(",")], args.iters,
                                            offline=not args.quick)
    if not args.no_cost:
        lines += [""] + cost(cfg, args.cost_lookahead, args.iters)
    lines += ["", f"load average {load_start:.1f} at start, {os.getloadavg()[0]:.1f} at the end; "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]
    text = "\n".join(lines)
    print(text)
    out = REPO / "results" / "stream"
    out.mkdir(parents=True, exist_ok=True)
    (out / "stream.md").write_text(f"`python benchmarks/stream.py {' '.join(argv or sys.argv[1:])}`\n\n{text}\n")


if __name__ == "__main__":
    main()
