"""The fast internal paths agree with the plain ones and with librosa: the time-major projection (in-place
re-padding, fused framing), padded-batch layouts, and the time-major Griffin-Lim step."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import librosa
import numpy as np
import pytest

from melrecon import MelConfig, istft, stft
from melrecon.algorithms import Problem, gla
from melrecon.losses import project_consistent
from melrecon.transforms import batch_layout, mel_from_magnitude, project_consistent_tm

CONFIGS = {
    "hifigan": MelConfig.preset("hifigan"),  # reflect padding, no centring
    "seed": MelConfig.preset("seed"),  # centred, constant padding
    "odd_hop": MelConfig.preset("seed").replace(n_fft=512, hop_length=200, win_length=400),  # gather fallback
    "reflect_centre": MelConfig.preset("librosa").replace(pad_mode="reflect"),
}


def _random_spec(cfg, n_frames, seed=0, lead=()):
    rng = np.random.default_rng(seed)
    shape = (*lead, cfg.n_freq, n_frames)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_time_major_projection_equals_stft_of_istft(name):
    cfg = CONFIGS[name]
    spec = _random_spec(cfg, 40)
    ref = stft(istft(spec, cfg), cfg)
    fast = jnp.swapaxes(jax.jit(lambda x: project_consistent_tm(x, cfg))(jnp.swapaxes(spec, -1, -2)), -1, -2)
    np.testing.assert_allclose(np.asarray(fast), np.asarray(ref), atol=2e-4 * np.abs(ref).max())


@pytest.mark.parametrize("name", ["seed", "odd_hop"])
def test_projection_matches_librosa(name):
    cfg = CONFIGS[name]
    spec = _random_spec(cfg, 30, seed=1)
    kw = dict(n_fft=cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, window=cfg.window, center=True)
    y = librosa.istft(spec, **kw)
    ref = librosa.stft(y, pad_mode="constant", **kw)
    ours = np.asarray(project_consistent(jnp.asarray(spec), cfg))
    np.testing.assert_allclose(ours, ref, atol=2e-4 * np.abs(ref).max())


@pytest.mark.parametrize("frames", [(7, 19, 12), (2, 19, 12)])  # (2, ...): shorter than reflect_centre's pad
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_layout_makes_each_padded_item_behave_as_alone(name, frames):
    cfg = CONFIGS[name]
    padded = 24
    layout = batch_layout(cfg, frames, padded)
    # iSTFT of padded spectrograms (garbage in the padding frames must not leak)
    specs = [_random_spec(cfg, t, seed=i) for i, t in enumerate(frames)]
    batch = np.stack([np.pad(s, ((0, 0), (0, padded - s.shape[-1]))) for s in specs])
    batch[0, :, frames[0]:] = 1e3  # padding content is masked away
    signals = np.asarray(istft(jnp.asarray(batch), cfg, layout=layout))
    for i, s in enumerate(specs):
        alone = np.asarray(istft(s, cfg))
        np.testing.assert_allclose(signals[i, : alone.shape[-1]], alone, atol=1e-4 * np.abs(alone).max())
    # STFT of padded signals: each item's frames as alone, zeros after
    rng = np.random.default_rng(5)
    audio = [rng.standard_normal(cfg.n_samples(t)).astype(np.float32) for t in frames]
    n_pad = cfg.n_samples(padded)
    sig = np.stack([np.pad(a, (0, n_pad - a.shape[-1]), constant_values=7.0) for a in audio])
    out = np.asarray(stft(jnp.asarray(sig), cfg, layout=layout))
    for i, a in enumerate(audio):
        alone = np.asarray(stft(a, cfg))
        assert alone.shape[-1] == frames[i]
        np.testing.assert_allclose(out[i, :, : frames[i]], alone, atol=1e-4 * np.abs(alone).max())
        assert np.abs(out[i, :, frames[i]:]).max() == 0.0
    # and the projection of a padded batch equals each item's projection alone
    proj = np.asarray(project_consistent(jnp.asarray(batch), cfg, layout=layout))
    for i, s in enumerate(specs):
        alone = np.asarray(project_consistent(jnp.asarray(s), cfg))
        np.testing.assert_allclose(proj[i, :, : frames[i]], alone, atol=2e-4 * np.abs(alone).max())


def test_gla_step_matches_librosa_griffinlim_without_momentum():
    cfg = CONFIGS["seed"]  # librosa's centred, constant-padded STFT
    rng = np.random.default_rng(3)
    x = np.convolve(rng.standard_normal(6000), np.hanning(40), mode="same").astype(np.float32)
    mag = np.abs(librosa.stft(x, n_fft=cfg.n_fft, hop_length=cfg.hop_length, pad_mode="constant")).astype(np.float32)
    n_iter = 6
    ref = librosa.griffinlim(mag, n_iter=n_iter, hop_length=cfg.hop_length, n_fft=cfg.n_fft, momentum=0.0, init=None,
                             pad_mode="constant")
    problem = Problem(mel=mel_from_magnitude(jnp.asarray(mag), cfg), magnitude=jnp.asarray(mag))
    algo = gla(init_phase="zero")
    state = algo.init(problem, cfg, jax.random.key(0))
    step = jax.jit(lambda s: algo.step(problem, cfg, s))
    for _ in range(n_iter):
        state, _ = step(state)
    ours = np.asarray(istft(algo.spectrogram(problem, cfg, state), cfg, length=ref.shape[-1]))
    np.testing.assert_allclose(ours, ref, atol=2e-3 * np.abs(ref).max())
