"""Over-smoothing across bands: the band-spread estimator, the deconvolution and the degradations behind them."""

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d, uniform_filter

from melrecon import MelConfig, ParameterError, mel_spectrogram, reconstruct
from melrecon.algorithms import Problem, TolerantMelADMM
from melrecon.algorithms.tolerant import auto_choice, band_spread, deblurred, deblurred_log
from melrecon.apps import degrade, metrics
from melrecon.apps.examples import example
from melrecon.core.transforms import compress, decompress
from melrecon.io import load_audio

CFG = MelConfig.preset("hifigan")
ITERS = [40, 20]  # one compiled run per method, shared by the tests that invert


@pytest.fixture(scope="module")
def speech():
    """The bundled speech clip's first 1.2 s and its clean linear mel."""
    x, _ = load_audio(example("speech"), sample_rate=CFG.sample_rate)
    x = np.asarray(x[: int(1.2 * CFG.sample_rate)], np.float32)
    return x, np.asarray(decompress(mel_spectrogram(x, CFG), CFG))


def _loud_log_error(mel, clean):
    """Mean absolute log difference over the bins within 40 dB of the clean mel's peak."""
    loud = clean > 1e-4 * clean.max()
    return float(np.mean(np.abs(np.log(np.maximum(mel, 1e-10)) - np.log(clean))[loud]))


def test_band_spread_reads_a_known_blur_and_nothing_on_clean_speech(speech):
    _, clean = speech
    seen = {s: auto_choice(clean if s == 0 else degrade.smooth_frequency(clean, s), CFG)[0] for s in (0, 1, 2)}
    assert seen[0]["deblur"] == 0.0  # clean speech: left alone
    assert 0.75 <= seen[1]["deblur"] <= 1.25  # a blur of 1 band reads about 1 band
    assert seen[2]["deblur"] > seen[1]["deblur"] + 0.3
    # a Gaussian blur of s bands adds about s^2 to the spread (the clean mel's own value is the baseline)
    gained = seen[1]["band_spread"] - seen[0]["band_spread"]
    assert 0.7 <= gained <= 1.3
    # a blur along time does not read as a blur across bands
    assert auto_choice(degrade.smooth_time(clean, 1.0), CFG)[0]["deblur"] == 0.0


def test_band_spread_needs_enough_bands_and_a_loud_frame():
    assert float(band_spread(Problem(mel=np.ones((8, 20), np.float32), magnitude=None), CFG)[0, 0]) == 0.0
    silent = np.zeros((80, 20), np.float32)
    assert float(band_spread(Problem(mel=silent, magnitude=None), CFG)[0, 0]) == 0.0


def test_deconvolution_undoes_a_gaussian_blur_of_a_smooth_profile():
    """Against scipy's Gaussian blur: a band profile with structure at all scales comes back closely."""
    rng = np.random.default_rng(0)
    bands = np.arange(80)
    profile = -0.05 * bands + np.sin(bands / 1.7) + 0.5 * rng.standard_normal(80)
    log = np.stack([profile, profile[::-1]], axis=1)  # (bands, frames)
    blurred = gaussian_filter1d(log, 1.0, axis=0, mode="reflect")
    restored = np.asarray(deblurred_log(blurred.astype(np.float32), np.float32(1.0) * np.ones((1, 1), np.float32)))
    inner = slice(4, -4)  # the mirror extension is exact for scipy's "reflect" edges; keep a margin anyway
    assert np.mean(np.abs(restored - log)[inner]) < 0.6 * np.mean(np.abs(blurred - log)[inner])
    unchanged = np.asarray(deblurred_log(blurred.astype(np.float32), np.zeros((1, 1), np.float32)))
    np.testing.assert_array_equal(unchanged, blurred.astype(np.float32))


def test_automatic_restoration_brings_a_band_blurred_mel_closer_to_the_clean_one(speech):
    _, clean = speech
    for sigma, ratio in ((1.0, 0.6), (2.0, 0.9)):  # a blur of 2 bands leaves little to recover
        given = degrade.smooth_frequency(clean, sigma)
        seen, target = auto_choice(given, CFG)
        assert seen["deblur"] > 0
        assert _loud_log_error(target, clean) < ratio * _loud_log_error(given, clean)
    both = degrade.smooth_time_frequency(clean, 1.0)
    seen, target = auto_choice(both, CFG)
    assert seen["deblur"] > 0 and seen["sharpen"] > 0  # time sharpening is read on the deblurred mel
    assert _loud_log_error(target, clean) < 0.75 * _loud_log_error(both, clean)


def test_nothing_detected_is_the_exact_method_bit_for_bit(speech):
    _, clean = speech
    problem = Problem(mel=clean, magnitude=None)
    np.testing.assert_array_equal(np.asarray(deblurred(problem, np.zeros((1, 1), np.float32)).mel), clean)
    m = compress(clean, CFG)
    exact = reconstruct(m, CFG, method="meladmm+melgl", n_iter=ITERS, progress=False)
    auto = reconstruct(m, CFG, method="tolmeladmm+tolmelgl", n_iter=ITERS, progress=False)
    assert float(np.asarray(auto.history["deblur"])[-1]) == 0.0
    np.testing.assert_array_equal(np.asarray(auto.audio), np.asarray(exact.audio))


def test_inverting_a_band_blurred_mel_fits_the_clean_mel_better(speech):
    _, clean = speech
    m = compress(degrade.smooth_frequency(clean, 1.0), CFG)
    exact = reconstruct(m, CFG, method="meladmm+melgl", n_iter=ITERS, progress=False)
    auto = reconstruct(m, CFG, method="tolmeladmm+tolmelgl", n_iter=ITERS, progress=False)
    sc_exact = metrics.mel_spectral_convergence(clean, np.asarray(exact.audio), CFG, reference_is_mel=True)
    sc_auto = metrics.mel_spectral_convergence(clean, np.asarray(auto.audio), CFG, reference_is_mel=True)
    assert sc_auto < 0.8 * sc_exact


def test_deblur_option_is_checked():
    with pytest.raises(ParameterError, match="deblur"):
        TolerantMelADMM(deblur="sharp")
    with pytest.raises(ParameterError, match="deblur"):
        TolerantMelADMM(deblur=-1.0)


def test_new_degradations_against_direct_computations():
    rng = np.random.default_rng(1)
    mel = np.exp(rng.standard_normal((2, 12, 9))).astype(np.float32)
    log = np.log(mel.astype(np.float64))
    both = gaussian_filter1d(gaussian_filter1d(log, 1.0, axis=-1, mode="nearest"), 0.5, axis=-2, mode="nearest")
    np.testing.assert_allclose(degrade.smooth_time_frequency(mel, 1.0, band_sigma=0.5), np.exp(both), rtol=1e-5)
    box = degrade.box_blur(mel, 3)
    direct = sum(mel[:, 4 + i, 4 + j] for i in (-1, 0, 1) for j in (-1, 0, 1)) / 9.0  # an interior bin
    np.testing.assert_allclose(box[:, 4, 4], direct, rtol=1e-5)
    np.testing.assert_allclose(box, uniform_filter(mel.astype(np.float64), (1, 3, 3), mode="nearest"), rtol=1e-5)
    with pytest.raises(ParameterError, match="size"):
        degrade.box_blur(mel, 0)
    for name in ("freq smooth 0.5", "freq smooth 2", "time+freq smooth 1", "box 3x3"):
        assert degrade.degrade(mel, name).shape == mel.shape
