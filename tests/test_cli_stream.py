"""The streaming command line: ``melrecon stream`` from stdin to stdout (the same samples as
:class:`melrecon.Streamer`) and bad frames, in this process through ``main``; a reader that goes away and
Ctrl-C through real processes (the process boundary is what they test); ``invert --stream``."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melrecon import MelConfig, Streamer, mel_spectrogram
from melrecon.apps.cli import main

REPO = Path(__file__).resolve().parents[1]
CFG = MelConfig.preset("seed")
CMD = [sys.executable, "-m", "melrecon.apps.cli", "stream", "--preset", "seed", "--lookahead", "2", "--iters", "4"]
ENV = dict(os.environ, PYTHONPATH=str(REPO))


@pytest.fixture(scope="module")
def mel():
    t = np.arange(int(0.4 * CFG.sample_rate)) / CFG.sample_rate
    return np.asarray(mel_spectrogram((0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), CFG))


def _frames_bytes(mel) -> bytes:
    return np.ascontiguousarray(mel.T, "<f4").tobytes()  # frame-major: n_mels values per frame


def _stream_in_process(monkeypatch, capsys, data: bytes) -> tuple[int, bytes, str]:
    """``melrecon stream`` (CMD's arguments) through ``main``, ``data`` on stdin: (status, stdout bytes, stderr)."""
    stdout = io.TextIOWrapper(io.BytesIO(), write_through=True)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    monkeypatch.setattr(sys, "stdout", stdout)
    code = main(CMD[3:])
    return code, stdout.buffer.getvalue(), capsys.readouterr().err


def test_stdin_to_stdout_gives_the_streamers_samples(mel, monkeypatch, capsys):
    code, raw, err = _stream_in_process(monkeypatch, capsys, _frames_bytes(mel))
    assert code == 0, err
    audio = np.frombuffer(raw, "<f4")
    s = Streamer(CFG, 2, iters=4)
    expected = np.concatenate([s.push(mel), s.flush()])
    assert audio.shape == (CFG.n_samples(mel.shape[-1]),)
    np.testing.assert_array_equal(audio, expected)


def test_bad_frames_end_with_a_message_and_no_traceback(mel, monkeypatch, capsys):
    bad = mel.copy()
    bad[3, 5] = np.nan
    for data in (_frames_bytes(mel)[:-8], _frames_bytes(bad)):  # a partial last frame; a NaN
        code, _, err = _stream_in_process(monkeypatch, capsys, data)
        assert code == 2 and "frame" in err and "Traceback" not in err, err


@pytest.mark.parametrize("frame, value", [(5, np.nan), (7, -1.0)])  # a NaN; a value no linear mel has
def test_a_bad_frame_is_named_with_the_good_ones_before_it(mel, monkeypatch, capsys, frame, value):
    bad = mel.copy()
    bad[3, frame] = value
    code, raw, err = _stream_in_process(monkeypatch, capsys, _frames_bytes(bad))
    assert code == 2 and f"(stream frame {frame})" in err, err
    assert f"The first {frame} frame(s) of stdin were good: their audio was written." in err, err
    assert len(raw) == 4 * CFG.n_samples(frame)  # that audio, flushed


def test_no_frames_on_stdin_says_what_is_expected(monkeypatch, capsys):
    code, raw, err = _stream_in_process(monkeypatch, capsys, b"")
    assert code == 2 and raw == b"", err
    assert "melrecon: error: no frames on stdin: expected at least 2 Mel frames of 128 little-endian float32 " \
        "values (the n_mels of config 'seed')" in err and "flush()" not in err, err


def test_a_reader_that_goes_away_ends_quietly(mel):
    many = _frames_bytes(np.tile(mel, (1, 6)))
    proc = subprocess.Popen(CMD, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                            cwd=REPO)
    import threading

    def feed():
        try:
            proc.stdin.write(many)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()  # the frames go in while the first samples come out
    proc.stdout.read(64)
    proc.stdout.close()  # the reader (aplay, head) exits
    err = proc.stderr.read().decode()
    writer.join(timeout=60)
    assert proc.wait(timeout=300) != 0 and "Traceback" not in err, err


def test_ctrl_c_flushes_what_was_committed(mel):
    proc = subprocess.Popen(CMD, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
                            cwd=REPO)
    proc.stdin.write(_frames_bytes(mel))
    proc.stdin.flush()  # no EOF: the stream is still open, the frames so far are processed
    os.set_blocking(proc.stdout.fileno(), False)
    got, deadline = b"", time.time() + 240
    while len(got) < 4 * CFG.hop_length and time.time() < deadline:
        got += proc.stdout.read() or b""
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    os.set_blocking(proc.stdout.fileno(), True)
    got += proc.stdout.read()
    err = proc.stderr.read().decode()
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    # everything committed came out, the flushed tail included: as long as the whole input
    assert len(got) // 4 == CFG.n_samples(mel.shape[-1])


def test_invert_stream_writes_a_valid_growing_wav(mel, tmp_path):
    from melrecon.apps.cli import main

    np.save(tmp_path / "m.npy", mel)
    assert main(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"), "--preset", "seed", "--stream",
                 "--lookahead", "2", "--effort", "fast"]) == 0
    audio, sr = sf.read(tmp_path / "o.wav", dtype="float32")
    assert sr == CFG.sample_rate and audio.shape == (CFG.n_samples(mel.shape[-1]),) and np.isfinite(audio).all()
    assert main(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.flac"), "--preset", "seed", "--stream"]) == 2
