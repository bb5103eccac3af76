"""No mel too short: every method, source and entry point on mels of 1-5 frames gives audio of the length the
frames describe, or a ParameterError naming the minimum (a centred frame alone describes no sample).

Kept fast: tiny configs (n_fft 64), 2 iterations per stage, and programs shared across lengths (the API grid
pads every length to one bucket of 5 frames; the unpadded path runs the default methods on 1-3 frames).
"""

from __future__ import annotations

import numpy as np
import pytest

import melrecon
from melrecon import MelConfig, ParameterError
from melrecon.methods.resolve import SOURCES

#: HiFi-GAN's framing, scaled down: no centring, reflect padding of (n_fft - hop) / 2 (one frame: 16 samples,
#: fewer than the padding, so the padding reflects its own reflections).
TINY = MelConfig(sample_rate=8000, n_fft=64, hop_length=16, n_mels=16, center=False, pad=24, pad_mode="reflect",
                 compression="log", name="tiny")
#: librosa's framing, scaled down: centred, zero padding (one frame describes 0 samples: refused).
CENTRED = MelConfig(sample_rate=8000, n_fft=64, hop_length=16, n_mels=16, name="tiny-centred")
LENGTHS = (1, 2, 3, 4, 5)
METHODS = (None, *sorted(melrecon.METHODS))  # None: the source's default
#: TINY as the command line's flags.
TINY_FLAGS = ["--sample-rate", "8000", "--n-fft", "64", "--hop-length", "16", "--n-mels", "16", "--fmax", "4000",
              "--no-center", "--pad", "24", "--pad-mode", "reflect", "--compression", "log"]
#: Two iterations of a tiny mel's noise or silence legitimately make no progress.
pytestmark = pytest.mark.filterwarnings("ignore::melrecon.methods.diagnostics.NoProgressWarning")


def _mel(cfg: MelConfig, frames: int) -> np.ndarray:
    rng = np.random.default_rng(frames)
    t = np.arange(cfg.n_samples(8)) / cfg.sample_rate
    x = 0.3 * np.sin(2 * np.pi * 700 * t) + 0.02 * rng.standard_normal(t.size)
    return np.asarray(melrecon.mel_spectrogram(x.astype(np.float32), cfg))[:, :frames]


def _expect_audio(cfg: MelConfig, frames: int, run) -> None:
    """``run()`` gives finite audio of ``cfg.n_samples(frames)`` samples, or (when that is < 1) a ParameterError
    that names the minimum number of frames."""
    if cfg.n_samples(frames) < 1:
        with pytest.raises(ParameterError, match=r"at least \d+ frames"):
            run()
        return
    audio = np.asarray(run())
    assert audio.shape[-1] == cfg.n_samples(frames), (frames, audio.shape)
    assert np.isfinite(audio).all()


@pytest.mark.parametrize("method", METHODS, ids=str)
def test_every_method_and_source_on_1_to_5_frames(method):
    for cfg in (TINY, CENTRED):
        for source in SOURCES:
            for frames in LENGTHS:
                mel = _mel(cfg, frames)
                _expect_audio(cfg, frames, lambda: melrecon.reconstruct(
                    mel, cfg, method=method, source=source, n_iter=2, bucket_frames=5, progress=False).audio)


@pytest.mark.parametrize("source", SOURCES)
def test_default_methods_unpadded_on_1_to_3_frames(source):
    for frames in (1, 2, 3):
        mel = _mel(TINY, frames)
        _expect_audio(TINY, frames, lambda: melrecon.reconstruct(mel, TINY, source=source, n_iter=2,
                                                                 progress=False).audio)


def test_noise_estimate_of_two_frames_reads_nothing():
    """The crash of issue 28: the noise-aware method's statistics on a mel of 2 frames (no time differences)."""
    out = melrecon.reconstruct(np.full((80, 2), -5.0), "hifigan", n_iter=2, progress=False)
    assert out.audio.shape == (melrecon.MelConfig.preset("hifigan").n_samples(2),)
    assert out.settings["estimated"]["noise_level"] == 0.0


def test_cli_invert_folder_and_streamer_on_1_to_3_frames(tmp_path):
    from melrecon.apps.batch import invert_folder
    from melrecon.apps.cli import main

    cfg = TINY
    folder = tmp_path / "mels"
    folder.mkdir()
    for frames in (1, 2, 3):
        mel = _mel(cfg, frames)
        np.save(folder / f"m{frames}.npy", mel)
        out = tmp_path / f"cli{frames}.wav"
        assert main(["invert", str(folder / f"m{frames}.npy"), str(out), *TINY_FLAGS, "--iters", "2,2", "--quiet"]) == 0
        assert _wav_length(out) == cfg.n_samples(frames)

        streamer = melrecon.Streamer(cfg, lookahead=1, iters=2)
        audio = np.concatenate([streamer.push(mel[:, k:k + 1]) for k in range(frames)] + [streamer.flush()])
        assert audio.shape == (cfg.n_samples(frames),) and np.isfinite(audio).all()
    summary = invert_folder(folder, tmp_path / "wavs", cfg, n_iter=2, progress=False)
    assert not summary.failed, summary.failed
    for frames in (1, 2, 3):
        assert _wav_length(tmp_path / "wavs" / f"m{frames}.wav") == cfg.n_samples(frames)


def _wav_length(path) -> int:
    import soundfile as sf

    return sf.info(str(path)).frames
