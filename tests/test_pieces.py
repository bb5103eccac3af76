"""One inversion on several cores: a single mel cut into independent overlapping pieces, inverted at the
same time and crossfaded (melrecon.methods.planner). The cut output is as long as the whole one, as close to the
input by the Mel measure, keeps the input's energy across the seam, is the same run to run, and the
switch turns it off."""

from __future__ import annotations

import numpy as np
import pytest

from melrecon import MelConfig, mel_spectrogram, reconstruct
from melrecon.apps import metrics
from melrecon.core.config import ParameterError
from melrecon.methods import planner
from melrecon.methods.planner import ENV_VAR, MIN_SECONDS, piece_plan
from melrecon.methods.segments import _crossfade, _stitch

from .test_segments import _chirpy_tone

CFG = MelConfig.preset("seed")  # 16 kHz, hop 128


@pytest.fixture
def two_cores(monkeypatch):
    """The plan as on a 2-core machine (the decision depends on the cores this process may use)."""
    monkeypatch.setattr(planner, "usable_cores", lambda: 2)
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_plan_by_length_cores_and_setting(two_cores, monkeypatch):
    per_s = CFG.sample_rate / CFG.hop_length
    assert piece_plan(int(MIN_SECONDS * per_s) - 1, CFG) is None  # too short for "auto"
    n = int(10 * per_s)
    length, overlap = piece_plan(n, CFG)
    assert 2 * length - overlap >= n and 2 * length - overlap - n <= 2  # two equal pieces covering every frame
    assert overlap == round(planner.OVERLAP_SECONDS * per_s)
    assert piece_plan(n, CFG, 1) is None and piece_plan(n, CFG, None) is None and piece_plan(n, CFG, "off") is None
    three = piece_plan(n, CFG, 3)
    assert three[0] < length and 3 * three[0] - 2 * three[1] >= n
    assert piece_plan(int(3.2 * per_s), CFG, 2) is not None  # an explicit count ignores the auto threshold
    assert piece_plan(int(2.8 * per_s), CFG, 2) is None  # ... but a piece must hold two overlaps
    monkeypatch.setattr(planner, "usable_cores", lambda: 1)
    assert piece_plan(n, CFG) is None  # one core: nothing to gain
    monkeypatch.setattr(planner, "usable_cores", lambda: 2)
    monkeypatch.setenv(ENV_VAR, "off")
    assert piece_plan(n, CFG) is None and piece_plan(n, CFG, 2) is not None  # the variable sets "auto" only
    for bad in (0, -2, 1.5, True, "many"):
        with pytest.raises(ParameterError, match="pieces"):
            piece_plan(n, CFG, bad)
    monkeypatch.setenv(ENV_VAR, "lots")
    with pytest.raises(ParameterError, match=ENV_VAR):
        piece_plan(n, CFG)


def test_stitch_undoes_a_sign_flip_and_keeps_energy_of_unrelated_signals():
    cfg = CFG
    rng = np.random.default_rng(0)
    frames, seg_len, s = 300, 200, 100
    x = rng.standard_normal(cfg.n_samples(frames)).astype(np.float32)
    out, spec = np.zeros_like(x), np.zeros((cfg.n_freq, frames), np.complex64)

    class Part:  # what _stitch reads of a Reconstruction
        def __init__(self, audio):
            self.audio, self.spectrogram = audio, np.ones((cfg.n_freq, seg_len), np.complex64)

    _stitch(out, spec, Part(x[:cfg.n_samples(seg_len)]), 0, None, seg_len, cfg)
    _stitch(out, spec, Part(-x[s * cfg.hop_length:][:cfg.n_samples(seg_len)]), s, 0, seg_len, cfg)
    np.testing.assert_allclose(out, x, atol=1e-5)  # the negated piece was recognised and turned back
    # two unrelated noises: the fade's gains keep the energy (plain raised-cosine gains would lose ~25%)
    a, b = rng.standard_normal((2, 400_000))
    mixed = a.copy()
    _crossfade(mixed, b, 0, 0, 400_000, rho=float(np.corrcoef(a, b)[0, 1]))
    middle = slice(150_000, 250_000)
    assert abs(np.mean(mixed[middle] ** 2) - 1.0) < 0.03


