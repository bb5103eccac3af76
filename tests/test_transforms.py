"""Transforms against librosa (the conventions users' mels come from) and known signals."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest

from melrecon import PRESETS, MelConfig
from melrecon.core import transforms
from melrecon.core.filters import hz_to_mel, mel_filterbank, mel_to_hz

RNG = np.random.default_rng(1234)


def _signal(cfg: MelConfig, seconds: float = 1.3) -> np.ndarray:
    n = int(cfg.sample_rate * seconds) + 37  # not a multiple of the hop
    t = np.arange(n) / cfg.sample_rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * RNG.standard_normal(n)
    return x.astype(np.float32)


def _librosa_input(x: np.ndarray, cfg: MelConfig) -> tuple[np.ndarray, dict]:
    """librosa's call for the same framing: centred presets directly, explicit padding otherwise."""
    if cfg.center:
        return x, dict(center=True, pad_mode=cfg.pad_mode)
    if cfg.pad:
        x = np.pad(x, cfg.pad, mode=cfg.pad_mode)
    return x, dict(center=False)


CUSTOM = [
    MelConfig(sample_rate=16000, n_fft=400, win_length=320, hop_length=160, n_mels=40, fmin=20, fmax=7600,
              mel_scale="htk", norm=None, power=2.0, window="hamming"),
    MelConfig(sample_rate=24000, n_fft=1024, hop_length=300, n_mels=100, center=True, pad_mode="reflect"),
    MelConfig(sample_rate=22050, n_fft=512, hop_length=128, n_mels=64, center=False, window="blackman"),
]
CONFIGS = list(PRESETS.values()) + CUSTOM
IDS = list(PRESETS) + ["custom-htk-hamming-400", "custom-hop300-reflect", "custom-nocenter-blackman"]


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_filterbank_matches_librosa(cfg):
    ref = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
                              htk=cfg.mel_scale == "htk", norm=cfg.norm)
    fb = mel_filterbank(cfg)
    assert fb.shape == (cfg.n_mels, cfg.n_freq) and fb.dtype == np.float32
    np.testing.assert_allclose(fb, ref, rtol=1e-5, atol=1e-7 * ref.max())


@pytest.mark.parametrize("htk", [False, True])
def test_hz_mel_roundtrip_and_librosa(htk):
    f = np.array([0.0, 100.0, 999.0, 1000.0, 1001.0, 4000.0, 11025.0])
    np.testing.assert_allclose(hz_to_mel(f, htk=htk), librosa.hz_to_mel(f, htk=htk), rtol=1e-10)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel(f, htk=htk), htk=htk), f, atol=1e-6)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_stft_matches_librosa(cfg):
    x = _signal(cfg)
    xin, kw = _librosa_input(x, cfg)
    ref = librosa.stft(xin, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                       window=cfg.window if cfg.window != "rectangular" else "boxcar", **kw)
    spec = np.asarray(transforms.stft(x, cfg))
    assert spec.shape == ref.shape == (cfg.n_freq, cfg.n_frames(len(x)))
    assert spec.dtype == np.complex64
    np.testing.assert_allclose(spec, ref, atol=2e-6 * np.abs(ref).max())


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_mel_spectrogram_matches_librosa(cfg):
    x = _signal(cfg)
    xin, kw = _librosa_input(x, cfg)
    ref = librosa.feature.melspectrogram(
        y=xin, sr=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
        window=cfg.window, power=cfg.power, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
        htk=cfg.mel_scale == "htk", norm=cfg.norm, **kw)
    if cfg.compression == "log":
        ref = np.log(np.maximum(ref, cfg.floor))
    elif cfg.compression == "log10":
        ref = np.log10(np.maximum(ref, cfg.floor))
    elif cfg.compression == "db":
        ref = (10 if cfg.power == 2 else 20) * np.log10(np.maximum(ref, cfg.floor)) - cfg.db_ref
        if cfg.signal_norm == "symmetric":  # Coqui AudioProcessor.normalize
            ref = np.clip(2 * cfg.max_norm * (ref - cfg.min_level_db) / -cfg.min_level_db - cfg.max_norm,
                          -cfg.max_norm, cfg.max_norm)
    mel = np.asarray(transforms.mel_spectrogram(x, cfg))
    assert mel.shape == ref.shape
    np.testing.assert_allclose(mel, ref, rtol=2e-5, atol=2e-6 * np.abs(ref).max())


def test_hifigan_preset_frames_follow_the_hop():
    """HiFi-GAN / Tacotron 2 framing: reflect-pad (n_fft - hop) / 2, no centring -> len / hop frames."""
    cfg = PRESETS["hifigan"]
    x = _signal(cfg, 1.0)[: 256 * 50]
    assert transforms.mel_spectrogram(x, cfg).shape == (80, 50)
    assert cfg.n_samples(50) == 256 * 50


