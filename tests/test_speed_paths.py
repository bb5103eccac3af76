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
from melrecon.core.losses import project_consistent
from melrecon.core.transforms import batch_layout, mel_from_magnitude, project_consistent_tm

CONFIGS = {
    "hifigan": MelConfig.preset("hifigan"),  # reflect padding, no centring
    "seed": MelConfig.preset("seed"),  # centred, constant padding
    "odd_hop": MelConfig.preset("seed").replace(n_fft=512, hop_length=200, win_length=400),  # gather fallback
    "reflect_centre": MelConfig.preset("librosa").replace(pad_mode="reflect"),
    **{f"{mode}_centre": MelConfig.preset("seed").replace(pad_mode=mode)
       for mode in ("edge", "symmetric", "linear_ramp")},  # numpy's other pad modes (librosa passes them on)
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


# ------------------------------------------------------------------ banded Mel products (filters' blocks)
BANDED = dict(CONFIGS, htk=MelConfig.preset("librosa").replace(mel_scale="htk", norm=None, fmin=100.0, fmax=6000.0))


@pytest.mark.parametrize("name", sorted(BANDED))
def test_filterbank_blocks_hold_every_weight_and_match_dense_products(name):
    from melrecon.core.filters import mel_filterbank_blocks
    from melrecon.core.transforms import mel_adjoint_tm, mel_tm

    cfg = BANDED[name]
    fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
                             htk=cfg.mel_scale == "htk", norm=cfg.norm).astype(np.float64)
    rebuilt = np.zeros_like(fb)
    blocks = mel_filterbank_blocks(cfg)
    for k0, k1, b0, b1, w in blocks:
        rebuilt[b0:b1, k0:k1] += w
    np.testing.assert_allclose(rebuilt, fb, rtol=1e-6, atol=1e-9)
    assert sum((k1 - k0) * (b1 - b0) for k0, k1, b0, b1, _ in blocks) < fb.size / 3  # far fewer operations
    rng = np.random.default_rng(1)
    x = rng.random((2, 30, cfg.n_freq)).astype(np.float32)
    r = rng.standard_normal((2, 30, cfg.n_mels)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda v: mel_tm(v, cfg))(x)), x @ fb.T, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.jit(lambda v: mel_adjoint_tm(v, cfg))(r)), r @ fb, rtol=1e-4,
                               atol=1e-5 * np.abs(r @ fb).max())


@pytest.mark.parametrize("name", sorted(BANDED))
def test_mel_of_spectrogram_matches_the_dense_product(name):
    """The Mel product that reads its blocks straight from a complex STFT: ``F |X|^power`` (float64)."""
    from melrecon.algorithms.mel_griffin_lim import mel_of_spectrogram

    cfg = BANDED[name]
    fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
                             htk=cfg.mel_scale == "htk", norm=cfg.norm).astype(np.float64)
    spec = _random_spec(cfg, 30, seed=6, lead=(2,))
    spec[0, :, 3] = 0.0  # a silent frame
    ref = np.einsum("mf,bft->btm", fb, np.abs(spec).astype(np.float64) ** cfg.power)
    out = np.asarray(jax.jit(lambda s: mel_of_spectrogram(s, cfg))(jnp.swapaxes(jnp.asarray(spec), -1, -2)))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("name", ["hifigan", "seed"])  # seed: 13 empty filters (a rank-deficient filterbank)
@pytest.mark.parametrize("outside", ["free", "zero", "estimate"])
def test_mel_projection_matches_the_dense_formula(name, outside):
    """P_M(X) = max(0, m + pinv(F)(M - F m)) * phase(X) (m = |X|^power), computed densely in float64."""
    from melrecon.algorithms import mel_projection

    cfg = BANDED[name]
    fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
                             htk=cfg.mel_scale == "htk", norm=cfg.norm).astype(np.float64)
    spec = _random_spec(cfg, 25, seed=3)
    target = fb @ np.abs(_random_spec(cfg, 25, seed=4)).astype(np.float64)
    estimate = np.abs(_random_spec(cfg, 25, seed=5)).astype(np.float32)
    m = np.abs(spec).astype(np.float64) ** cfg.power
    new = np.maximum(m + np.linalg.pinv(fb) @ (target - fb @ m), 0.0) ** (1.0 / cfg.power)
    uncovered = (fb.sum(axis=0) <= 0)[:, None]
    if outside == "zero":
        new = np.where(uncovered, 0.0, new)
    elif outside == "estimate":
        new = np.where(uncovered, estimate, new)
    ref = new * spec / np.abs(spec)
    prob = Problem(mel=jnp.asarray(target, jnp.float32), magnitude=jnp.asarray(estimate))
    out = np.asarray(jax.jit(lambda s: mel_projection(s, prob, cfg, outside))(jnp.asarray(spec)))
    np.testing.assert_allclose(out, ref, atol=1e-4 * np.abs(ref).max())
