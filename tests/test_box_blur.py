"""A box blur of the linear mel: the box nulls read it (and nothing else the degradations make), Richardson-Lucy
undoes it against scipy's moving average, and the noise-aware default inverts such a mel far closer to the clean
one; a clean mel stays the exact method's."""

import numpy as np
import pytest
from scipy.ndimage import uniform_filter

from melrecon import MelConfig, ParameterError, mel_spectrogram, reconstruct
from melrecon.algorithms import Problem, TolerantMelADMM
from melrecon.algorithms.tolerant import BOX_BAND_FLOOR, BOX_FLOOR, auto_choice, box_nulls, unboxed
from melrecon.apps import degrade, metrics
from melrecon.apps.examples import example
from melrecon.core.transforms import compress, decompress
from melrecon.io import load_audio

CFG = MelConfig.preset("hifigan")
ITERS = [40, 20]  # the counts of tests/test_band_sharpen.py: the same compiled runs


@pytest.fixture(scope="module")
def speech():
    """The bundled speech clip's first 1.2 s (103 frames) and its clean linear mel."""
    x, _ = load_audio(example("speech"), sample_rate=CFG.sample_rate)
    x = np.asarray(x[: int(1.2 * CFG.sample_rate)], np.float32)
    return x, np.asarray(decompress(mel_spectrogram(x, CFG), CFG))


def test_the_box_nulls_read_a_box_blur_and_nothing_else(speech):
    _, clean = speech
    for name in ("clean", "noise 0.3", "time smooth 1", "freq smooth 1", "freq smooth 2", "time+freq smooth 1"):
        seen, _ = auto_choice(degrade.degrade(clean, name), CFG)
        assert seen["box_null"] > 2 * BOX_FLOOR and seen["unbox"] == 0.0, (name, seen["box_null"])
    seen, _ = auto_choice(degrade.box_blur(clean, 3), CFG)
    assert seen["box_null"] < BOX_FLOOR / 2 and (seen["unbox"], seen["unbox_bands"]) == (3.0, 3.0)
    # along time only (scipy's moving average over 3 frames): no box across bands
    seen, _ = auto_choice(uniform_filter(clean, size=(1, 3), mode="nearest"), CFG)
    assert (seen["unbox"], seen["unbox_bands"]) == (3.0, 0.0)


def test_box_nulls_need_frames():
    short = np.exp(np.random.default_rng(0).standard_normal((80, 20))).astype(np.float32)
    along, across = box_nulls(Problem(mel=uniform_filter(short, 3, mode="nearest"), magnitude=None), CFG)
    assert float(along[0, 0]) == 1.0 and float(across[0, 0]) < BOX_BAND_FLOOR  # 20 frames: no reading along time


def test_richardson_lucy_undoes_scipys_moving_average(speech):
    _, clean = speech
    blurred = uniform_filter(clean, size=3, mode="nearest").astype(np.float32)
    on = np.full((1, 1), 3.0, np.float32)
    restored = np.asarray(unboxed(Problem(mel=blurred, magnitude=None), on, on).mel)
    loud = clean > 1e-3 * clean.max()
    err = lambda m: np.mean(np.abs(np.log(np.maximum(m, 1e-10)) - np.log(clean))[loud])  # noqa: E731
    assert err(restored) < 0.5 * err(blurred)
    assert restored.min() >= 0  # multiplicative: stays a mel
    off = np.zeros((1, 1), np.float32)
    np.testing.assert_array_equal(np.asarray(unboxed(Problem(mel=blurred, magnitude=None), off, off).mel), blurred)


def test_inverting_a_box_blurred_mel_fits_the_clean_mel_far_better(speech):
    _, clean = speech
    m = compress(degrade.box_blur(clean, 3), CFG)
    exact = reconstruct(m, CFG, method="meladmm+melgl", n_iter=ITERS, progress=False)
    auto = reconstruct(m, CFG, method="tolmeladmm+tolmelgl", n_iter=ITERS, progress=False)
    assert float(np.asarray(auto.history["unbox"])[-1]) == 3.0
    sc = {name: metrics.mel_spectral_convergence(clean, np.asarray(r.audio), CFG, reference_is_mel=True)
          for name, r in (("exact", exact), ("auto", auto))}
    assert sc["auto"] < 0.6 * sc["exact"], sc


def test_a_clean_mel_is_not_unboxed(speech):
    _, clean = speech
    auto = reconstruct(compress(clean, CFG), CFG, method="tolmeladmm+tolmelgl", n_iter=ITERS, progress=False)
    assert float(np.asarray(auto.history["unbox"])[-1]) == 0.0


@pytest.mark.parametrize("value", ["box", 2, -3, 4.5, True])
def test_unbox_option_is_checked(value):
    with pytest.raises(ParameterError, match="unbox"):
        TolerantMelADMM(unbox=value)