@pytest.mark.parametrize("method,n_iter", [("fgla", 60), ("meladmm+melgl", [40, 30])])
def test_cut_output_matches_the_whole_run(two_cores, method, n_iter):
    x = _chirpy_tone(CFG.sample_rate, 7.0)
    mel = np.asarray(mel_spectrogram(x, CFG))
    kw = dict(method=method, n_iter=n_iter, progress=False)
    whole = reconstruct(mel, CFG, pieces=1, **kw)
    cut = reconstruct(mel, CFG, **kw)  # "auto": two pieces on two cores
    parts = cut.settings["pieces"]
    assert len(parts) == 2 and parts[0]["frames"] == parts[1]["frames"]
    assert "pieces" not in whole.settings
    assert cut.audio.shape == whole.audio.shape == (CFG.n_samples(mel.shape[-1]),)
    assert cut.spectrogram.shape == whole.spectrogram.shape
    odd = reconstruct(mel, CFG, length=len(x) + 77, **kw)
    assert odd.audio.shape == (len(x) + 77,)
    sc_cut, sc_whole = (metrics.mel_spectral_convergence(x, y, CFG) for y in (cut.audio, whole.audio))
    # the seam has an error of its own (~0.01 on this tone, where two pieces' independent PGHI starts meet)
    # that bounds the cut once the whole run is far below it (0.004 from the default level's PGHI start);
    # on 10-11 s of speech the pieces' PESQ stays within 0.01 of the whole run's (docs/effort.md)
    assert sc_cut < 1.25 * sc_whole + 0.01
    assert abs(float(cut.mel_sc) - sc_cut) < 0.05
    # the seam keeps the input's energy: every 20 ms over the overlap (where the crossfade is)
    frame = CFG.sample_rate // 50
    start = parts[1]["first_frame"] * CFG.hop_length
    stop = (parts[0]["first_frame"] + parts[0]["frames"]) * CFG.hop_length
    for c in range(start, stop - frame, frame):
        assert np.sum(cut.audio[c:c + frame] ** 2) > 0.5 * np.sum(x[c:c + frame] ** 2)
    again = reconstruct(mel, CFG, **kw)
    np.testing.assert_array_equal(again.audio, cut.audio)  # deterministic


def test_switch_off_and_when_not_cut(two_cores, monkeypatch):
    x = _chirpy_tone(CFG.sample_rate, 5.0)
    mel = np.asarray(mel_spectrogram(x, CFG))
    kw = dict(method="fgla", n_iter=20, progress=False)
    plain = reconstruct(mel, CFG, pieces=1, **kw)
    monkeypatch.setenv(ENV_VAR, "off")
    off = reconstruct(mel, CFG, **kw)
    assert "pieces" not in off.settings
    np.testing.assert_array_equal(off.audio, plain.audio)
    monkeypatch.delenv(ENV_VAR)
    seen = []
    with_callback = reconstruct(mel, CFG, callback=seen.append, **kw)  # a callback sees one whole run
    assert "pieces" not in with_callback.settings and seen
    batch = reconstruct(np.stack([mel, mel]), CFG, **kw)  # a batch is one program already
    assert "pieces" not in batch.settings
    with pytest.raises(ParameterError, match="pieces"):
        reconstruct(mel, CFG, pieces="several", **kw)


def test_cut_run_starts_from_its_part_of_an_initial_phase(two_cores):
    x = _chirpy_tone(CFG.sample_rate, 5.0)
    mel = np.asarray(mel_spectrogram(x, CFG))
    rng = np.random.default_rng(3)
    init = rng.uniform(-np.pi, np.pi, (CFG.n_freq, mel.shape[-1])).astype(np.float32)
    kw = dict(method="gla", n_iter=5, progress=False, init=init)
    cut, whole = reconstruct(mel, CFG, pieces=2, **kw), reconstruct(mel, CFG, pieces=1, **kw)
    assert len(cut.settings["pieces"]) == 2
    # away from the seam and the pieces' edges the cut run is the whole run, started from the same phases
    n = 60 * CFG.hop_length
    np.testing.assert_allclose(cut.audio[2 * n:4 * n], whole.audio[2 * n:4 * n], atol=2e-3)


def test_same_inputs_give_the_same_audio(speech_sample):
    """A whole run is bit-identical from call to call (no non-deterministic kernel, e.g. XLA's complex FFT)."""
    import librosa

    x, sr = speech_sample
    mel = np.asarray(mel_spectrogram(librosa.resample(x[:sr], orig_sr=sr, target_sr=CFG.sample_rate), CFG))
    runs = [reconstruct(mel, CFG, n_iter=[20, 20], progress=False).audio for _ in range(3)]
    assert all(np.array_equal(r, runs[0]) for r in runs[1:])


def test_ctrl_c_stops_every_piece_and_returns_the_best_so_far(two_cores):
    """Ctrl-C reaches the main thread, which waits for the pieces: each stops at its next chunk."""
    import _thread
    import threading

    x = _chirpy_tone(CFG.sample_rate, 5.0)
    mel = np.asarray(mel_spectrogram(x, CFG))
    timer = threading.Timer(1.5, _thread.interrupt_main)
    timer.start()
    try:
        out = reconstruct(mel, CFG, method="gla", n_iter=20_000, chunk_size=10, progress=False)
    finally:
        timer.cancel()
    assert out.interrupted and out.stop_reason == "interrupted" and len(out.settings["pieces"]) == 2
    assert out.audio.shape == (CFG.n_samples(mel.shape[-1]),) and np.isfinite(out.audio).all()
    assert 0 < np.count_nonzero(out.history["time"]) < 20_000  # stopped early
