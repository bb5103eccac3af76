"""Compile once at set-up: the programs a first ``melrecon invert`` of a short file needs, put in the machine's
compile cache (:mod:`melrecon.core.cache`) before the first real call.

    python -m melrecon.apps.warmup                  # what `make setup` runs: hifigan, 1-10 s, wav and .npy inputs
    python -m melrecon.apps.warmup --preset vocos --seconds 2 6

The command line pads a mel to one of a few frame counts (:func:`melrecon.methods.planner.padded_length`), so
the lengths of a range of seconds are a handful of shapes; each is inverted once through the command itself
(``melrecon invert``, in this process, at the default level) from a wav (an analysis mel) and from a ``.npy`` mel
(a mel handed in: the noise-aware method), in a temporary folder. A later ``melrecon invert`` of a file in that
range loads its programs instead of compiling them, all but two (a wav's analysis mel and the output at the
file's own length: programs of the exact sample count, not of the padded length). Content does not matter to a
compiled program: a synthetic harmonic tone stands in for speech.
"""

from __future__ import annotations

import argparse
import contextlib
import io as _io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from ..core.config import MelConfig
from ..core.transforms import mel_spectrogram
from ..methods.planner import padded_length
from .cli import main as cli

__all__ = ["lengths", "warm_up", "main"]

#: What ``make setup`` warms: the command line's default preset, utterances of 1 to 10 s.
SECONDS = (1.0, 10.0)


def lengths(cfg, seconds: tuple[float, float] = SECONDS) -> list[int]:
    """The padded frame counts the command line runs for inputs of ``seconds[0]`` to ``seconds[1]`` seconds."""
    frames_per_second = cfg.sample_rate / cfg.hop_length
    first, last = (max(int(s * frames_per_second), 1) for s in seconds)
    return sorted({padded_length(n) for n in range(first, last + 1)})


def _tone(cfg, frames: int) -> np.ndarray:
    n = cfg.n_samples(frames)
    t = np.arange(n) / cfg.sample_rate
    f0 = 140.0 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / cfg.sample_rate
    x = sum(np.sin(k * phase) / k for k in range(1, 20))
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


def warm_up(preset: str = "hifigan", seconds: tuple[float, float] = SECONDS, kinds=("wav", "npy"),
            say=print) -> list[dict]:
    """Invert one input per padded length and kind through ``melrecon invert``; -> one row per run (frames,
    kind, seconds, exit status)."""
    cfg = MelConfig.preset(preset)
    rows = []
    with tempfile.TemporaryDirectory(prefix="melrecon-warmup-") as tmp:
        for frames in lengths(cfg, seconds):
            audio = _tone(cfg, frames)
            for kind in kinds:
                src = Path(tmp) / f"in{frames}.{kind}"
                if kind == "wav":
                    sf.write(src, audio, cfg.sample_rate, subtype="FLOAT")
                else:
                    np.save(src, np.asarray(mel_spectrogram(audio, cfg)))
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(_io.StringIO()):
                    code = cli(["invert", str(src), str(Path(tmp) / f"out{frames}{kind}.wav"), "--preset", preset,
                                "--quiet"])
                rows.append(dict(frames=frames, kind=kind, seconds=time.perf_counter() - t0, code=code))
                say(f"melrecon warm-up: {preset}, {frames} frames ({frames * cfg.hop_length / cfg.sample_rate:.1f} s),"
                    f" {kind}: {rows[-1]['seconds']:.1f} s")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m melrecon.apps.warmup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="hifigan", help="the preset to warm (default: hifigan)")
    parser.add_argument("--seconds", nargs=2, type=float, default=SECONDS, metavar=("FROM", "TO"),
                        help="the range of input lengths (default: 1 10)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    rows = warm_up(args.preset, tuple(args.seconds), say=lambda line: print(line, file=sys.stderr))
    failed = [r for r in rows if r["code"] != 0]
    print(f"melrecon warm-up: {len(rows)} inversions ({len({r['frames'] for r in rows})} lengths) in "
          f"{time.perf_counter() - t0:.0f} s; programs cached for the next `melrecon invert`", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
