"""melrecon.mel_to_audio: librosa.feature.inverse.mel_to_audio's interface, output length and (at least) its quality."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import soxr

import melrecon

librosa = pytest.importorskip("librosa")


def test_signature_matches_librosa():
    ours = inspect.signature(melrecon.mel_to_audio).parameters
    theirs = inspect.signature(librosa.feature.inverse.mel_to_audio).parameters
    for name, p in theirs.items():
        assert name in ours, name
        if p.default is not inspect.Parameter.empty and name != "n_iter":
            assert ours[name].default == p.default, name
    # n_iter keeps librosa's meaning when given; unset (None), the effort level sets the work
    assert ours["n_iter"].default is None
    # librosa forwards these to mel_to_stft through **kwargs; ours names them, with librosa's defaults.
    mel_defaults = inspect.signature(librosa.filters.mel).parameters
    for name in ("fmin", "htk", "norm"):
        assert ours[name].default == mel_defaults[name].default


@pytest.mark.parametrize("kw", [
    dict(),
    dict(n_fft=1024, hop_length=256),
    dict(center=False),
    dict(n_fft=1024, win_length=800, hop_length=200, pad_mode="reflect"),
    dict(n_fft=512, hop_length=128, power=1.0, htk=True, norm=None, fmax=6000.0, n_mels=64),
    dict(length=22116),  # librosa accepts lengths that keep the frame count: 1 + length // hop == T
])
def test_same_length_as_librosa(kw):
    sr = 22050
    t = np.arange(sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t) * np.exp(-2 * t)).astype(np.float32)
    M = librosa.feature.melspectrogram(y=y, sr=sr, **{k: v for k, v in kw.items() if k != "length"})
    inv_kw = {k: v for k, v in kw.items() if k != "n_mels"}
    theirs = librosa.feature.inverse.mel_to_audio(M, sr=sr, n_iter=1, **inv_kw)
    ours = melrecon.mel_to_audio(M, sr=sr, n_iter=2, **inv_kw)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype == np.float32
    assert np.isfinite(ours).all()


def test_options_and_errors():
    M = np.full((128, 12), 1e-3, np.float32)
    assert melrecon.mel_to_audio(M, n_iter=3, dtype=np.float64, method="fgla").dtype == np.float64
    assert melrecon.mel_to_audio(M, n_iter=[2, 2], method=melrecon.EXACT_METHOD).shape == (11 * 512,)
    with pytest.raises(melrecon.ParameterError, match="window"):
        melrecon.mel_to_audio(M, window="kaiser", n_iter=1)
    with pytest.raises(melrecon.ParameterError, match="n_iter"):
        melrecon.mel_to_audio(M, n_iter=-1)  # n_iter=0 is librosa's starting estimate


@pytest.mark.slow
def test_not_worse_than_librosa_on_real_speech(seed_audio):
    """PESQ-wb of both inversions of librosa's default mel of real speech, same n_iter (librosa's 32)."""
    from melrecon.apps.metrics import pesq_wb

    x, sr = seed_audio
    y = soxr.resample(x[: 4 * sr], sr, 22050).astype(np.float32)
    M = librosa.feature.melspectrogram(y=y, sr=22050)
    np.random.seed(0)  # librosa's Griffin-Lim starts from NumPy's global random phases
    theirs = librosa.feature.inverse.mel_to_audio(M, sr=22050)
    ours = melrecon.mel_to_audio(M, sr=22050)
    p_theirs, p_ours = pesq_wb(y, theirs, 22050), pesq_wb(y, ours, 22050)
    assert p_ours >= p_theirs, (p_ours, p_theirs)
