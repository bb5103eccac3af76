"""Start-up benchmark (issue 27): where the first call's time goes, per entry point, in fresh processes.

    python benchmarks/startup.py             # every row, an empty and a warm compile cache (~2-4 min on 2 cores)
    python benchmarks/startup.py --json F    # also write the rows to F
    python scripts/docs_tables.py --startup F  # docs/speed.md's start-up table from them

Each row is one fresh Python process (``sys.executable -c ...``) with its own ``MELRECON_CACHE_DIR``: "empty"
is a new folder, "warm" the folder an identical earlier process filled. Inside the process JAX's monitoring
events split the call (``jax.monitoring``: ``/jax/core/compile/jaxpr_trace_duration`` and
``jaxpr_to_mlir_module_duration`` = tracing and lowering, ``backend_compile_duration`` = XLA's compilation or
the persistent cache's load, one event per program; ``/jax/compilation_cache/cache_hits`` / ``cache_misses``):

* process = the whole process, measured by the parent (interpreter start and exit included);
* import = ``import melrecon`` (JAX included; for the CLI: ``melrecon.apps.cli``);
* I/O = reading and writing audio, and the input mel (its own compilations are counted under programs);
* trace / compile-or-load = the call's tracing + lowering, and its XLA compilations or cache loads;
* iterations = ``Reconstruction.seconds`` where the entry point returns one (the loop itself);
* programs = the distinct XLA programs the call compiled or loaded (hits + misses of the persistent cache).

The targets are issue 27's (2-core machine): the table prints them next to the measured values, with the load.
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
SPEECH = REPO / "melrecon" / "data" / "speech.wav"  # the bundled 3.2 s sample (22.05 kHz)

#: Runs first in every child: a clock, JAX's monitoring listeners, and ``mark(name)`` to close a phase.
PRELUDE = r"""
import time
T0 = time.perf_counter()
import collections, json, sys
_t = [T0]
PHASES, SNAP = {}, {}
def mark(name):
    now = time.perf_counter()
    PHASES[name] = PHASES.get(name, 0.0) + now - _t[0]
    _t[0] = now
DUR, CNT = collections.Counter(), collections.Counter()
def _listen():
    import jax
    jax.monitoring.register_event_duration_secs_listener(lambda n, s, **kw: (DUR.update({n: s}), CNT.update([n])))
    jax.monitoring.register_event_listener(lambda n, **kw: CNT.update([n]))
def snap():
    return dict(DUR), dict(CNT)
def done(extra=None):
    print("STARTUP " + json.dumps(dict(phases=PHASES, dur=dict(DUR), cnt=dict(CNT), snap=SNAP, extra=extra or {})))
