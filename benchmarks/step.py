"""Where a step of the default goes: CPU milliseconds per step of each stage of ``meladmm+melgl`` inside the
runner's chunk loop (per-step terms included), and the consistency projection ``P_C`` and the Mel projection
``P_M`` alone, on a 10 s clip.

Usage::

    taskset -c 0 python benchmarks/step.py                   # hifigan and seed presets, this checkout
    taskset -c 0 python benchmarks/step.py --baseline OLD    # also an older checkout, alternating in one process

``OLD`` is a folder holding an older ``melrecon`` package (e.g. ``git worktree add /tmp/old <rev>``; the
package is copied to a temporary folder and imported as ``melrecon_baseline``), so both run in the same
process under the same load. Times are CPU seconds (``time.process_time``), best of ``--reps``; pin the
process to one core for figures that do not depend on how XLA splits passes over idle cores.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from speed import _signal  # noqa: E402


def _programs(pkg: str, preset: str, n_steps: int) -> dict:
    """name -> (jitted function, its arguments) for the default's stages and the two projections."""
    def mod(*names):  # the first that exists: an older baseline may predate the layer folders (core/, methods/)
        for name in names:
            try:
                return importlib.import_module(f"{pkg}.{name}" if name else pkg)
            except ModuleNotFoundError:
                if name is names[-1]:
                    raise

    tr, methods, runner = mod("core.transforms", "transforms"), mod("methods"), mod("methods.runner", "runner")
    cfg = mod("").MelConfig.preset(preset)
    mel = tr.mel_spectrogram(_signal(10.0, cfg.sample_rate), cfg)
    prob = mod("algorithms.base").Problem(mel=jnp.asarray(tr.decompress(mel, cfg)),
                                           magnitude=jnp.full((cfg.n_freq, mel.shape[-1]), 0.1, jnp.float32))
    out = {}
    for stage in methods.build_stages("meladmm+melgl"):
        algo = stage.algorithm
        state = algo.init(prob, cfg, jax.random.key(0))
        state = state._replace(**{k: getattr(state, k) * (1 + 0.3j) for k in ("z", "c") if hasattr(state, k)})
        chunk = runner._chunk_fn(algo, cfg, n_steps, False, collections.Counter())
        out[algo.name] = (jax.jit(lambda p, s, chunk=chunk: chunk(p, s, jnp.int32(n_steps))), (prob, state))
    first = methods.build_stages("meladmm+melgl")[0].algorithm
    state = first.init(prob, cfg, jax.random.key(0))
    spec = state.z * (1 + 0.3j)
    project_mel = mod("algorithms.mel_griffin_lim").mel_projection_tm
    for name, fn in (("P_M", lambda v: project_mel(v, state.target, cfg, first.outside, first.metric)),
                     ("P_C", lambda v: tr.project_consistent_tm(v, cfg))):
        loop = lambda v, fn=fn: jax.lax.fori_loop(0, n_steps, lambda i, v: fn(v), v)  # noqa: E731
        out[name] = (jax.jit(loop), (spec,))
    return out


def _baseline_package(folder: str) -> str:
    """Copy ``folder/melrecon`` to a temporary folder as ``melrecon_baseline``; return its import name."""
    src = Path(folder) / "melrecon"
    if not (src / "__init__.py").exists():
        raise SystemExit(f"--baseline {folder}: no melrecon package there")
    tmp = Path(tempfile.mkdtemp(prefix="melrecon_baseline_"))
    shutil.copytree(src, tmp / "melrecon_baseline")
    sys.path.insert(0, str(tmp))
    return "melrecon_baseline"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--presets", default="hifigan,seed")
    ap.add_argument("--baseline", help="a folder holding an older melrecon package, timed alongside")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    packages = {"this": "melrecon"}
    if args.baseline:
        packages = {"baseline": _baseline_package(args.baseline), **packages}
    print(f"load average {os.getloadavg()[0]:.2f}; CPU ms per step, best of {args.reps}")
    for preset in args.presets.split(","):
        progs = {tag: _programs(pkg, preset, args.steps) for tag, pkg in packages.items()}
        for d in progs.values():
            for fn, fargs in d.values():
                jax.block_until_ready(fn(*fargs))  # compile and warm up
        best = collections.defaultdict(lambda: float("inf"))
        for _ in range(args.reps):
            for tag, d in progs.items():
                for name, (fn, fargs) in d.items():
                    t0 = time.process_time()
                    jax.block_until_ready(fn(*fargs))
                    best[tag, name] = min(best[tag, name], (time.process_time() - t0) / args.steps * 1e3)
        for tag in packages:
            print(preset, tag, " ".join(f"{name}={best[tag, name]:.2f}" for name in progs[tag]))
    print(f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
