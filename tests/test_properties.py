"""Property-based tests (hypothesis): over valid random configs, signal lengths and amplitudes (0, tiny,
huge) the transforms and reconstruct give finite outputs of consistent shapes, and whatever goes wrong
surfaces as the package's own ParameterError, never another exception.

Examples are few and shapes drawn from small sets: JAX compiles once per shape and config.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import melrecon as mr
from melrecon import MelConfig, ParameterError
from melrecon.core.validation import check_audio, check_mel, min_frames, min_samples

FEW = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
FEWER = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
CHEAP = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)

LENGTHS = [1, 100, 1000, 3000]
AMPLITUDES = [0.0, 1e-30, 1e-6, 0.5, 1.0, 1e3]


@st.composite
def configs(draw) -> MelConfig:
    sr = draw(st.sampled_from([8000, 16000, 22050]))
    n_fft = draw(st.sampled_from([128, 256, 512]))
    win = draw(st.sampled_from([n_fft, n_fft // 2]))
    hop = draw(st.sampled_from([win // 4, win // 2, win // 3]))  # // 3: the gather/scatter framing path
    center = draw(st.booleans())
    pad = None if center else draw(st.sampled_from([0, (n_fft - hop) // 2]))
    fmax = draw(st.sampled_from([None, 0.8 * sr / 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty filters (too many bands) are allowed, with a warning
        return MelConfig(
            sample_rate=sr, n_fft=n_fft, win_length=win, hop_length=hop, center=center, pad=pad,
            pad_mode=draw(st.sampled_from(["constant", "reflect"])),
            window=draw(st.sampled_from(["hann", "hamming", "blackman"])),
            n_mels=draw(st.sampled_from([8, 20, 40])), fmin=draw(st.sampled_from([0.0, 30.0, 300.0])), fmax=fmax,
            mel_scale=draw(st.sampled_from(["slaney", "htk"])), norm=draw(st.sampled_from(["slaney", None])),
            power=draw(st.sampled_from([1.0, 2.0])), compression=draw(st.sampled_from(["none", "log", "log10", "db"])),
        )


def signal(kind: str, n: int, amp: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "noise":
        x = rng.uniform(-1, 1, n)
    elif kind == "sine":
        x = np.sin(2 * np.pi * 0.031 * np.arange(n))
    else:  # impulse
        x = np.zeros(n)
        x[n // 2] = 1.0
    return (amp * x).astype(np.float32)


# expected warnings here: "peaks at 1000, far outside [-1, 1]", "no negative value" (loud log mels)
@pytest.mark.filterwarnings("ignore::UserWarning")
@FEW
@given(cfg=configs(), n=st.sampled_from(LENGTHS), amp=st.sampled_from(AMPLITUDES),
       kind=st.sampled_from(["noise", "sine", "impulse"]))
def test_transforms_are_finite_with_consistent_shapes(cfg, n, amp, kind):
    x = signal(kind, n, amp)
    if n < min_samples(cfg):
        with pytest.raises(ParameterError, match=f"at least {min_samples(cfg)} samples"):
            mr.mel_spectrogram(x, cfg)
        return
    t = cfg.n_frames(n)
    spec = np.asarray(mr.stft(x, cfg))
    assert spec.shape == (cfg.n_freq, t) and np.isfinite(spec).all()
    mel = np.asarray(mr.mel_spectrogram(x, cfg))
    assert mel.shape == (cfg.n_mels, t) and np.isfinite(mel).all()
    if cfg.compression == "none":
        assert mel.min() >= 0
    y = np.asarray(mr.istft(spec, cfg, length=n))
    assert y.shape == (n,) and np.isfinite(y).all()
    if cfg.center and cfg.hop_length <= cfg.win_length // 2:
        # every sample lies under a window: the inverse is exact
        np.testing.assert_allclose(y, x, atol=1e-4 * amp + 1e-30, rtol=0)
    mag = np.asarray(mr.mel_to_linear(mel, cfg, method="pinv"))  # (NNLS runs in the reconstruct property)
    assert mag.shape == (cfg.n_freq, t) and np.isfinite(mag).all() and mag.min() >= 0


@pytest.mark.filterwarnings("ignore::UserWarning")
@FEWER
@given(cfg=configs(), n=st.sampled_from([1000, 3000]), amp=st.sampled_from([0.0, 1e-6, 0.5, 1e3]),
       method=st.sampled_from(["gla", "fgla", "gd", "waveform"]))
def test_reconstruct_is_finite_with_the_described_length(cfg, n, amp, method):
    x = signal("noise", n, amp)
    mel = np.asarray(mr.mel_spectrogram(x, cfg))
    t = mel.shape[-1]
    if t < min_frames(cfg):
        with pytest.raises(ParameterError, match="too few"):
            mr.reconstruct(mel, cfg, method=method, n_iter=2, progress=False)
        return
    out = mr.reconstruct(mel, cfg, method=method, n_iter=3, chunk_size=3, progress=False)
    assert out.stop_reason is None
    assert out.audio.shape == (cfg.n_samples(t),) and out.audio.dtype == np.float32
    assert np.isfinite(out.audio).all() and np.isfinite(out.mel_sc)
    assert out.spectrogram.shape == (cfg.n_freq, t)


@CHEAP
@given(data=st.data())
def test_check_mel_accepts_or_raises_parameter_error(data):
    cfg = data.draw(st.sampled_from([MelConfig.preset("seed"), MelConfig.preset("hifigan"),
                                     MelConfig.preset("seed", compression="db")]))
    shape = data.draw(st.tuples(st.sampled_from([cfg.n_mels, cfg.n_mels - 1, 3]), st.integers(0, 4)))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.float16, np.int32, np.complex64, np.bool_]))
    mel = data.draw(hnp.arrays(dtype, shape))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            out = check_mel(mel, cfg)
    except ParameterError as exc:
        assert "mel" in str(exc)
        return
    assert out.dtype == np.float32 and out.shape == shape and np.isfinite(out).all()
    assert shape[0] == cfg.n_mels and shape[1] >= min_frames(cfg)
    if cfg.compression == "none":
        assert out.min() >= 0


@CHEAP
@given(data=st.data())
def test_check_audio_accepts_or_raises_parameter_error(data):
    cfg = data.draw(st.sampled_from([MelConfig.preset("seed"), MelConfig.preset("hifigan")]))
    shape = data.draw(st.sampled_from([(0,), (1,), (300,), (2, 300), (300, 2), ()]))
    dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int16, np.int32, np.uint8, np.complex64,
                                       np.bool_]))
    audio = data.draw(hnp.arrays(dtype, shape))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # integer PCM conversion
            out = check_audio(audio, cfg)
    except ParameterError as exc:
        assert "audio" in str(exc)
        return
    assert out.dtype == np.float32 and out.shape == shape and np.isfinite(out).all()
    if np.issubdtype(dtype, np.integer):
        assert np.abs(out).max(initial=0) <= 1.0


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-5, 4096), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["hann", "log", "db", "slaney", "htk", "reflect", "", "x"]))


@CHEAP
@given(kw=st.dictionaries(st.sampled_from(["sample_rate", "n_fft", "hop_length", "win_length", "window", "center",
                                           "pad_mode", "pad", "n_mels", "fmin", "fmax", "mel_scale", "norm",
                                           "power", "compression", "floor"]), _VALUES, max_size=4))
def test_any_config_is_valid_or_a_parameter_error(kw):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            cfg = MelConfig(**kw)
    except ParameterError as exc:
        assert str(exc)
        return
    # a config that constructs is self-consistent
    assert 0 <= cfg.fmin < cfg.fmax <= cfg.sample_rate / 2
    assert 1 <= cfg.hop_length <= cfg.win_length <= cfg.n_fft
    assert cfg.n_samples(min_frames(cfg)) >= 1
    hash(cfg)
