"""Shared fixtures: the seed recording from ../shared (skipped when absent), the bundled sample; one
compile-cache folder for the whole session and every process it starts."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from melrecon.core import cache

REPO = Path(__file__).resolve().parents[1]
SHARED_AUDIO = REPO.parent / "shared" / "audio"
SAMPLES = REPO / "samples"
SPEECH = REPO / "melrecon" / "data" / "speech.wav"  # the bundled sample (melrecon.apps.examples.example("speech"))

os.environ.setdefault("MPLBACKEND", "Agg")

#: One JAX compile-cache folder for the session (melrecon/core/cache.py): this process and every subprocess,
#: Ray worker and notebook kernel it starts inherit it through the environment, so a program compiled by one
#: is loaded by the next. It is the machine's melrecon cache (``~/.cache/melrecon/jax``, as every entry point
#: uses: compile once per machine), so a fresh clone's suite starts warm where melrecon ran before (entries are
#: keyed by program, JAX version and device: never stale); a folder already set is kept
#: (``MELRECON_CACHE_DIR=$(mktemp -d) make test`` runs it cold; ``off`` without a cache).
CACHE_DIR = os.environ.setdefault(cache.ENV_VAR, str(cache.resolve_dir() or ""))
cache.enable()  # before the first compilation of the session (a test's own mel_spectrogram, say)


def kill_when_written(cmd, dst: Path, n: int, *, timeout: float, env=None, cwd=None, **popen):
    """Run ``cmd`` and SIGKILL it as soon as ``dst`` holds ``n`` finished outputs (``*.wav`` not starting with
    a dot); return the process. The caller asserts it was killed (``returncode == -SIGKILL``)."""
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            finished = [p for p in dst.rglob("*.wav") if not p.name.startswith(".")] if dst.exists() else []
            if len(finished) >= n:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc


def shared_audio(name: str) -> Path:
    """Path of a file in ../shared/audio, or skip the test cleanly when it is absent."""
    path = SHARED_AUDIO / name
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside this checkout)")
    return path


@pytest.fixture(scope="session")
def seed_audio() -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, sr = sf.read(str(shared_audio("seed_arctic_raw_16k.wav")), dtype="float32")
    return x, sr


@pytest.fixture(scope="session")
def speech_sample() -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, sr = sf.read(str(SPEECH), dtype="float32")
    return x, sr


#: Tests that must not run beside each other when the suite is spread over workers (``pytest -n``, the
#: Makefile's default): every test that starts or looks for a local Ray cluster shares one worker (a cluster
#: started by one test must not be found by another's "no cluster running" check), as do the browser tests
#: (one JupyterLab and Chromium at a time on a small machine).
SERIAL_GROUPS = {"test_batch_ray.py": "ray", "test_batch_ray_start.py": "ray", "test_jobs.py": "ray",
                 "test_browser.py": "browser"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        group = SERIAL_GROUPS.get(item.path.name)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


#: Where a whole-suite run records its time, counts and the machine's load (``scripts/docs_tables.py --suite``
#: renders the README's test-time line from it). Written by the controlling process only, and only when the
#: whole suite ran (no file arguments, ``-k`` or ``-m``), so a partial run never overwrites it.
SUITE_RECORD = REPO / "results" / "test" / "suite.json"


def pytest_sessionstart(session):
    import time

    session.config._melrecon_suite = (time.time(), os.getloadavg()[0])


def _whole_suite(config) -> bool:
    whole = getattr(config, "args_source", None) == pytest.Config.ArgsSource.TESTPATHS
    return whole and not config.option.keyword and not config.option.markexpr and not hasattr(config, "workerinput")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    import json
    import platform
    import time

    started = getattr(config, "_melrecon_suite", None)
    if started is None or not _whole_suite(config):
        return
    stats = terminalreporter.stats
    count = lambda key: len([r for r in stats.get(key, []) if getattr(r, "when", "call") in ("call", "setup")])  # noqa: E731
    record = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started[0])),
        "seconds": round(time.time() - started[0], 1),
        "passed": count("passed"), "skipped": count("skipped"), "failed": count("failed"), "errors": count("error"),
        "workers": getattr(config.option, "numprocesses", None) or 1,
        "cpus": os.cpu_count(), "load_before": round(started[1], 2), "load_after": round(os.getloadavg()[0], 2),
        "python": platform.python_version(), "exitstatus": int(exitstatus),
    }
    SUITE_RECORD.parent.mkdir(parents=True, exist_ok=True)
    SUITE_RECORD.write_text(json.dumps(record, indent=2) + "\n")
