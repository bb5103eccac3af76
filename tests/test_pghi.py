"""PGHI initial phase, the relative-metric Mel-constraint projection and ``outside="extend"``: checked against
known signals and the documented formulas (a consistent STFT, the Mel constraint, the roll-off)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from melrecon import MelConfig, ParameterError, reconstruct
from melrecon.algorithms import ADMMGriffinLim, MelGriffinLim, Problem, mel_projection
from melrecon.core import transforms
from melrecon.core.filters import mel_filterbank
from melrecon.core.pghi import gaussian_lambda, pghi_phase

HIFI = MelConfig.preset("hifigan")
LIBROSA = MelConfig.preset("librosa")  # power 2, n_fft 2048, 128 bands to Nyquist


def _convergence(mag, phase, cfg, n):
    """Spectral convergence of the magnitude of iSTFT(mag e^(i phase)) against mag: 0 for a consistent STFT."""
    again = jnp.abs(transforms.stft(transforms.istft(mag * jnp.exp(1j * phase), cfg, length=n), cfg))
    return float(jnp.linalg.norm(again - mag) / jnp.linalg.norm(mag))


def _chirp_and_clicks(sr, seconds=1.0):
    t = np.arange(int(sr * seconds)) / sr
    x = 0.5 * np.sin(2 * np.pi * (300 * t + 900 * t ** 2))
    x[int(0.7 * len(t))] += 2.0  # a click: coherence across frequency
    return x.astype(np.float32)


@pytest.mark.parametrize("cfg", [HIFI, LIBROSA], ids=["hifigan", "librosa"])
def test_pghi_phase_is_nearly_consistent_where_zero_phase_is_not(cfg):
    x = _chirp_and_clicks(cfg.sample_rate)
    mag = jnp.abs(transforms.stft(x, cfg))
    pghi = _convergence(mag, pghi_phase(mag, cfg), cfg, len(x))
    zero = _convergence(mag, jnp.zeros_like(mag), cfg, len(x))
    assert pghi < 0.25 and pghi < 0.3 * zero


def test_pghi_of_a_real_recording(seed_audio):
    x, sr = seed_audio
    cfg = MelConfig.preset("seed")
    mag = jnp.abs(transforms.stft(x, cfg))
    assert _convergence(mag, pghi_phase(mag, cfg), cfg, len(x)) < 0.2


def test_pghi_of_a_batch_is_each_item_alone():
    x = _chirp_and_clicks(HIFI.sample_rate)
    mags = jnp.abs(transforms.stft(np.stack([x, x[::-1].copy()]), HIFI))
    both = np.asarray(jax.jit(lambda m: pghi_phase(m, HIFI))(mags))
    for i in range(2):
        alone = np.asarray(pghi_phase(mags[i], HIFI))  # equal up to float32 rounding (compared on the circle)
        np.testing.assert_allclose(np.exp(1j * both[i]), np.exp(1j * alone), atol=2e-3)
    assert gaussian_lambda(HIFI) == pytest.approx(0.25645 * 1024 ** 2)


def test_pghi_phase_is_zero_where_the_magnitude_is_negligible():
    mag = jnp.zeros((HIFI.n_freq, 12)).at[40, :].set(1.0)
    phase = np.asarray(pghi_phase(mag, HIFI))
    assert np.all(phase[:30] == 0) and np.any(phase[40] != 0)


def _harmonic_spec(cfg):
    t = np.arange(cfg.sample_rate // 2) / cfg.sample_rate
    x = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(1, 12)).astype(np.float32)
    return transforms.stft(x, cfg)


def test_relative_projection_meets_the_mel_constraint_and_keeps_the_harmonic_shape():
    """Target = 1.5 x the mel of X: the relative metric scales X's power by 1.5 (peaks and valleys kept);
    the Euclidean one spreads the change evenly over each band."""
    cfg = LIBROSA
    spec = _harmonic_spec(cfg)
    power = jnp.abs(spec) ** 2
    fb = np.asarray(mel_filterbank(cfg), np.float64)
    target = 1.5 * np.einsum("mf,...ft->...mt", fb, np.asarray(power, np.float64))
    prob = Problem(mel=jnp.asarray(target, jnp.float32), magnitude=jnp.abs(spec))
    rel = np.abs(np.asarray(mel_projection(spec, prob, cfg, "free", "relative"))).astype(np.float64) ** 2
    euc = np.abs(np.asarray(mel_projection(spec, prob, cfg, "free", "euclidean"))).astype(np.float64) ** 2
    mid = slice(4, -4)  # frames away from the edges
    np.testing.assert_allclose((fb @ rel)[:, mid], target[:, mid], rtol=2e-2, atol=1e-3 * target.max())
    loud = np.asarray(power)[:, mid] > 1e-3 * float(power.max())
    ratio_rel = rel[:, mid][loud] / np.asarray(power, np.float64)[:, mid][loud]
    ratio_euc = euc[:, mid][loud] / np.asarray(power, np.float64)[:, mid][loud]
    assert np.median(np.abs(ratio_rel - 1.5)) < 0.02 < np.median(np.abs(ratio_euc - 1.5))


def test_extend_fills_the_band_above_fmax_with_a_rolled_off_level():
    cfg = MelConfig.preset("hifigan")  # fmax 8 kHz at 22.05 kHz
    spec = _harmonic_spec(cfg)
    mel = transforms.mel_from_magnitude(jnp.abs(spec), cfg)
    prob = Problem(mel=mel, magnitude=jnp.abs(spec))
    out = np.abs(np.asarray(mel_projection(spec, prob, cfg, "extend")))
    freqs = np.arange(cfg.n_freq) * cfg.sample_rate / cfg.n_fft
    above = freqs > cfg.fmax
    top = np.asarray(mel_filterbank(cfg))[-1] > 0
    level = np.sqrt(np.mean(out[top] ** 2, axis=0))
    np.testing.assert_allclose(out[above], level * (cfg.fmax / freqs[above, None]) ** 8, rtol=1e-3, atol=1e-7)


def test_options_are_checked_with_the_name_and_the_choices():
    with pytest.raises(ParameterError, match="metric"):
        MelGriffinLim(metric="cosine")
    with pytest.raises(ParameterError, match="outside"):
        ADMMGriffinLim(outside="mirror")
    with pytest.raises(ParameterError, match="init="):
        reconstruct(np.ones((80, 10), np.float32), HIFI, init="heap", progress=False)


def test_init_names_set_the_first_stages_phase():
    x = _chirp_and_clicks(HIFI.sample_rate, 0.5)
    mel = np.asarray(transforms.mel_spectrogram(x, HIFI))
    assert reconstruct(mel, HIFI, n_iter=[5, 5], progress=False).settings["stages"][0]["init_phase"] == "pghi"
    default = reconstruct(mel, HIFI, n_iter=[5, 5], init="zero", progress=False)  # a start named wins
    assert default.settings["stages"][0]["init_phase"] == "zero"
    assert [s["metric"] for s in default.settings["stages"]] == ["auto", "auto"]
    pghi = reconstruct(mel, HIFI, n_iter=[5, 5], init="pghi", progress=False)
    assert pghi.settings["stages"][0]["init_phase"] == "pghi"
    assert float(pghi.evaluations["mel_sc"][0]) != float(default.evaluations["mel_sc"][0])  # a different start


def test_relative_metric_fits_a_power_mel_that_the_euclidean_one_does_not(speech_sample):
    """At librosa's settings (power 2, n_fft 2048) the Euclidean projection stalls; the relative one fits."""
    cfg = LIBROSA
    x, sr = speech_sample
    x = np.asarray(librosa_resample(x, sr, cfg.sample_rate))[: int(1.5 * cfg.sample_rate)]
    mel = np.asarray(transforms.mel_spectrogram(x, cfg))

    def run(metric):
        stages = [(ADMMGriffinLim(magnitude="mel", init_phase="pghi", metric=metric), 300),
                  (MelGriffinLim(metric=metric), 200)]
        return float(reconstruct(mel, cfg, method=stages, progress=False).mel_sc)

    rel, euc = run("relative"), run("euclidean")
    assert rel < 0.25 * euc  # measured: 0.0023 vs 0.025
    assert run("auto") == pytest.approx(rel, rel=1e-3)


def librosa_resample(x, sr, target):
    import librosa

    return librosa.resample(np.asarray(x, np.float32), orig_sr=sr, target_sr=target)


def test_padding_never_reaches_an_items_pghi_phase():
    """In a padded batch (``frame_mask``) an item's PGHI phase is the one it has alone, its last frame too."""
    x = _chirp_and_clicks(HIFI.sample_rate, 0.5)
    mag = jnp.abs(transforms.stft(x, HIFI))
    frames = mag.shape[-1]
    padded = jnp.pad(mag, ((0, 0), (0, 7)))
    mask = (jnp.arange(frames + 7) < frames).astype(jnp.float32)[:, None]
    alone = pghi_phase(mag, HIFI)
    np.testing.assert_allclose(pghi_phase(padded, HIFI, frame_mask=mask)[:, :frames], alone, atol=1e-4)
    assert not np.allclose(pghi_phase(padded, HIFI)[:, frames - 1], alone[:, frames - 1], atol=1e-4)
