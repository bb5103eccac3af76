"""Interrupts keep the work: Ctrl-C (SIGINT) in a running ``melrecon invert`` writes the best result so
far and exits with 130; a signal during the write never leaves a partial file at the destination.

These run the real command in a subprocess and send real signals (POSIX only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melrecon.apps.cli import EXIT_INTERRUPTED

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

REPO = Path(__file__).resolve().parents[1]
SR = 16000
N = SR  # one second


def _env():
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("JAX_PLATFORMS", "cpu")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _speech_like(path: Path) -> np.ndarray:
    t = np.arange(N) / SR
    x = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
         + 0.1 * np.sin(2 * np.pi * 1330 * t)).astype(np.float32)
    sf.write(str(path), x, SR, subtype="FLOAT")
    return x


def _wait_for(proc: subprocess.Popen, stream, marker: bytes, timeout: float = 180.0) -> bytes:
    """Read ``stream`` (non-blocking) until ``marker`` appears; return what was read."""
    os.set_blocking(stream.fileno(), False)
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if proc.poll() is not None:
            rest = stream.read() or b""
            pytest.fail(f"the process ended (rc {proc.returncode}) before {marker!r}: {(seen + rest).decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {marker!r} within {timeout} s: {seen.decode()[-2000:]}")
        chunk = stream.read()
        if chunk:
            seen += chunk
        else:
            time.sleep(0.05)
    return seen


def _finish(proc: subprocess.Popen, timeout: float = 120.0) -> tuple[bytes, bytes]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the process did not end within {timeout} s after the signal: {err.decode()[-2000:]}")
    return out or b"", err or b""


def test_sigint_mid_run_writes_the_best_so_far_and_exits_130(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = _speech_like(src)
    proc = subprocess.Popen(
        [sys.executable, "-m", "melrecon.apps.cli", "invert", str(src), str(dst), "--preset", "seed", "--method", "gla",
         "--n-iter", "10000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path,
    )
    # the progress bar shows the Mel SC after the first chunk of iterations
    seen = _wait_for(proc, proc.stderr, b"mel_sc=")
    assert not dst.exists()
    proc.send_signal(signal.SIGINT)
    out, err = _finish(proc)
    err = (seen + err).decode()
    assert proc.returncode == EXIT_INTERRUPTED, err[-2000:]
    assert "interrupted; the best result so far was written" in err
    assert "Traceback" not in err
    assert f"wrote {dst}" in out.decode()
    y, sr = sf.read(str(dst), dtype="float32")  # complete and readable
    assert sr == SR and y.shape == x.shape and np.isfinite(y).all()
    # it is the reconstruction, not silence or noise: its Mel spectrogram is close to the input's
    from melrecon.apps import metrics

    sc = metrics.mel_spectral_convergence(x, y, "seed")
    assert sc < 0.5
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


_SLOW_WRITE = textwrap.dedent("""
    import sys, time
    import soundfile
    real_write = soundfile.write

    def slow_write(file, data, *args, **kwargs):
        real_write(file, data, *args, **kwargs)
        with open(file, "r+b") as fh:  # leave the temporary file half-written while the signal arrives
            fh.truncate(100)
        print("WRITING", flush=True)
        time.sleep({pause})
        real_write(file, data, *args, **kwargs)

    soundfile.write = slow_write
""")


def test_sigint_during_the_write_completes_the_file(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = _speech_like(src)
    script = _SLOW_WRITE.format(pause=4) + textwrap.dedent(f"""
        from melrecon.apps.cli import main
        sys.exit(main(["invert", {str(src)!r}, {str(dst)!r}, "--preset", "seed", "--method", "gla",
                       "--n-iter", "2", "--quiet"]))
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), cwd=tmp_path)
    seen = _wait_for(proc, proc.stdout, b"WRITING")
    proc.send_signal(signal.SIGINT)
    out, err = _finish(proc)
    assert proc.returncode == EXIT_INTERRUPTED, err.decode()[-2000:]
    assert b"wrote" in seen + out
    y, sr = sf.read(str(dst), dtype="float32")
    assert sr == SR and y.shape == x.shape and np.isfinite(y).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


@pytest.mark.parametrize("existing", [False, True], ids=["new", "replacing"])
def test_kill_during_a_write_leaves_no_partial_file(tmp_path, existing):
    dst = tmp_path / "out.wav"
    old = None
    if existing:
        sf.write(str(dst), np.zeros(1000, np.float32), SR)
        old = dst.read_bytes()
    script = _SLOW_WRITE.format(pause=60) + textwrap.dedent(f"""
        import numpy as np
        from melrecon.io import save_audio
        save_audio({str(dst)!r}, 0.1 * np.ones(48000, np.float32), {SR})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), cwd=tmp_path)
    _wait_for(proc, proc.stdout, b"WRITING")
    proc.kill()  # SIGKILL: no cleanup code runs
    _finish(proc)
    assert proc.returncode == -signal.SIGKILL
    if existing:
        assert dst.read_bytes() == old  # the old file, untouched
        y, _ = sf.read(str(dst))
        assert y.shape == (1000,)
    else:
        assert not dst.exists()
    # what a kill can leave is the hidden temporary beside it, never a partial file under the real name
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "out.wav"]
    assert all(name.startswith(".out.wav.") and ".part" in name for name in leftovers)


def test_sigint_during_a_plain_write_removes_the_temporary(tmp_path):
    dst = tmp_path / "out.wav"
    script = _SLOW_WRITE.format(pause=60) + textwrap.dedent(f"""
        import numpy as np
        from melrecon.io import save_audio
        try:
            save_audio({str(dst)!r}, 0.1 * np.ones(48000, np.float32), {SR})
        except KeyboardInterrupt:
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), cwd=tmp_path)
    _wait_for(proc, proc.stdout, b"WRITING")
    proc.send_signal(signal.SIGINT)
    _finish(proc)
    assert proc.returncode == 130
    assert list(tmp_path.iterdir()) == []