"""

CLI = PRELUDE + r"""
from melrecon.apps import cli
_listen()
mark("import")
code = cli.main(sys.argv[1:])
mark("call")
done({"code": code})
"""

#: The 10 s test mel both mel_to_audio cases invert: a vibrato tone's librosa melspectrogram at its defaults.
LIBROSA_MEL = r"""
sr = 22050
t = np.arange(10 * sr) / sr
y = (0.3 * np.sin(2 * np.pi * (220 + 60 * np.sin(2 * np.pi * 0.5 * t)) * t)).astype(np.float32)
M = librosa.feature.melspectrogram(y=y, sr=sr)
"""

# melrecon.mel_to_audio at librosa's defaults (sr 22050, n_fft 2048, hop 512, 128 mels, power 2) on 10 s.
M2A = PRELUDE + r"""
import numpy as np
import melrecon
_listen()
mark("import")
import librosa
""" + LIBROSA_MEL + r"""mark("io")
SNAP["before"] = snap()
x = melrecon.mel_to_audio(M, sr=sr)
mark("call")
done({"samples": int(x.shape[-1])})
"""

LIBROSA_M2A = PRELUDE + r"""
import numpy as np
import librosa
mark("import")
""" + LIBROSA_MEL + r"""mark("io")
x = librosa.feature.inverse.mel_to_audio(M, sr=sr)
mark("call")
done({"samples": int(x.shape[-1])})
"""

# What `melrecon invert` does, with librosa: load, mel, mel_to_audio (32 iterations), write.
LIBROSA_SCRIPT = PRELUDE + r"""
import librosa, soundfile as sf
mark("import")
y, sr = sf.read(sys.argv[1], dtype="float32")
M = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, fmax=8000)
mark("io")
x = librosa.feature.inverse.mel_to_audio(M, sr=sr, n_fft=1024, hop_length=256, win_length=1024, fmax=8000)
mark("call")
sf.write(sys.argv[2], x, sr)
mark("io")
done()
"""

RECONSTRUCT = PRELUDE + r"""
import soundfile as sf
import melrecon
_listen()
mark("import")
y, sr = sf.read(sys.argv[1], dtype="float32")
mel = melrecon.mel_spectrogram(y, "hifigan")
mark("io")
SNAP["before"] = snap()
out = melrecon.reconstruct(mel, "hifigan", progress=False)
mark("call")
done({"iterations_s": out.seconds})
"""

# Streamer at the default level: the sample's mel pushed 8 frames at a time, then flushed.
STREAMER = PRELUDE + r"""
import numpy as np, soundfile as sf
import melrecon
_listen()
mark("import")
y, sr = sf.read(sys.argv[1], dtype="float32")
mel = np.asarray(melrecon.mel_spectrogram(y, "hifigan"))
mark("io")
SNAP["before"] = snap()
s = melrecon.Streamer("hifigan")
parts = [s.push(mel[:, i:i + 8]) for i in range(0, mel.shape[1], 8)] + [s.flush()]
mark("call")
done({"samples": int(sum(len(p) for p in parts))})
"""

TRACE = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration")
COMPILE = "/jax/core/compile/backend_compile_duration"
HITS, MISSES = "/jax/compilation_cache/cache_hits", "/jax/compilation_cache/cache_misses"


def _child(code: str, args: list[str], cache: str) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
               MELRECON_CACHE_DIR=cache)
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.startswith("STARTUP ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child failed ({proc.returncode}): {proc.stderr[-2000:]}")
    rec = json.loads(lines[-1][len("STARTUP "):])
    before_dur, before_cnt = rec["snap"].get("before", [{}, {}])
    dur = {k: v - before_dur.get(k, 0.0) for k, v in rec["dur"].items()}
    cnt = {k: v - before_cnt.get(k, 0) for k, v in rec["cnt"].items()}
    ph = rec["phases"]
    return dict(process_s=wall, import_s=ph.get("import", 0.0), io_s=ph.get("io", 0.0), call_s=ph.get("call", 0.0),
                trace_s=sum(dur.get(k, 0.0) for k in TRACE), compile_s=dur.get(COMPILE, 0.0),
                programs=cnt.get(COMPILE, 0), hits=cnt.get(HITS, 0), misses=cnt.get(MISSES, 0),
                iterations_s=rec["extra"].get("iterations_s"))


#: The first run after `make setup` (whose warm-up filled the compile cache: melrecon/apps/warmup.py).
SETUP_ROW = "`melrecon invert` 3 s wav, hifigan, first run after `make setup` (its warm-up)"


def rows(tmp: Path) -> list[dict]:
    out_wav = str(tmp / "out.wav")
    cli_args = ["invert", str(SPEECH), out_wav, "--preset", "hifigan", "--quiet"]
    cases = [  # (row, code, args, cache folder name or "off"): "empty" rows run before their "warm" twin
        ("`melrecon invert` 3 s wav, hifigan, empty cache", CLI, cli_args, "cli"),
        (SETUP_ROW, CLI, cli_args, "setup"),
        ("`melrecon invert` 3 s wav, hifigan, warm cache", CLI, cli_args, "cli"),
        ("librosa script: load, mel, mel_to_audio (32 it.), write", LIBROSA_SCRIPT, [str(SPEECH), out_wav], "off"),
        ("`melrecon.mel_to_audio` 10 s, librosa defaults, first call, empty cache", M2A, [], "m2a"),
        ("`melrecon.mel_to_audio` 10 s, librosa defaults, first call, warm cache", M2A, [], "m2a"),
        ("librosa `mel_to_audio` 10 s, first call", LIBROSA_M2A, [], "off"),
        ("`reconstruct` 3 s hifigan default, first call, empty cache", RECONSTRUCT, [str(SPEECH)], "rec"),
        ("`reconstruct` 3 s hifigan default, first call, warm cache", RECONSTRUCT, [str(SPEECH)], "rec"),
        ("`Streamer` 3 s hifigan, 8 frames a push, empty cache", STREAMER, [str(SPEECH)], "stream"),
        ("`Streamer` 3 s hifigan, 8 frames a push, warm cache", STREAMER, [str(SPEECH)], "stream"),
    ]
    out = []
    for row, code, args, cache in cases:
        folder = "off" if cache == "off" else str(tmp / cache)
        if cache == "setup":  # what `make setup` leaves: its warm-up (there 1-10 s; here the sample's bucket)
            env = dict(os.environ, MELRECON_CACHE_DIR=folder,
                       PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
            subprocess.run([sys.executable, "-m", "melrecon.apps.warmup", "--seconds", "3", "3.3"], env=env,
                           check=True, capture_output=True, timeout=900)
        out.append(dict(row=row, **_child(code, args, folder)))
        print(f"  {row}: {out[-1]['process_s']:.2f} s", file=sys.stderr)
    return out


def targets(r: list[dict]) -> list[str]:
    """Issue 27's target for each row, with the measured value it is judged on."""
    cli_cold, cli_setup, cli_warm, script, m_cold, m_warm, lib, *_ = r
    return [
        f"(no warm-up: `make setup WARMUP=0`, or a length or preset it did not warm; librosa script "
        f"{script['process_s']:.2f} s)",
        f"≤ librosa script ({script['process_s']:.2f} s): "
        f"{'met' if cli_setup['process_s'] <= script['process_s'] else 'not met'}",
        f"≤ 2.0 s and ≤ 0.5× script ({0.5 * script['process_s']:.2f} s): "
        f"{'met' if cli_warm['process_s'] <= min(2.0, 0.5 * script['process_s']) else 'not met'}",
        "(the reference)",
        f"≤ 1.5× librosa's first call ({1.5 * lib['call_s']:.2f} s): "
        f"{'met' if m_cold['call_s'] <= 1.5 * lib['call_s'] else 'not met'} (call)",
        f"≤ librosa's first call ({lib['call_s']:.2f} s): {'met' if m_warm['call_s'] <= lib['call_s'] else 'not met'}"
        " (call)",
        "(the reference)", "—", "—", "—", "—",
    ]


def table(r: list[dict], load: str) -> str:
    def f(v):
        return "—" if v is None else f"{v:.2f}"

    lines = [f"load average before / after: {load}", "",
             "| entry point | process (s) | import (s) | I/O (s) | first call (s) | trace (s) | compile or load (s) | "
             "iterations (s) | programs (hits / misses) | issue 27's target |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for x, target in zip(r, targets(r)):
        lines.append(f"| {x['row']} | {f(x['process_s'])} | {f(x['import_s'])} | {f(x['io_s'])} | {f(x['call_s'])} | "
                     f"{f(x['trace_s'])} | {f(x['compile_s'])} | {f(x['iterations_s'])} | "
                     f"{x['programs']} ({x['hits']} / {x['misses']}) | {target} |")
    return "\n".join(lines)


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the rows to this file")
    args = ap.parse_args(argv)
    before = _load()
    with tempfile.TemporaryDirectory() as tmp:
        r = rows(Path(tmp))
    load = f"{before} / {_load()}"
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{date}, {os.cpu_count()} cores, `python benchmarks/startup.py`")
    print(table(r, load))
    if args.json:
        args.json.write_text(json.dumps(dict(date=date, cpus=os.cpu_count(), load=load, rows=r), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
