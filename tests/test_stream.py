"""Streaming inversion (melrecon.stream): chunking invariance, length, latency, bad frames, one compilation,
the raw PCM pipe and the growing wav."""

from __future__ import annotations

import io

import librosa
import numpy as np
import pytest
import soundfile as sf

from melrecon import MelConfig, ParameterError, mel_spectrogram
from melrecon.stream import GrowingWav, Streamer, stream_pcm, stream_to_wav, trace_count

SEED = MelConfig.preset("seed")  # centred, zero padding (min 2 frames)
HIFI = MelConfig.preset("hifigan")  # reflect padding, no centring, log compression
FAST = dict(lookahead=2, iters=2)  # most tests share these settings: one compilation per config


def _chirp(cfg: MelConfig, seconds: float = 0.4) -> np.ndarray:
    t = np.arange(int(seconds * cfg.sample_rate)) / cfg.sample_rate
    return (0.5 * np.sin(2 * np.pi * (300 * t + 400 * t * t))).astype(np.float32)


def _mel(cfg: MelConfig, seconds: float = 0.4) -> np.ndarray:
    return np.asarray(mel_spectrogram(_chirp(cfg, seconds), cfg))


def _run(streamer: Streamer, mel: np.ndarray, chunk: int) -> tuple[np.ndarray, list[int]]:
    """All outputs concatenated, and the cumulative sample count after each push."""
    parts, counts = [], []
    for t in range(0, mel.shape[1], chunk):
        parts.append(streamer.push(mel[:, t:t + chunk]))
        counts.append(sum(p.size for p in parts))
    parts.append(streamer.flush())
    return np.concatenate(parts), counts


@pytest.mark.parametrize("cfg", [SEED, HIFI], ids=["seed", "hifigan"])
def test_chunking_does_not_change_the_samples(cfg):
    mel = _mel(cfg)
    s = Streamer(cfg, **FAST)
    outs = [_run(s, mel, chunk)[0] for chunk in (1, 3, 7, mel.shape[1])]
    assert outs[0].shape == (cfg.n_samples(mel.shape[1]),)
    for out in outs[1:]:
        np.testing.assert_array_equal(out, outs[0])


@pytest.mark.parametrize("lookahead", [0, 2])  # 2 frames with lookahead 2: the look-ahead outlasts the stream
@pytest.mark.parametrize("frames", [2, 5, 23])
def test_output_length_is_the_offline_length(lookahead, frames):
    mel = _mel(SEED)[:, :frames]
    out, _ = _run(Streamer(SEED, lookahead=lookahead, iters=2), mel, 4)
    assert out.shape == (SEED.n_samples(frames),) and out.dtype == np.float32


@pytest.mark.parametrize("cfg,lookahead", [(SEED, 0), (SEED, 2), (HIFI, 2)])
def test_latency_bound(cfg, lookahead):
    mel = _mel(cfg)
    s = Streamer(cfg, lookahead=lookahead, iters=2)
    hop = cfg.hop_length
    assert s.latency_seconds == pytest.approx((lookahead * hop + cfg.n_fft) / cfg.sample_rate)
    _, counts = _run(s, mel, 1)
    for k, count in enumerate(counts, start=1):
        # every sample before frame k - lookahead is out; nothing past what k frames describe
        assert max(0, (k - lookahead) * hop - cfg.pad) <= count <= cfg.n_samples(k)


def test_stream_reproduces_a_known_signal():
    """The output's Mel spectrogram (librosa's, independently) matches the input's, and the output keeps
    the sine's frequency."""
    t = np.arange(8000) / SEED.sample_rate
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    mel = np.asarray(mel_spectrogram(x, SEED))
    out, _ = _run(Streamer(SEED, **FAST), mel, 5)
    kw = dict(sr=SEED.sample_rate, n_fft=SEED.n_fft, hop_length=SEED.hop_length, n_mels=SEED.n_mels, power=1.0,
              htk=True, norm=None, fmax=SEED.fmax)
    ref, got = librosa.feature.melspectrogram(y=x, **kw), librosa.feature.melspectrogram(y=out, **kw)
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 0.1
    spectrum = np.abs(np.fft.rfft(out[2000:6000] * np.hanning(4000)))
    assert abs(np.argmax(spectrum) * SEED.sample_rate / 4000 - 440) < 8


def test_bad_frames_are_refused_and_not_consumed():
    mel = _mel(SEED)
    clean, _ = _run(Streamer(SEED, **FAST), mel, 4)
    s = Streamer(SEED, **FAST)
    parts = [s.push(mel[:, :10])]
    bad = mel[:, 10:14].copy()
    bad[5, 2] = np.nan
    with pytest.raises(ParameterError, match=r"frames \(stream frame 12\) contains 1 non-finite"):
        s.push(bad)
    with pytest.raises(ParameterError, match=r"frames has 79 bands.*n_mels=128"):
        s.push(mel[:79, 10:14])
    with pytest.raises(ParameterError, match=r"frames has shape"):
        s.push(np.zeros((2, 128, 3), np.float32))
    parts += [s.push(mel[:, 10:]), s.flush()]
    np.testing.assert_array_equal(np.concatenate(parts), clean)


