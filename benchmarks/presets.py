"""Toolkit presets end to end: each toolkit's stored mel of a recording the repository does not contain,
inverted through ``melrecon invert MEL.npy OUT.wav --preset NAME``, against the same mel inverted in Python
with a hand-written :class:`melrecon.MelConfig` of the same settings.

For every preset: resample the recording to the preset's rate, compute the mel the toolkit stores
(:func:`melrecon.io.conventions.toolkit_mel`: its compression, normalisation and layout), save it as .npy, run
the command line on it, and measure the output: sample rate, length against the source (must be within
one hop), wide-band PESQ against the source. The "custom" column inverts the same mel with a config
written out field by field (what a user had to do before the presets), same method and iterations.

Usage::

    nice python benchmarks/presets.py                    # ../shared/audio/seed_arctic_raw_16k.wav
    nice python benchmarks/presets.py --audio my.wav --presets vocos,espnet --iters 100

Prints a Markdown table (and writes it to ``results/presets.md``).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import melrecon  # noqa: E402
from melrecon import PRESETS, io  # noqa: E402
from melrecon.apps import metrics  # noqa: E402
from melrecon.apps.cli import main as cli  # noqa: E402
from melrecon.apps.plotting import metrics_table  # noqa: E402
from melrecon.io.conventions import prepare, toolkit_mel  # noqa: E402

COLUMNS = [("preset", "preset", "s"), ("sr", "sr (Hz)", "s"), ("stored", "stored shape", "s"),
           ("pesq_cli", "PESQ-wb (CLI --preset)", ".2f"), ("pesq_custom", "PESQ-wb (custom MelConfig)", ".2f"),
           ("length", "length - source", "s"), ("hop", "hop", "s"), ("seconds", "CLI seconds", ".1f")]


def custom_config(cfg: melrecon.MelConfig) -> melrecon.MelConfig:
    """The preset written out by hand, field by field, as a user would before presets existed."""
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name not in ("name", "source")}
    return melrecon.MelConfig(**fields, name="custom")


def run(audio_path: Path, names: list[str], n_iter: int | None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            cfg = PRESETS[name]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resampling notice
                src, _ = io.load_audio(audio_path, sample_rate=cfg.sample_rate)
            stored = toolkit_mel(src, cfg)
            mel_path, out = Path(tmp) / f"{name}.npy", Path(tmp) / f"{name}.wav"
            np.save(mel_path, stored)
            t0 = time.perf_counter()
            flags = [] if n_iter is None else ["--n-iter", str(n_iter)]
            code = cli(["invert", str(mel_path), str(out), "--preset", name, "--quiet", *flags])
            seconds = time.perf_counter() - t0
            if code != 0:
                raise SystemExit(f"melrecon invert failed for {name} (exit {code})")
            y, sr = io.load_audio(out)
            custom = custom_config(cfg)
            res = melrecon.reconstruct(prepare(stored, custom), custom, n_iter=n_iter, progress=False)
            rows.append(dict(preset=name, sr=str(sr), stored=str(tuple(stored.shape)),
                             pesq_cli=metrics.pesq_wb(src, y, sr), pesq_custom=metrics.pesq_wb(src, res.audio, sr),
                             length=f"{len(y) - len(src):+d}", hop=str(cfg.hop_length), seconds=seconds))
            print(f"{name}: done", file=sys.stderr, flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--audio", default=str(REPO.parent / "shared" / "audio" / "seed_arctic_raw_16k.wav"))
    ap.add_argument("--presets", default=",".join(n for n, c in PRESETS.items()))
    ap.add_argument("--iters", type=int, default=None, help="iterations per stage (default: the method's own)")
    args = ap.parse_args()
    names = [n.strip() for n in args.presets.split(",") if n.strip()]
    if not Path(args.audio).exists():
        raise SystemExit(f"{args.audio} is absent; pass --audio FILE")
    rows = run(Path(args.audio), names, args.iters)
    table = metrics_table(rows, COLUMNS)
    load = os.getloadavg()
    report = (f"Recording: `{Path(args.audio).name}`; method {melrecon.DEFAULT_METHODS['analysis']} "
              f"({'its own schedule' if args.iters is None else f'{args.iters} iterations per stage'}); "
              f"load average {load[0]:.1f} / {load[1]:.1f} on {os.cpu_count()} CPUs.\n\n{table}\n")
    print(report)
    out = REPO / "results" / "presets.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(report)


if __name__ == "__main__":
    main()
