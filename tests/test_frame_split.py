"""The frame axis cut into independent pieces (``MELRECON_FRAME_SPLIT``) gives the same transforms as the
plain computation (and as librosa), for odd frame counts, padded batches and reconstructions whose
iteration count is not a multiple of the runner's block; runs are deterministic."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest

from melrecon import MelConfig, istft, reconstruct, stft
from melrecon.config import ParameterError
from melrecon.transforms import SPLIT_ENV, batch_layout, frame_pieces, frame_split, project_consistent_tm

CONFIGS = {"hifigan": MelConfig.preset("hifigan"), "seed": MelConfig.preset("seed"),
           "odd_hop": MelConfig.preset("seed").replace(n_fft=512, hop_length=200, win_length=400)}


def _spec(cfg, frames, lead=(), seed=0):
    rng = np.random.default_rng(seed)
    shape = (*lead, cfg.n_freq, frames)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


def test_split_setting(monkeypatch):
    monkeypatch.delenv(SPLIT_ENV, raising=False)
    assert frame_split() == 1
    monkeypatch.setenv(SPLIT_ENV, "3")
    assert frame_split() == 3 and frame_pieces(200) == 3 and frame_pieces(100) == 1
    monkeypatch.setenv(SPLIT_ENV, "auto")
    assert frame_split() >= 1
    monkeypatch.setenv(SPLIT_ENV, "two")
    with pytest.raises(ParameterError, match=SPLIT_ENV):
        frame_split()


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("split", ["2", "3"])
def test_split_transforms_equal_unsplit(monkeypatch, name, split):
    cfg = CONFIGS[name]
    spec = _spec(cfg, 201, lead=(2,))  # odd frame count, a batch of two
    audio = np.asarray(istft(spec[0], cfg))
    proj = jax.jit(lambda x: project_consistent_tm(x, cfg))
    monkeypatch.setenv(SPLIT_ENV, "1")
    ref = [np.asarray(stft(audio, cfg)), np.asarray(istft(spec, cfg)), np.asarray(proj(jnp.swapaxes(spec, -1, -2)))]
    monkeypatch.setenv(SPLIT_ENV, split)
    proj = jax.jit(lambda x: project_consistent_tm(x, cfg))
    got = [np.asarray(stft(audio, cfg)), np.asarray(istft(spec, cfg)), np.asarray(proj(jnp.swapaxes(spec, -1, -2)))]
    for g, r in zip(got, ref):
        np.testing.assert_allclose(g, r, atol=2e-5 * np.abs(r).max())
    kw = dict(n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, window=cfg.window,
              center=cfg.center)
    if cfg.pad_mode == "constant" and cfg.center:  # the plain librosa convention
        np.testing.assert_allclose(got[1][0], librosa.istft(spec[0], **kw), atol=2e-5 * np.abs(got[1][0]).max())


def test_split_with_batch_layout_equals_unsplit(monkeypatch):
    cfg = CONFIGS["hifigan"]
    frames, padded = (131, 200, 67), 203
    layout = batch_layout(cfg, frames, padded)
    spec = jnp.swapaxes(jnp.asarray(_spec(cfg, padded, lead=(3,), seed=4)), -1, -2)
    outs = []
    for split in ("1", "2"):
        monkeypatch.setenv(SPLIT_ENV, split)
        outs.append(np.asarray(jax.jit(lambda x, lay: project_consistent_tm(x, cfg, layout=lay))(spec, layout)))
    np.testing.assert_allclose(outs[1], outs[0], atol=2e-5 * np.abs(outs[0]).max())


@pytest.mark.parametrize("method,n_iter", [("fgla", 13), ("meladmm+melgl", [5, 3])])
def test_split_reconstruction_equals_unsplit(monkeypatch, speech_sample, method, n_iter):
    cfg = CONFIGS["seed"]
    x, sr = speech_sample
    from melrecon import mel_spectrogram

    mel = np.asarray(mel_spectrogram(librosa.resample(x, orig_sr=sr, target_sr=cfg.sample_rate), cfg))
    assert mel.shape[-1] >= 128  # two pieces
    runs = []
    for split in ("1", "2"):  # "2": blocks of steps at the top level, 13 = 10 + 3 single steps
        monkeypatch.setenv(SPLIT_ENV, split)
        runs.append(reconstruct(mel, cfg, method=method, n_iter=n_iter, chunk_size=13, progress=False, seed=1))
    assert runs[1].n_iterations == runs[0].n_iterations
    peak = np.abs(runs[0].audio).max()
    np.testing.assert_allclose(runs[1].audio, runs[0].audio, atol=1e-3 * peak)
    np.testing.assert_allclose(runs[1].mel_sc, runs[0].mel_sc, rtol=1e-2)


def test_same_inputs_give_the_same_audio(speech_sample):
    cfg = CONFIGS["seed"]
    x, sr = speech_sample
    from melrecon import mel_spectrogram

    mel = np.asarray(mel_spectrogram(librosa.resample(x[:sr], orig_sr=sr, target_sr=cfg.sample_rate), cfg))
    runs = [reconstruct(mel, cfg, n_iter=[20, 20], progress=False).audio for _ in range(3)]
    assert all(np.array_equal(r, runs[0]) for r in runs[1:])
