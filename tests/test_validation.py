"""Every bad input gets a ParameterError naming the parameter, the value and the fix; silence and
diverging runs never give NaN; interrupts return the work so far."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import melrecon as mr
from melrecon import MelConfig, ParameterError
from melrecon.algorithms import Problem
from melrecon.apps import metrics
from melrecon.core import losses, transforms
from melrecon.core.validation import check_mel, min_frames, min_samples
from melrecon.methods.diagnostics import NoProgressWarning
from melrecon.methods.runner import trace_count

SEED = MelConfig.preset("seed")
HIFI = MelConfig.preset("hifigan")
LIBROSA = MelConfig.preset("librosa")
DB = SEED.replace(compression="db")


def tone(n=4000, sr=16000, f=440.0, amp=0.3):
    t = np.arange(n) / sr
    return (amp * np.sin(2 * np.pi * f * t)).astype(np.float32)


@pytest.fixture(scope="module")
def seed_mel():
    return np.asarray(mr.mel_spectrogram(tone(), SEED))


@pytest.fixture(scope="module")
def hifi_mel():
    return np.asarray(mr.mel_spectrogram(tone(22050 // 4, 22050), HIFI))


# ------------------------------------------------------------------------------------------ Mel arrays
def _with(mel, value, where=(0, 3)):
    out = mel.copy()
    out[where] = value
    return out


MEL_CASES = [
    # id, config, make(mel_seed, mel_hifi) -> bad mel, fragments expected in the message
    ("nan", SEED, lambda s, h: _with(s, np.nan), ["non-finite", "NaN", "mel"]),
    ("+inf", SEED, lambda s, h: _with(s, np.inf), ["non-finite", "+inf"]),
    ("-inf-log-of-zero", HIFI, lambda s, h: _with(h, -np.inf), ["-inf", "clamp before the log"]),
    ("negative-linear", SEED, lambda s, h: _with(s, -0.5), ["negative", "compression='none'", "'db'"]),
    ("db-given-for-log", HIFI, lambda s, h: 20 * np.log10(np.exp(h)), ["decibels", "compression='db'"]),
    ("linear-huge-for-log", HIFI, lambda s, h: np.exp(h) * 1e15, ["too large for compression='log'"]),
    ("db-out-of-range", DB, lambda s, h: np.full((128, 10), 400.0, np.float32), ["dB", "does not look like decibels"]),
    ("db-below-floor", DB, lambda s, h: np.full((128, 10), -500.0, np.float32), ["far below the floor"]),
    ("n_mels", SEED, lambda s, h: h, ["80 bands", "n_mels=128", "replace(n_mels=80)"]),
    ("transposed", SEED, lambda s, h: s[:, :20].T.copy(), ["transposed", "mel.T"]),
    ("zero-frames", SEED, lambda s, h: s[:, :0], ["no frames"]),
    ("too-few-frames", SEED, lambda s, h: s[:, :1], ["1 frame(s)", "at least 2 frames"]),
    ("complex", SEED, lambda s, h: s.astype(np.complex64), ["dtype complex64", "real floating-point"]),
    ("bool", SEED, lambda s, h: s > 0, ["dtype bool"]),
    ("strings", SEED, lambda s, h: np.full((128, 4), "a"), ["dtype <U1"]),
    ("ragged", SEED, lambda s, h: [[1.0, 2.0], [3.0]], ["could not be read as an array"]),
    ("rank-1", SEED, lambda s, h: s[:, 0], ["shape (128,)", "at least 2 axes"]),
    ("rank-0", SEED, lambda s, h: np.float32(1.0), ["shape ()"]),
    ("overflow", SEED, lambda s, h: np.full((128, 20), 1e20, np.float32), ["too large to process in float32"]),
]


@pytest.mark.parametrize("case", MEL_CASES, ids=[c[0] for c in MEL_CASES])
def test_bad_mel_is_refused_before_tracing(case, seed_mel, hifi_mel):
    name, cfg, make, fragments = case
    bad = make(seed_mel, hifi_mel)
    calls = [lambda: check_mel(bad, cfg), lambda: mr.reconstruct(bad, cfg, method="gla", n_iter=2, progress=False)]
    if name == "too-few-frames":  # one frame has a magnitude, it just describes no samples
        assert np.asarray(mr.mel_to_linear(bad, cfg)).shape == (cfg.n_freq, 1)
    else:
        calls.append(lambda: mr.mel_to_linear(bad, cfg))
    for call in calls:
        traces = trace_count()
        with pytest.raises(ParameterError) as info:
            call()
        assert trace_count() == traces  # refused before any chunk was traced
        for fragment in fragments:
            assert fragment in str(info.value), (fragment, str(info.value))


def test_mel_that_looks_linear_under_log_warns(seed_mel):
    cfg = SEED.replace(compression="log")
    lin = seed_mel / seed_mel.max() * 5 + 1.0  # all >= 1: its natural log would never be negative
    with pytest.warns(UserWarning, match="is it linear"):
        check_mel(lin, cfg)


def test_valid_mels_pass_unchanged(seed_mel, hifi_mel):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(check_mel(seed_mel, SEED), seed_mel)
        np.testing.assert_array_equal(check_mel(hifi_mel, HIFI), hifi_mel)
        # float64 and integer mels are accepted and become float32
        assert check_mel(seed_mel.astype(np.float64), SEED).dtype == np.float32
        assert check_mel(np.ones((2, 128, 5), np.int64), SEED).shape == (2, 128, 5)


def test_mels_from_other_pipelines_in_the_wrong_compression(speech_sample):
    import librosa

    x, sr = speech_sample
    assert sr == HIFI.sample_rate
    x = x[: sr // 2]
    log_mel = np.asarray(mr.mel_spectrogram(x, HIFI))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_mel(log_mel, HIFI)  # the right compression: silent
    linear = librosa.feature.melspectrogram(y=x, sr=sr, n_fft=1024, hop_length=256, n_mels=80, fmax=8000, power=1.0)
    # decibels (librosa's usual display scaling) where a natural log is configured
    for db in (librosa.amplitude_to_db(linear, ref=np.max), librosa.amplitude_to_db(linear)):
        with pytest.raises(ParameterError, match="looks like decibels"):
            mr.reconstruct(db, HIFI, method="gla", n_iter=1, progress=False)
    # a linear mel where a natural log is configured
    with pytest.raises(ParameterError, match="looks linear"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_mel(linear * 100, HIFI)
    with pytest.warns(UserWarning, match="is it linear"):
        check_mel(linear / linear.max() * 10 + 1.0, HIFI)
    # a log or dB mel where a linear one is configured
    with pytest.raises(ParameterError, match="negative values"):
        check_mel(log_mel, HIFI.replace(compression="none"))
    # a natural-log mel where decibels are configured
    with pytest.warns(UserWarning, match="narrow for decibels.*is it a natural log"):
        check_mel(np.maximum(log_mel, -11), HIFI.replace(compression="db"))


@pytest.mark.parametrize("cfg", [SEED, HIFI, LIBROSA], ids=lambda c: c.name)
def test_min_frames_is_the_shortest_reconstructible_mel(cfg):
    t = min_frames(cfg)
    assert cfg.n_samples(t) >= 1 and (t == 1 or cfg.n_samples(t - 1) < min_samples(cfg))
    audio = tone(cfg.n_samples(t), cfg.sample_rate)
    mel = np.asarray(mr.mel_spectrogram(audio, cfg))
    assert mel.shape == (cfg.n_mels, t)
    if cfg.name != "librosa":  # (same code path; spare a compilation)
        out = mr.reconstruct(mel, cfg, method="gla", n_iter=2, progress=False)
        assert out.audio.shape == (cfg.n_samples(t),) and np.isfinite(out.audio).all()


# ------------------------------------------------------------------------------------------------ audio
AUDIO_CASES = [
    ("empty", np.zeros(0, np.float32), {}, ["empty"]),
    ("empty-batch", np.zeros((0, 4000), np.float32), {}, ["empty"]),
    ("scalar", np.float32(0.5), {}, ["scalar"]),
    ("nan", _with(tone(), np.nan, (10,)), {}, ["non-finite", "NaN", "nan_to_num"]),
    ("inf", _with(tone(), -np.inf, (10,)), {}, ["-inf"]),
    ("complex", tone().astype(np.complex64), {}, ["dtype complex64"]),
    ("bool", tone() > 0, {}, ["dtype bool"]),
    ("strings", np.array(["a", "b"]), {}, ["dtype <U1"]),
    ("samples-channels", np.stack([tone(), tone()], axis=1), {}, ["(samples, channels)", "mean(axis=-1)", ".T"]),
    ("sample-rate", tone(), {"sample_rate": 44100}, ["sample_rate=44100", "16000", "resample"]),
    ("sample-rate-type", tone(), {"sample_rate": "fast"}, ["sample_rate='fast'", "integer"]),
]


@pytest.mark.parametrize("case", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
@pytest.mark.parametrize("fn", ["stft", "mel_spectrogram"])
def test_bad_audio_gives_parameter_error(case, fn):
    _, audio, kw, fragments = case
    with pytest.raises(ParameterError) as info:
        getattr(mr, fn)(audio, SEED, **kw)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_audio_too_short_names_the_minimum():
    with pytest.raises(ParameterError, match=r"100 samples.*at least 256 samples"):
        mr.mel_spectrogram(tone(100), HIFI)
    with pytest.raises(ParameterError, match="at least 256"):
        jax.jit(lambda x: mr.stft(x, HIFI))(tone(100))  # static shapes are checked under jit too


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.uint8])
def test_integer_pcm_is_scaled_with_a_warning(dtype):
    x = tone(amp=0.5)
    if dtype == np.uint8:
        pcm, back = np.round(x * 128 + 128).astype(np.uint8), None
        back = (pcm.astype(np.float64) - 128) / 128
    else:
        full = float(-np.iinfo(dtype).min)
        pcm = np.round(x * full).astype(dtype)
        back = pcm.astype(np.float64) / full
    with pytest.warns(UserWarning, match=f"integer PCM \\({np.dtype(dtype)}\\)"):
        mel_int = np.asarray(mr.mel_spectrogram(pcm, SEED))
    mel_float = np.asarray(mr.mel_spectrogram(back.astype(np.float32), SEED))
    np.testing.assert_allclose(mel_int, mel_float, rtol=1e-5, atol=1e-6)


def test_channels_first_is_a_batch():
    x = np.stack([tone(), 0.5 * tone()])
    mel = np.asarray(mr.mel_spectrogram(x, SEED))
    np.testing.assert_allclose(mel[1], np.asarray(mr.mel_spectrogram(0.5 * tone(), SEED)), rtol=1e-5, atol=1e-7)


def test_matching_sample_rate_is_accepted():
    a = np.asarray(mr.mel_spectrogram(tone(), SEED, sample_rate=16000))
    np.testing.assert_array_equal(a, np.asarray(mr.mel_spectrogram(tone(), SEED)))


def test_transforms_stay_jittable_and_differentiable():
    x = tone()
    eager = np.asarray(mr.mel_spectrogram(x, SEED))
    np.testing.assert_allclose(np.asarray(jax.jit(lambda a: mr.mel_spectrogram(a, SEED))(x)), eager, rtol=1e-5,
                               atol=1e-6)
    g = jax.grad(lambda a: jnp.sum(mr.mel_spectrogram(a, HIFI)))(tone(5512, 22050))
    assert g.shape == (5512,) and np.isfinite(np.asarray(g)).all()
    batched = jax.vmap(lambda a: mr.mel_spectrogram(a, SEED))(np.stack([x, x]))
    assert batched.shape == (2, *eager.shape)
    # values are not inspected under tracing: a NaN inside jit propagates instead of raising
    bad = _with(x, np.nan, (10,))
    assert np.isnan(np.asarray(jax.jit(lambda a: mr.stft(a, SEED))(bad))).any()


def test_silence_gives_the_floor_not_nan():
    for cfg in (SEED, HIFI, LIBROSA, DB, SEED.replace(compression="log10")):
        mel = np.asarray(mr.mel_spectrogram(np.zeros(cfg.n_fft * 2, np.float32), cfg))
        assert np.isfinite(mel).all()
        if cfg.compression != "none":
            expected = {"log": np.log(cfg.floor), "log10": np.log10(cfg.floor),
                        "db": 20 * np.log10(cfg.floor)}[cfg.compression]
            np.testing.assert_allclose(mel, expected, rtol=1e-5)


ALL_METHODS = ["gla", "fgla", "agla", "gd", "waveform", "lbfgs", "gl+gd"]


@pytest.mark.parametrize("method", ALL_METHODS)
def test_all_zero_audio_gives_silence_with_every_method(method):
    # hifigan: a log mel at its floor everywhere (the linear seed preset is covered just below)
    cfg = HIFI
    n = 3 * cfg.hop_length + cfg.n_fft
    mel = np.asarray(mr.mel_spectrogram(np.zeros(n, np.float32), cfg))
    iters = dict(gl_iters=3, gd_iters=3) if "+" in method else dict(n_iter=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no divergence warning either
        # (4 steps of a gradient method from noise may end with no progress: said, but not a divergence)
        warnings.simplefilter("ignore", NoProgressWarning)
        out = mr.reconstruct(mel, cfg, method=method, chunk_size=4, progress=False, **iters)
    assert out.stop_reason is None
    assert out.audio.shape == (cfg.n_samples(mel.shape[-1]),)
    assert np.isfinite(out.audio).all()
    # the floor of a log mel (1e-5) describes a -90 dB signal at most: silence
    assert np.abs(out.audio).max() < 1e-3


@pytest.mark.parametrize("method", ALL_METHODS)
def test_exactly_zero_linear_mel_gives_silence(method):
    mel = np.zeros((SEED.n_mels, 12), np.float32)
    iters = dict(gl_iters=3, gd_iters=3) if "+" in method else dict(n_iter=4)
    out = mr.reconstruct(mel, SEED, method=method, chunk_size=4, progress=False, **iters)
    assert np.isfinite(out.audio).all() and np.abs(out.audio).max() < 1e-6


# ------------------------------------------------------------------------------- istft, mel_to_linear
@pytest.mark.parametrize("spec, kw, fragment", [
    (np.zeros((10, 5), np.complex64), {}, "10 frequency bins"),
    (np.zeros((257, 0), np.complex64), {}, "no frames"),
    (np.zeros(257, np.complex64), {}, "shape (257,)"),
    (np.full((257, 5), np.nan, np.complex64), {}, "non-finite"),
    (np.zeros((257, 5), np.complex64), {"length": 0}, "length=0 must be >= 1"),
    (np.zeros((257, 5), np.complex64), {"length": 2.5}, "length=2.5 must be an integer"),
    (np.zeros((257, 5), bool), {}, "dtype bool"),
])
def test_istft_bad_input(spec, kw, fragment):
    with pytest.raises(ParameterError) as info:
        mr.istft(spec, SEED, **kw)
    assert fragment in str(info.value)


@pytest.mark.parametrize("kw, fragment", [
    ({"method": "lstsq"}, "method='lstsq'"),
    ({"n_iter": -1}, "n_iter=-1"),
    ({"n_iter": 1.5}, "n_iter=1.5"),
])
def test_mel_to_linear_bad_options(seed_mel, kw, fragment):
    with pytest.raises(ParameterError, match=fragment.replace("(", r"\(").replace(".", r"\.")):
        mr.mel_to_linear(seed_mel, SEED, **kw)


def test_mel_from_magnitude_checks_bins():
    with pytest.raises(ParameterError, match="513"):
        transforms.mel_from_magnitude(np.ones((257, 4), np.float32), HIFI)


# ------------------------------------------------------------------------------------------------ metrics
@pytest.mark.parametrize("fn", ["evaluate", "spectral_convergence", "mel_spectral_convergence",
                                "log_spectral_distance", "mel_distance_db"])
@pytest.mark.parametrize("bad, fragment", [
    (np.zeros(0, np.float32), "empty"),
    (_with(tone(), np.nan, (3,)), "non-finite"),
    (tone()[:, None] * np.ones((1, 2), np.float32), "(samples, channels)"),
])
def test_metrics_refuse_bad_audio(fn, bad, fragment):
    kw = {"perceptual": False} if fn == "evaluate" else {}
    for ref, est in ((bad, tone()), (tone(), bad)):
        with pytest.raises(ParameterError) as info:
            getattr(metrics, fn)(ref, est, SEED, **kw)
        assert fragment in str(info.value)


def test_metrics_of_silence_are_finite():
    m = metrics.evaluate(tone(), np.zeros(4000, np.float32), SEED, perceptual=False)
    assert all(np.isfinite(v) for v in m.values())
    assert m["mel_sc"] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("fn", ["pesq_wb", "stoi"])
def test_perceptual_metrics_check_sample_rate(fn):
    with pytest.raises(ParameterError, match="sample_rate=0"):
        getattr(metrics, fn)(tone(), tone(), 0)


# ------------------------------------------------------------------------------------------------ configs
CONFIG_CASES = [
    ({"sample_rate": 16000, "fmax": 9000}, ["fmax=9000", "Nyquist", "8000"]),
    ({"fmin": 4000, "fmax": 3000}, ["fmin=4000", "below fmax=3000"]),
    ({"fmin": 100, "fmax": 100}, ["fmin=100", "below fmax=100"]),
    ({"fmin": -1}, ["fmin=-1", ">= 0"]),
    ({"fmax": 0}, ["fmax=0"]),
    ({"n_fft": 256, "hop_length": 512}, ["hop_length=512", "window (256 samples)"]),
    ({"n_fft": 512, "win_length": 400, "hop_length": 401}, ["hop_length=401", "window (400"]),
    ({"n_fft": 256, "win_length": 512}, ["win_length=512", "n_fft=256"]),
    ({"n_fft": 1}, ["n_fft=1", ">= 2"]),
    ({"sample_rate": 0}, ["sample_rate=0"]),
    ({"sample_rate": -16000}, ["sample_rate=-16000"]),
    ({"hop_length": 0}, ["hop_length=0"]),
    ({"n_mels": 0}, ["n_mels=0"]),
    ({"win_length": -5}, ["win_length=-5"]),
    ({"n_fft": 1024.0}, ["n_fft=1024.0", "integer"]),
    ({"n_fft": True}, ["n_fft=True"]),
    ({"hop_length": "256"}, ["hop_length='256'"]),
    ({"fmin": "low"}, ["fmin='low'", "number"]),
    ({"fmax": float("nan")}, ["fmax=nan", "finite"]),
    ({"window": "hanning2"}, ["window='hanning2'", "hann"]),
    ({"compression": "ln10"}, ["compression='ln10'"]),
    ({"power": -1}, ["power=-1"]),
    ({"compression": "log", "floor": 0}, ["floor=0", "> 0"]),
    ({"compression": "db", "floor": -1e-5}, ["floor=-1e-05"]),
    ({"center": False, "pad": 2048, "pad_mode": "reflect", "n_fft": 1024}, ["pad=2048", "n_fft=1024"]),
    ({"pad": -1}, ["pad=-1"]),
    ({"pad_mode": "wrap"}, ["pad_mode='wrap'"]),
    ({"norm": "l2"}, ["norm='l2'"]),
    ({"mel_scale": "bark"}, ["mel_scale='bark'"]),
    ({"center": "yes"}, ["center='yes'"]),
]


@pytest.mark.parametrize("kw, fragments", CONFIG_CASES, ids=[str(c[0]) for c in CONFIG_CASES])
def test_bad_config(kw, fragments):
    with pytest.raises(ParameterError) as info:
        MelConfig(**kw)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_unknown_preset_and_field():
    with pytest.raises(ParameterError, match="preset='hifi-gan' is unknown"):
        mr.get_config("hifi-gan")
    with pytest.raises(ParameterError, match=r"no field\(s\) \['n_mel'\]"):
        MelConfig.preset("hifigan", n_mel=100)
    with pytest.raises(ParameterError, match="must be a MelConfig"):
        mr.mel_spectrogram(tone(), 16000)


@pytest.mark.parametrize("kw", [dict(sample_rate=16000, n_fft=256, n_mels=128),
                                dict(sample_rate=22050, n_fft=512, n_mels=200, fmax=8000.0)])
def test_too_many_mels_warns_like_librosa(kw):
    import librosa

    with pytest.warns(UserWarning, match="empty"):
        librosa.filters.mel(sr=kw["sample_rate"], n_fft=kw["n_fft"], n_mels=kw["n_mels"], fmax=kw.get("fmax"))
    with pytest.warns(UserWarning, match=r"too many for n_fft.*Mel filter\(s\) are empty"):
        MelConfig(**kw)


def test_reasonable_config_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MelConfig(sample_rate=16000, n_fft=512, n_mels=80)


# --------------------------------------------------------------------------------------- reconstruct options
@pytest.mark.parametrize("kw, fragment", [
    ({"method": "griffinlim"}, "unknown method 'griffinlim'"),
    ({"method": "gla", "n_iter": -3}, "n_iter=-3"),
    ({"method": "gla", "n_iter": 2.5}, "n_iter=2.5"),
    ({"method": "gd", "learning_rate": -1.0}, "learning_rate=-1.0"),
    ({"method": "gd", "learning_rate": float("inf")}, "learning_rate=inf"),
    ({"method": "gd", "optimizer": "adagrad2"}, "optimizer='adagrad2'"),
    ({"method": "gd", "mel_loss": "l1"}, "mel_loss='l1'"),
    ({"method": "fgla", "alpha": -0.5}, "alpha=-0.5"),
    ({"method": "gla", "lr": 0.1}, "unknown option(s) ['lr']"),
    ({"init_magnitude": "zeros"}, "init_magnitude='zeros'"),
    ({"seed": 1.5}, "seed=1.5"),
    ({"seed": 2**70}, "seed=1180591620717411303424"),
    ({"callback": "print"}, "callback='print' must be callable"),
    ({"length": 0}, "length=0"),
    ({"chunk_size": 0}, "chunk_size=0"),
])
def test_bad_reconstruct_options(seed_mel, kw, fragment):
    traces = trace_count()
    with pytest.raises(ParameterError) as info:
        mr.reconstruct(seed_mel, SEED, progress=False, **kw)
    assert fragment in str(info.value)
    assert trace_count() == traces


# ------------------------------------------------------------------------------------ numerical safety
ZERO_SPEC = jnp.zeros((SEED.n_freq, 12), jnp.complex64)
ZERO_MEL = jnp.zeros((SEED.n_mels, 12), jnp.float32)
LOSSES = {
    "stft_inconsistency": lambda s: losses.stft_inconsistency(s, SEED),
    "stft_inconsistency_abs": lambda s: losses.stft_inconsistency(s, SEED, relative=False),
    "relative_error": lambda s: losses.relative_error(jnp.abs(ZERO_SPEC), transforms.magnitude(s)),
    "mel_error_linear": lambda s: losses.mel_error(transforms.magnitude(s), ZERO_MEL, SEED, kind="linear"),
    "mel_error_log": lambda s: losses.mel_error(transforms.magnitude(s), ZERO_MEL, SEED, kind="log"),
    "mel_error_sc": lambda s: losses.mel_error(transforms.magnitude(s), ZERO_MEL, SEED, kind="sc"),
    "seed_loss": lambda s: losses.seed_loss(s, ZERO_MEL, SEED),
    "seed_loss_log": lambda s: losses.seed_loss(s, ZERO_MEL, SEED, mel_loss="log"),
    "magnitude_power2": lambda s: jnp.sum(transforms.magnitude(s, 2.0)),
    "mel_spectrogram_log": lambda s: jnp.sum(mr.mel_spectrogram(mr.istft(s, HIFI.replace(n_fft=512, win_length=512,
                                                                                          pad=128)),
                                                                HIFI.replace(n_fft=512, win_length=512, pad=128))),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_gradients_are_finite_at_zero(name):
    fn = LOSSES[name]

    def real_loss(re, im):
        return jnp.sum(fn((re + 1j * im).astype(jnp.complex64)))

    value = real_loss(jnp.real(ZERO_SPEC), jnp.imag(ZERO_SPEC))
    grads = jax.grad(real_loss, argnums=(0, 1))(jnp.real(ZERO_SPEC), jnp.imag(ZERO_SPEC))
    assert np.isfinite(float(value))
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)


@pytest.mark.parametrize("method", ["gla", "fgla", "agla", "gd", "waveform", "lbfgs"])
def test_method_steps_stay_finite_at_zero(method):
    [(algo, _)] = mr.build_stages(method)
    step = jax.jit(algo.step, static_argnums=1)
    # an all-zero target, and a zero magnitude estimate under a non-zero mel
    for mel in (ZERO_MEL, jnp.ones_like(ZERO_MEL)):
        problem = Problem(mel=mel, magnitude=jnp.zeros(ZERO_SPEC.shape, jnp.float32))
        state = algo.init(problem, SEED, jax.random.key(0))
        for _ in range(3):
            state, terms = step(problem, SEED, state)
        for leaf in jax.tree.leaves((state, terms)):
            if jnp.issubdtype(leaf.dtype, jnp.inexact):
                assert np.isfinite(np.asarray(leaf)).all()
        assert np.isfinite(np.asarray(algo.spectrogram(problem, SEED, state))).all()


@pytest.mark.parametrize("method", ["gd", "waveform"])
def test_diverging_run_stops_and_returns_the_best_finite_state(seed_mel, method):
    # SGD (momentum 0.9) with lr=1e6 overflows float32 within the first chunk
    with pytest.warns(RuntimeWarning, match="became non-finite"):
        out = mr.reconstruct(seed_mel, SEED, method=method, n_iter=200, chunk_size=10, optimizer="sgd",
                             learning_rate=1e6, progress=False)
    assert out.stop_reason == "non-finite" and not out.interrupted
    assert out.n_iterations < 200
    assert not np.isfinite(out.history["loss"]).all()  # it really diverged
    assert np.isfinite(out.audio).all() and out.audio.shape == (SEED.n_samples(seed_mel.shape[-1]),)
    finite_sc = out.evaluations["mel_sc"][np.isfinite(out.evaluations["mel_sc"])]
    assert out.mel_sc == pytest.approx(finite_sc.min())
    # the returned audio is the kept estimate: its mel matches the reported Mel SC
    sc = metrics.mel_spectral_convergence(seed_mel, out.audio, SEED, reference_is_mel=True)
    assert sc == pytest.approx(float(out.mel_sc), rel=1e-3, abs=1e-4)


def test_huge_adam_step_keeps_the_starting_point(seed_mel):
    out = mr.reconstruct(seed_mel, SEED, method="gd", n_iter=30, chunk_size=10, learning_rate=1e6, progress=False)
    assert np.isfinite(out.audio).all()
    assert out.best_iteration == 0  # nothing after the (finite) start was better
    assert out.mel_sc == pytest.approx(out.evaluations["mel_sc"][0])


def test_keyboard_interrupt_from_callback_returns_the_result_so_far(seed_mel):
    calls = []

    def callback(progress):
        calls.append(progress.iteration)
        if len(calls) == 2:
            raise KeyboardInterrupt

    out = mr.reconstruct(seed_mel, SEED, method="gl+gd", gl_iters=20, gd_iters=1000, chunk_size=10,
                         callback=callback, progress=False)
    assert out.interrupted and out.stop_reason == "interrupted"
    assert calls == [10, 20] and out.n_iterations == 20
    assert out.audio.shape == (SEED.n_samples(seed_mel.shape[-1]),) and np.isfinite(out.audio).all()
    assert out.mel_sc == pytest.approx(np.nanmin(out.evaluations["mel_sc"]))
    assert out.mel_sc < out.evaluations["mel_sc"][0]  # the 20 iterations done were kept


def test_interrupt_before_anything_is_evaluated_propagates(seed_mel, monkeypatch):
    from melrecon.methods import runner

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.CACHE, "evaluate", boom)  # the first evaluation of the run
    with pytest.raises(KeyboardInterrupt):
        mr.reconstruct(seed_mel, SEED, method="gla", n_iter=10, progress=False)