def test_bad_settings_and_too_short_streams():
    with pytest.raises(ParameterError, match="lookahead"):
        Streamer(SEED, lookahead=-1)
    with pytest.raises(ParameterError, match="alpha"):
        Streamer(SEED, alpha=1.5)
    with pytest.raises(ParameterError, match="init_phase"):
        Streamer(SEED, init_phase="noise")
    with pytest.raises(ParameterError, match="unknown option"):
        Streamer(SEED, learning_rate=0.1)
    with pytest.raises(ParameterError, match="outside='estimate'"):
        Streamer(SEED, outside="estimate")
    s = Streamer(SEED, **FAST)
    s.push(_mel(SEED)[:, :1])
    with pytest.raises(ParameterError, match="needs at least 2 frame"):
        s.flush()


def test_one_compilation_for_every_push():
    mel = _mel(HIFI)
    before = trace_count()
    s = Streamer(HIFI, lookahead=1, iters=1, alpha=0.5)  # settings no other test uses
    s.push(mel[:, :1])
    traced = trace_count()
    assert traced == before + 1
    for t in range(1, mel.shape[1], 3):
        s.push(mel[:, t:t + 3])
    s.flush()
    again = Streamer(HIFI, lookahead=1, iters=1, alpha=0.5)  # same settings: the same compiled step
    again.push(mel)
    again.flush()
    assert trace_count() == traced


def test_pcm_pipe_round_trip_and_errors():
    mel = _mel(SEED)
    ref, _ = _run(Streamer(SEED, **FAST), mel, mel.shape[1])
    out = io.BytesIO()
    assert stream_pcm(SEED, io.BytesIO(mel.T.astype("<f4").tobytes()), out, **FAST) == mel.shape[1]
    np.testing.assert_array_equal(np.frombuffer(out.getvalue(), "<f4"), ref)
    out = io.BytesIO()
    with pytest.raises(ParameterError, match="ended inside a frame"):
        stream_pcm(SEED, io.BytesIO(mel.T.astype("<f4").tobytes()[:-6]), out, **FAST)
    assert len(out.getvalue()) == 4 * SEED.n_samples(mel.shape[1] - 1)  # the whole frames, flushed
    bad = mel.copy()
    bad[0, 20] = np.inf
    out = io.BytesIO()
    with pytest.raises(ParameterError, match=r"stream frame 20"):
        stream_pcm(SEED, io.BytesIO(bad.T.astype("<f4").tobytes()), out, **FAST)
    assert len(out.getvalue()) == 4 * SEED.n_samples(20)


class _Interrupted(io.RawIOBase):
    """A pipe that delivers some frames, then Ctrl-C."""

    def __init__(self, data: bytes):
        self.data, self.done = data, False

    def read(self, n=-1):
        if self.done:
            raise KeyboardInterrupt
        self.done = True
        return self.data


def test_ctrl_c_flushes_what_came():
    mel = _mel(SEED)[:, :17]
    out = io.BytesIO()
    with pytest.raises(KeyboardInterrupt):
        stream_pcm(SEED, _Interrupted(mel.T.astype("<f4").tobytes()), out, **FAST)
    ref, _ = _run(Streamer(SEED, **FAST), mel, 17)
    np.testing.assert_array_equal(np.frombuffer(out.getvalue(), "<f4"), ref)


def test_growing_wav_is_valid_after_every_write(tmp_path):
    mel = _mel(SEED)
    path = tmp_path / "grow.wav"
    s = Streamer(SEED, **FAST)
    with GrowingWav(path, SEED.sample_rate) as wav:
        written = []
        for t in range(0, mel.shape[1], 8):
            written.append(s.push(mel[:, t:t + 8]))
            wav.write(written[-1])
            got, sr = sf.read(path, dtype="float32")
            assert sr == SEED.sample_rate and got.shape == (sum(w.size for w in written),)
        written.append(s.flush())
        wav.write(written[-1])
    got, _ = sf.read(path, dtype="float32")
    np.testing.assert_array_equal(got, np.concatenate(written))


def test_stream_to_wav_writes_the_stream(tmp_path):
    mel = _mel(SEED)
    ref, _ = _run(Streamer(SEED, **FAST), mel, 1)
    path = tmp_path / "out.wav"
    assert stream_to_wav(mel, SEED, path, frames_per_push=5, **FAST) == ref.size
    got, sr = sf.read(path, dtype="float32")
    assert sr == SEED.sample_rate
    np.testing.assert_array_equal(got, ref)
    with pytest.raises(ParameterError, match=r"\.wav"):
        stream_to_wav(mel, SEED, tmp_path / "out.flac", **FAST)


def test_stdin_to_stdout_through_a_real_pipe():
    """A child process reads frames from its stdin and writes PCM to its stdout (read1 on a pipe)."""
    import subprocess
    import sys
    from pathlib import Path

    mel = _mel(SEED)
    ref, _ = _run(Streamer(SEED, **FAST), mel, 1)
    code = ("import sys; from melrecon.stream import stream_pcm; "
            "stream_pcm('seed', sys.stdin.buffer, sys.stdout.buffer, lookahead=2, iters=2)")
    repo = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", code], input=mel.T.astype("<f4").tobytes(), capture_output=True,
                          timeout=120, cwd=repo)
    assert done.returncode == 0, done.stderr.decode()
    np.testing.assert_array_equal(np.frombuffer(done.stdout, "<f4"), ref)
