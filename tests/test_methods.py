"""The reconstruction methods beyond the Griffin-Lim family and the seed's gradient descent:
Mel-consistent Griffin-Lim, ADMM Griffin-Lim, the L-BFGS peer's settings (each a few seconds)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from melrecon import MelConfig, ParameterError, mel_spectrogram, reconstruct
from melrecon.algorithms import ADMMGriffinLim, MelGriffinLim, Problem, WaveformGradientDescent, make_optimizer
from melrecon.algorithms.mel_griffin_lim import mel_projection
from melrecon.core.filters import mel_filterbank
from melrecon.core.losses import relative_error
from melrecon.core.transforms import mel_from_magnitude, mel_to_linear, stft

HIFI = MelConfig.preset("hifigan")


@pytest.fixture(scope="module")
def speech_mel(speech_sample):
    x, sr = speech_sample
    assert sr == HIFI.sample_rate
    x = x[: sr * 2]  # 2 s keep the tests quick
    return x, np.asarray(mel_spectrogram(x, HIFI))


def _problem(x, cfg):
    mag = jnp.abs(stft(jnp.asarray(x), cfg))
    mel = mel_from_magnitude(mag, cfg)
    return Problem(mel=mel, magnitude=mel_to_linear(mel, cfg, compressed=False)), mag


def test_mel_projection_meets_the_mel_constraint(speech_sample):
    x, _ = speech_sample
    prob, true_mag = _problem(x[:22050], HIFI)
    key = jax.random.key(1)
    # A wrong magnitude (true one times random gains) with a random phase.
    gains = jax.random.uniform(key, true_mag.shape, minval=0.5, maxval=1.5)
    spec = (true_mag * gains) * jnp.exp(1j * jax.random.uniform(key, true_mag.shape, maxval=6.28))
    before = relative_error(prob.mel, mel_from_magnitude(jnp.abs(spec), HIFI))
    projected = mel_projection(spec, prob, HIFI)
    after = relative_error(prob.mel, mel_from_magnitude(jnp.abs(projected), HIFI))
    assert float(before) > 0.1
    assert float(after) < 0.1 * float(before)  # exact but for the clipping of negative magnitudes
    # The phase is kept wherever the magnitude stays positive.
    keep = jnp.abs(projected) > 1e-3
    ang = jnp.angle(projected * jnp.conj(spec))
    assert float(jnp.max(jnp.abs(jnp.where(keep, ang, 0.0)))) < 1e-3
    # Projecting a point of the set changes nothing.
    again = mel_projection(jnp.abs(true_mag) * jnp.exp(1j * jnp.angle(spec)), prob, HIFI)
    np.testing.assert_allclose(np.abs(again), np.abs(true_mag), atol=1e-4 * float(jnp.max(true_mag)))


@pytest.mark.parametrize("outside", ["zero", "free", "estimate"])
def test_outside_bins_follow_the_option(speech_sample, outside):
    x, _ = speech_sample
    prob, true_mag = _problem(x[:22050], HIFI)
    uncovered = np.asarray(mel_filterbank(HIFI)).sum(axis=0) <= 0
    assert uncovered.sum() > 100  # fmax = 8 kHz leaves the bins above it unconstrained
    spec = (true_mag + 1.0).astype(jnp.complex64)
    out = np.abs(np.asarray(mel_projection(spec, prob, HIFI, outside)))[uncovered]
    expected = {"zero": 0.0, "free": np.abs(np.asarray(spec))[uncovered],
                "estimate": np.asarray(prob.magnitude)[uncovered]}[outside]
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape), atol=1e-5)


def test_bins_below_fmin_stay_empty(speech_sample):
    """A toolkit that starts its bands at fmin > 0 (ESPnet: 80 Hz) filtered that range out: "free" leaves
    the bins above fmax to consistency but keeps those below fmin at zero (librosa's filterbank says which)."""
    import librosa

    cfg = MelConfig.preset("espnet")
    fb = librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax,
                             htk=cfg.mel_scale == "htk", norm=cfg.norm)
    freqs = librosa.fft_frequencies(sr=cfg.sample_rate, n_fft=cfg.n_fft)
    below, above = (fb.sum(axis=0) <= 0) & (freqs < cfg.fmin), (fb.sum(axis=0) <= 0) & (freqs > cfg.fmax)
    assert below.sum() >= 3 and above.sum() > 100
    x, _ = speech_sample
    prob, true_mag = _problem(x[:22050], cfg)
    spec = (true_mag + 1.0).astype(jnp.complex64)
    out = np.abs(np.asarray(mel_projection(spec, prob, cfg, "free")))
    np.testing.assert_array_equal(out[below], 0.0)
    np.testing.assert_allclose(out[above], np.abs(np.asarray(spec))[above], atol=1e-5)
    # end to end: the output holds no more below fmin than the original does
    mel = np.asarray(mel_spectrogram(x[:22050], cfg))
    y = np.asarray(reconstruct(mel, cfg, method="meladmm+melgl", n_iter=[30, 20], progress=False).audio)

    def low(s):
        return float(np.sum(np.abs(np.asarray(stft(s, cfg)))[below] ** 2) / np.sum(np.asarray(s) ** 2))

    assert low(y) <= 2 * low(x[: len(y)]) + 1e-4


