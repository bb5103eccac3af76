"""Each method's pure (init, step): jittable, and it does what the literature says it does."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from melrecon import PRESETS, reconstruct
from melrecon.algorithms import Problem, STFTGradientDescent, WaveformGradientDescent, agla, fgla, gla
from melrecon.core import transforms
from melrecon.core.config import ParameterError

CFG = PRESETS["seed"]


@pytest.fixture(scope="module")
def clip(speech_sample):
    """1.5 s of the bundled speech at the seed's 16 kHz (resampled once)."""
    import soxr

    x, sr = speech_sample
    y = soxr.resample(x, sr, CFG.sample_rate).astype(np.float32)
    return y[: int(1.5 * CFG.sample_rate)]


@pytest.fixture(scope="module")
def problem(clip):
    mag = transforms.magnitude(transforms.stft(clip, CFG))
    return Problem(mel=transforms.mel_from_magnitude(mag, CFG), magnitude=mag)


def _run(algo, problem, n):
    state = jax.jit(algo.init, static_argnums=1)(problem, CFG, jax.random.key(0))
    step = jax.jit(algo.step, static_argnums=1)
    terms = []
    for _ in range(n):
        state, t = step(problem, CFG, state)
        terms.append({k: float(v) for k, v in t.items()})
    return state, terms


@pytest.mark.parametrize("make", [gla, fgla, agla], ids=["gla", "fgla", "agla"])
def test_griffin_lim_lowers_inconsistency(make, problem):
    _, terms = _run(make(), problem, 40)
    first, last = terms[0]["inconsistency"], terms[-1]["inconsistency"]
    assert np.isfinite(last) and last < 0.5 * first


def _iterations_to_reach(name, mel, level, limit):
    res = reconstruct(mel, CFG, method=name, n_iter=limit, progress=False, chunk_size=limit)
    curve = res.history["inconsistency"]
    hits = np.nonzero(curve <= level)[0]
    return int(hits[0]) + 1 if hits.size else limit + 1


def test_fast_and_accelerated_reach_a_target_inconsistency_sooner_than_gla(clip):
    mel = np.asarray(transforms.mel_spectrogram(clip, CFG))
    gla_curve = reconstruct(mel, CFG, method="gla", n_iter=150, progress=False).history["inconsistency"]
    level = float(gla_curve[-1])  # what plain GLA reaches in 150 iterations
    n_fgla = _iterations_to_reach("fgla", mel, level, 150)
    n_agla = _iterations_to_reach("agla", mel, level, 150)
    assert n_fgla < 100 and n_agla < 100, (n_fgla, n_agla)


def test_momentum_zero_is_plain_gla(problem):
    from melrecon.algorithms import GriffinLim

    s1, _ = _run(gla(), problem, 5)
    s2, _ = _run(GriffinLim(alpha=0.0, gamma=1.0, name="x"), problem, 5)
    np.testing.assert_allclose(np.asarray(s1.c), np.asarray(s2.c), rtol=1e-5, atol=1e-5)


def _output_mel_sc(problem, spec):
    from melrecon.core.losses import project_consistent, relative_error

    consistent = project_consistent(spec, CFG)
    return float(relative_error(problem.mel, transforms.mel_from_magnitude(jnp.abs(consistent), CFG)))


def test_stft_gradient_descent_lowers_its_loss_and_the_output_mel_error(problem):
    # Start from a GL estimate, as in the seed's pipeline.
    gl_state, _ = _run(fgla(), problem, 30)
    spec = fgla().spectrogram(problem, CFG, gl_state)
    gd = STFTGradientDescent(learning_rate=1e-2)
    state = gd.init(problem, CFG, jax.random.key(1), spec)
    step = jax.jit(gd.step, static_argnums=1)
    losses = []
    for _ in range(60):
        state, t = step(problem, CFG, state)
        losses.append(float(t["loss"]))
    assert losses[-1] < 0.5 * losses[0]
    # the audio it stands for (iSTFT of X) matches the target Mel better than the GL start
    assert _output_mel_sc(problem, gd.spectrogram(problem, CFG, state)) < 0.8 * _output_mel_sc(problem, spec)


@pytest.mark.parametrize("optimizer,lr", [("lbfgs", None), ("adam", 1e-2)])
def test_waveform_descent_lowers_the_mel_error(problem, optimizer, lr):
    wg = WaveformGradientDescent(optimizer=optimizer, learning_rate=lr)
    _, terms = _run(wg, problem, 30)
    assert terms[-1]["loss"] < 0.75 * terms[0]["loss"]


def test_optax_instance_is_accepted(problem):
    import optax

    gd = STFTGradientDescent(optimizer=optax.sgd(1e-3, momentum=0.9))
    _, terms = _run(gd, problem, 3)
    assert np.isfinite(terms[-1]["loss"])


@pytest.mark.parametrize("kwargs", [dict(optimizer="adamx"), dict(learning_rate=-1.0), dict(mel_loss="l3"),
                                    dict(mel_weight=-1)])
def test_bad_hyperparameters_are_named(kwargs):
    with pytest.raises(ParameterError, match=next(iter(kwargs))):
        STFTGradientDescent(**kwargs)