@pytest.mark.parametrize("compression", ["log", "log10", "db"])
@pytest.mark.parametrize("power", [1.0, 2.0])
def test_compression_roundtrip_and_db_matches_librosa(compression, power):
    cfg = MelConfig(power=power, compression=compression)
    mel = jnp.asarray(RNG.uniform(1e-3, 10.0, (80, 20)).astype(np.float32))
    np.testing.assert_allclose(transforms.decompress(transforms.compress(mel, cfg), cfg), mel, rtol=1e-4)
    if compression == "db":
        to_db = librosa.power_to_db if power == 2.0 else librosa.amplitude_to_db
        ref = to_db(np.asarray(mel), ref=1.0, amin=cfg.floor, top_db=None)
        np.testing.assert_allclose(transforms.compress(mel, cfg), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_istft_inverts_stft(cfg):
    x = _signal(cfg)
    y = np.asarray(transforms.istft(transforms.stft(x, cfg), cfg, length=len(x)))
    # With no centring the first and last samples are covered by fewer frames; compare where covered.
    edge = 0 if cfg.pad >= cfg.n_fft // 2 else cfg.n_fft
    sl = slice(edge, len(x) - edge - cfg.hop_length)
    np.testing.assert_allclose(y[sl], x[sl], atol=2e-5)


def test_istft_matches_librosa_on_an_inconsistent_spectrogram():
    cfg = PRESETS["librosa"]
    spec = (RNG.standard_normal((cfg.n_freq, 40)) + 1j * RNG.standard_normal((cfg.n_freq, 40))).astype(np.complex64)
    spec[0].imag = 0
    spec[-1].imag = 0
    ref = librosa.istft(spec, n_fft=cfg.n_fft, hop_length=cfg.hop_length, center=True)
    ours = np.asarray(transforms.istft(spec, cfg))
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-5 * np.abs(ref).max())


def test_transforms_batch_over_leading_dims_and_jit():
    cfg = PRESETS["seed"]
    xs = np.stack([_signal(cfg, 0.5), _signal(cfg, 0.5)[::-1].copy()]).reshape(2, 1, -1)
    batched = jax.jit(transforms.mel_spectrogram, static_argnums=1)(xs, cfg)
    assert batched.shape == (2, 1, cfg.n_mels, cfg.n_frames(xs.shape[-1]))
    for i in range(2):
        np.testing.assert_allclose(batched[i, 0], transforms.mel_spectrogram(xs[i, 0], cfg), rtol=1e-5, atol=1e-6)


def test_mel_spectrogram_is_differentiable():
    """Gradient of a Mel loss w.r.t. the samples agrees with a finite difference."""
    cfg = PRESETS["seed"]
    x = jnp.asarray(_signal(cfg, 0.25))
    target = transforms.mel_spectrogram(x * 0.5, cfg)

    def loss(y):
        return jnp.sum((transforms.mel_spectrogram(y, cfg) - target) ** 2)

    g = jax.grad(loss)(x)
    assert np.isfinite(np.asarray(g)).all()
    # a direction of its own seed (not the module's shared generator: its draw then depends on which tests ran
    # before on this worker, and a draw with a small directional derivative is all float32 rounding)
    direction = jnp.asarray(np.random.default_rng(7).standard_normal(x.shape).astype(np.float32))
    eps = 1e-3
    fd = (loss(x + eps * direction) - loss(x - eps * direction)) / (2 * eps)
    np.testing.assert_allclose(float(jnp.vdot(g, direction)), float(fd), rtol=2e-2)


@pytest.mark.parametrize("name", list(PRESETS))
def test_mel_to_linear_solves_nnls_at_least_as_well_as_librosa(name):
    cfg = PRESETS[name]
    x = _signal(cfg, 0.6)
    mel_lin = np.asarray(transforms.decompress(transforms.mel_spectrogram(x, cfg), cfg))
    fb = mel_filterbank(cfg).astype(np.float64)
    ours = np.asarray(transforms.mel_to_linear(mel_lin, cfg, compressed=False))
    theirs = librosa.feature.inverse.mel_to_stft(mel_lin, sr=cfg.sample_rate, n_fft=cfg.n_fft, power=cfg.power,
                                                 fmin=cfg.fmin, fmax=cfg.fmax, htk=cfg.mel_scale == "htk",
                                                 norm=cfg.norm)
    assert ours.shape == theirs.shape and (ours >= 0).all()

    def residual(mag):
        return np.linalg.norm(fb @ mag.astype(np.float64) ** cfg.power - mel_lin) / np.linalg.norm(mel_lin)

    assert residual(ours) <= residual(theirs) * 1.05 + 1e-6
    pinv = np.asarray(transforms.mel_to_linear(mel_lin, cfg, method="pinv", compressed=False))
    assert (pinv >= 0).all() and residual(ours) <= residual(pinv) + 1e-6
