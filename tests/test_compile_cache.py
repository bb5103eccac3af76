"""The persistent compilation cache: a second process loads the compiled loops instead of compiling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from melrecon.core import cache as compile_cache

REPO = Path(__file__).resolve().parents[1]

# One short inversion in a fresh process; prints JAX's persistent-cache events and compile seconds.
CHILD = """
import collections, json, jax, numpy as np
events = collections.Counter()
jax.monitoring.register_event_listener(lambda name, **kw: events.update([name]))
from melrecon import mel_spectrogram, reconstruct
t = np.arange(8000) / 16000
mel = np.asarray(mel_spectrogram(np.sin(2 * np.pi * 440 * t).astype(np.float32), "seed"))
out = reconstruct(mel, "seed", method="fgla", n_iter=4, progress=False)
print(json.dumps({"hits": events["/jax/compilation_cache/cache_hits"],
                  "misses": events["/jax/compilation_cache/cache_misses"],
                  "compile_seconds": out.compile_seconds, "audio": out.audio[:64].tolist()}))
"""


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    env.update(extra)
    return env


def _child(cache_dir) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD], env=_env(MELRECON_CACHE_DIR=str(cache_dir)),
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_resolve_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(compile_cache.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache.resolve_dir() == tmp_path / "melrecon" / "jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert compile_cache.resolve_dir() == Path.home() / ".cache" / "melrecon" / "jax"
    for off in ("", "off", "OFF", "0", "none"):
        monkeypatch.setenv(compile_cache.ENV_VAR, off)
        assert compile_cache.resolve_dir() is None
    monkeypatch.setenv(compile_cache.ENV_VAR, str(tmp_path / "c"))
    assert compile_cache.resolve_dir() == tmp_path / "c"
    assert compile_cache.resolve_dir("off") is None  # an explicit value wins over the variable


def test_second_process_loads_from_the_cache(tmp_path):
    cache = tmp_path / "cache"
    first = _child(cache)
    assert first["misses"] > 0 and first["hits"] == 0
    assert any(cache.iterdir()), "the first process wrote nothing to the cache folder"
    second = _child(cache)
    assert second["hits"] >= first["misses"] and second["misses"] == 0
    assert second["compile_seconds"] < first["compile_seconds"]
    np.testing.assert_array_equal(second["audio"], first["audio"])  # the cached program computes the same


def test_cache_off_writes_nothing(tmp_path):
    off = _child("off")
    assert off["hits"] == 0 and off["misses"] == 0  # the persistent cache was not consulted at all


def test_cli_cache_dir_option(tmp_path):
    mel = tmp_path / "m.npy"
    t = np.arange(4000) / 16000
    from melrecon import mel_spectrogram

    np.save(mel, np.asarray(mel_spectrogram(np.sin(2 * np.pi * 300 * t).astype(np.float32), "seed")))
    cache = tmp_path / "cli-cache"
    cmd = [sys.executable, "-m", "melrecon.apps.cli", "invert", str(mel), str(tmp_path / "o.wav"), "--preset", "seed",
           "--method", "fgla", "--n-iter", "2", "--quiet", "--cache-dir", str(cache)]
    subprocess.run(cmd, env=_env(MELRECON_CACHE_DIR="off"), check=True, capture_output=True, timeout=300)
    assert (tmp_path / "o.wav").exists() and any(cache.iterdir())  # the option wins over the variable


def test_warm_up_compiles_what_a_later_invert_in_the_same_length_bucket_runs(tmp_path):
    """``make setup``'s warm-up (melrecon/apps/warmup.py) covers every length of its range with the command line's
    padded lengths, and a file of another length in a warmed bucket traces no chunk loop again."""
    from melrecon import MelConfig, mel_spectrogram
    from melrecon.apps.cli import main
    from melrecon.apps.warmup import _tone, lengths, warm_up
    from melrecon.methods.planner import padded_length
    from melrecon.methods.runner import trace_count

    cfg = MelConfig.preset("hifigan")
    warmed = lengths(cfg, (1.0, 10.0))
    assert all(padded_length(n) in warmed for n in range(86, 862)) and len(warmed) <= 16
    rows = warm_up("hifigan", (1.0, 1.0), kinds=("npy",), say=lambda _: None)
    assert [(r["frames"], r["code"]) for r in rows] == [(96, 0)]
    before = trace_count()
    np.save(tmp_path / "m.npy", np.asarray(mel_spectrogram(_tone(cfg, 90), cfg)))  # 90 frames: padded to 96 too
    assert main(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"), "--quiet"]) == 0
    assert trace_count() == before