def test_melgl_beats_fast_gl_at_equal_iterations(speech_mel):
    x, mel = speech_mel
    gl = reconstruct(mel, HIFI, method="fgla", n_iter=60, progress=False)
    mgl = reconstruct(mel, HIFI, method="melgl", n_iter=60, progress=False)
    assert float(mgl.mel_sc) < 0.7 * float(gl.mel_sc)


def test_mel_admm_beats_fast_gl_and_lowers_its_inconsistency(speech_mel):
    x, mel = speech_mel
    # ADMM starts slower than fast GL (its dual variable builds up), then overtakes it.
    gl = reconstruct(mel, HIFI, method="fgla", n_iter=120, progress=False)
    adm = reconstruct(mel, HIFI, method="meladmm", n_iter=120, progress=False)
    assert float(adm.mel_sc) < 0.7 * float(gl.mel_sc)
    inc = adm.history["inconsistency"]
    assert inc[-1] < 0.5 * inc[0]


def test_admm_gla_lowers_the_inconsistency(speech_mel):
    _, mel = speech_mel
    r = reconstruct(mel, HIFI, method="admm", n_iter=60, progress=False)
    inc = r.history["inconsistency"]
    assert np.isfinite(inc).all()
    assert inc[-1] < 0.6 * inc[0]
    assert r.settings["stages"][0]["magnitude"] == "estimate"


def test_admm_step_follows_its_updates(speech_sample):
    """One step against the formulas: X = P_M(Z - U), Z' = P_C(X + U), U' = U + X - Z'."""
    from melrecon.algorithms.mel_griffin_lim import mel_projection_tm
    from melrecon.core.transforms import project_consistent_tm

    x, _ = speech_sample
    prob, _ = _problem(x[:22050], HIFI)
    algo = ADMMGriffinLim(magnitude="mel")
    state = algo.init(prob, HIFI, jax.random.key(0))
    state = state._replace(u=0.1 * jnp.roll(state.z, 3, axis=-2))
    new, terms = jax.jit(algo.step, static_argnums=1)(prob, HIFI, state)
    xp = mel_projection_tm(state.z - state.u, state.target, HIFI, "free", "auto")
    z = project_consistent_tm(xp + state.u, HIFI)
    scale = float(jnp.max(jnp.abs(z)))
    np.testing.assert_allclose(np.asarray(new.z), np.asarray(z), atol=1e-5 * scale)
    np.testing.assert_allclose(np.asarray(new.u), np.asarray(state.u + (xp - z)), atol=1e-5 * scale)
    expected = jnp.linalg.norm(xp - z) / jnp.linalg.norm(xp)
    np.testing.assert_allclose(float(terms["inconsistency"]), float(expected), rtol=1e-4)


def test_methods_are_registered_with_their_options():
    from melrecon.methods.resolve import build_stages

    [(algo, n)] = build_stages("meladmm", outside="zero")
    assert isinstance(algo, ADMMGriffinLim) and algo.magnitude == "mel" and algo.outside == "zero" and n > 0
    [(algo, _)] = build_stages("melgl", alpha=0.9)
    assert isinstance(algo, MelGriffinLim) and algo.alpha == 0.9


@pytest.mark.parametrize(
    "make, word",
    [
        (lambda: MelGriffinLim(outside="above"), "outside"),
        (lambda: MelGriffinLim(alpha=-1.0), "alpha"),
        (lambda: ADMMGriffinLim(magnitude="nnls"), "magnitude"),
        (lambda: ADMMGriffinLim(outside=3), "outside"),
        (lambda: WaveformGradientDescent(exponent=0.0), "exponent"),
    ],
)
def test_bad_hyper_parameters_name_themselves(make, word):
    with pytest.raises(ParameterError, match=word):
        make()


def test_lbfgs_peer_settings():
    """The L-BFGS peer: history 100 and a zoom (strong-Wolfe) line search."""
    import optax

    state = make_optimizer("lbfgs", None).init({"x": jnp.zeros(3)})
    lbfgs_state = next(s for s in state if hasattr(s, "diff_params_memory"))
    assert lbfgs_state.diff_params_memory["x"].shape[0] == 100
    assert any(isinstance(s, optax.ScaleByZoomLinesearchState) for s in state)
