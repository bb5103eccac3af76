"""``melrecon demo``: GL, GL + GD and the default method on the bundled sample (or a file) at a few presets; wavs,
figures and a metrics table."""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from ... import io
from ...core.config import PRESETS, ParameterError, get_config
from ...core.transforms import mel_spectrogram
from ...methods.options import parse_iters
from ...methods.resolve import default_method, resolve
from ...reconstruct import reconstruct
from .. import metrics
from ..examples import example
from ..plotting import comparison_figure, metrics_table
from .common import hold_signals, interrupted_status, refuse_replaced

__all__ = ["cmd_demo", "DEMO_COLUMNS"]


DEMO_COLUMNS = [
    ("preset", "preset", "s"), ("method", "method", "s"), ("iters", "iterations", "s"),
    ("mel_sc", "Mel SC", ".4f"), ("sc", "SC", ".4f"), ("lsd", "LSD (dB)", ".2f"), ("mel_db", "Mel dist (dB)", ".2f"),
    ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f"), ("seconds", "seconds", ".1f"),
]


def _demo_runs(args) -> list[tuple[str, str | None, dict]]:
    """The demo's rows: (label, method, keywords of ``reconstruct``), counts parsed as invert parses --iters; the
    default row asks the resolver, as for any audio input (melrecon analyses it)."""

    refuse_replaced(args)
    gl, gd = parse_iters(args.iters, "gl+gd")
    default = resolve(source="analysis")
    counts = args.default_iters
    if counts is not None and "," not in str(counts):  # one count for every stage
        counts = ",".join([str(counts).strip()] * len(default.counts))
    return [("GL", "fgla", dict(n_iter=gl)), ("GL+GD", "gl+gd", dict(n_iter=[gl, gd])),
            ("default", None, dict(source="analysis",
                                   n_iter=parse_iters(counts, default.method, flag="--default-iters")))]


def _demo_presets(text: str) -> list[str]:
    """The presets of ``--presets`` (unknown names fail now, not after the first preset's runs)."""
    presets = [p.strip() for p in text.split(",") if p.strip()]
    if not presets:
        raise ParameterError(f"--presets {text!r} names no preset; e.g. --presets seed,hifigan.")
    for name in presets:
        try:
            get_config(name)
        except ParameterError:
            raise ParameterError(f"--presets {text!r}: {name!r} is not a preset; choose from {sorted(PRESETS)} "
                                 f"(melrecon presets lists them).") from None
    return presets


def cmd_demo(args) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {str(out)!r} is a file; give a folder.")
    presets = _demo_presets(args.presets)
    if args.input is None:
        args.input = str(example("speech"))
    src = io.existing_file(args.input, "--input")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(
            f"--out {str(out)!r} could not be created ({exc.strerror}); choose another folder.") from None
    io.check_output_path(out / "metrics.md", probe=True)
    runs = _demo_runs(args)
    rows = []
    written: list[str] = []
    interrupted = False
    try:
        for name in presets:
            cfg = get_config(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resampling notice: expected here
                audio, _ = io.load_audio(src, sample_rate=cfg.sample_rate)
            mel = np.asarray(mel_spectrogram(audio, cfg))
            results = {}
            for label, method, kw in runs:
                t0 = time.perf_counter()
                res = reconstruct(mel, cfg, method=method, seed=args.seed, progress=not args.quiet, **kw)
                wall = time.perf_counter() - t0
                results[label] = res
                with hold_signals() as held:
                    # 32-bit float: a reconstruction may peak slightly above the original; keep it unclipped
                    wav = io.save_audio(out / f"{name}_{label.lower().replace('+', '_')}.wav", res.audio,
                                        cfg.sample_rate, subtype="FLOAT")
                written.append(wav.name)
                m = metrics.evaluate(audio, res.audio, cfg)
                iters = "+".join(str(e - s) for _, s, e in res.stage_spans)
                rows.append(dict(preset=name, method=label, iters=iters, seconds=wall, **m))
                if res.interrupted or held:
                    raise KeyboardInterrupt
            fig = comparison_figure(audio, results, cfg)
            fig.suptitle(f"{Path(args.input).name} — preset {name}")
            with hold_signals() as held, io.atomic_path(out / f"{name}.png") as tmp:
                fig.savefig(tmp, dpi=110, format="png")
            written.append(f"{name}.png")

            plt.close(fig)
            if held:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        print("melrecon: interrupted; writing the results so far.", file=sys.stderr)
    table = metrics_table(rows, DEMO_COLUMNS)
    report = (f"# melrecon demo\n\nInput: `{Path(args.input).name}`; GL = fast Griffin-Lim (momentum 0.99), "
              f"GL+GD = the same GL then Adam on the STFT (consistency + Mel error), default = melrecon's "
              f"default method for audio it analysed (`{default_method('analysis')}`). Metrics against the input "
              f"audio; Mel SC = Mel spectral convergence.\n\n{table}\n")
    with hold_signals() as held:
        with io.atomic_path(out / "metrics.md") as tmp:
            tmp.write_text(report)
        with io.atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(rows, indent=2))
    print(table)
    print(f"\nwrote {out}/ ({', '.join(written + ['metrics.md', 'metrics.json'])})")
    return interrupted_status() if interrupted or held else 0
