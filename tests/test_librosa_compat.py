"""librosa 0.11's own tests of ``mel_to_audio`` and ``griffinlim``, applied to ``melrecon.mel_to_audio`` and
``melrecon.griffinlim``, with librosa as the oracle where a case compares outputs.

Sources (librosa 0.11.0): tests/test_features.py ``test_mel_to_audio``; tests/test_core.py ``test_griffinlim``
(a grid of 3072 cases), ``test_griffinlim_badinit``, ``_badrng``, ``_momentum``, ``_momentum_warn``;
tests/test_multichannel.py ``test_griffinlim_multi``. Written anew in melrecon's style; each case keeps
librosa's inputs and assertions, and adds the oracle's.

Where melrecon deliberately differs, the case says so in one line:

* ``random_state=None``: librosa draws fresh random phases, melrecon draws from seed 0 (the same call gives
  the same audio);
* ``griffinlim(..., length=n)``: librosa iterates on a signal of ``n`` samples, melrecon on the frames' own
  length and trims or pads at the end (identical lengths and dtypes; outputs compared without ``length``);
* where frames barely overlap (``hop_length == win_length``), the iSTFT divides rounding by ~0: outputs are
  compared where the overlap-added squared window is > 0.5 of its peak, and not at all when ``hop = win``;
* ``window="rect", pad_mode="reflect"``: librosa 0.11's STFT pads the last frames' slice on its own (a slice
  shorter than the padding reflects twice), melrecon reflects the signal; with an untapered window the
  outputs differ by ~1e-4 (not compared there);
* melrecon computes in float32: the oracle is librosa on ``S`` in float32, within 1 % of its peak (three
  iterations from zero phase on one frame amplify rounding that far).

librosa's griffinlim grid is 3072 cases; the factors that make a new compiled program (hop, window length,
n_fft, window, centring and padding, momentum) run as a pairwise covering (every pair of their values
appears, 8 rows) and, within each row, every combination of the others (dtype, length, random_state, init;
both pad modes where nothing is padded): 8 x 24-48 calls.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import melrecon

librosa = pytest.importorskip("librosa")
scipy_signal = pytest.importorskip("scipy.signal")

SR = 22050


@pytest.fixture(scope="module")
def y_chirp():
    return librosa.chirp(fmin=55, fmax=55 * 2**7, length=SR // 8, sr=SR)


def _spectral_convergence(y, S, **stft):
    return float(np.linalg.norm(np.abs(librosa.stft(y, **stft)) - S) / np.linalg.norm(S))


# ----------------------------------------------------------------------------------- test_features.py
def test_mel_to_audio():
    y = librosa.tone(440.0, sr=SR, duration=1)
    M = librosa.feature.melspectrogram(y=y, sr=SR)
    y_inv = melrecon.mel_to_audio(M, sr=SR, length=len(y))
    assert len(y) == len(y_inv)
    assert librosa.util.valid_audio(y_inv)
    # oracle: the same length and dtype as librosa's, and its Mel at least as close to M
    theirs = librosa.feature.inverse.mel_to_audio(M, sr=SR, length=len(y))
    assert y_inv.shape == theirs.shape and y_inv.dtype == theirs.dtype

    def mel_sc(z):
        return np.linalg.norm(librosa.feature.melspectrogram(y=z, sr=SR) - M) / np.linalg.norm(M)

    assert mel_sc(y_inv) <= mel_sc(theirs)


# ------------------------------------------------------------------------------- test_core.py grid
_PROGRAM_FACTORS = {
    "hop_length": [None, 1024],
    "win_length": [None, 1024],
    "n_fft": [2048, 2049],
    "window": ["hann", "rect"],
    "padding": [(False, None), (True, "constant"), (True, "reflect")],  # (center, pad_mode)
    "momentum": [0, 0.99],
}


def _pairwise(factors: dict) -> list[dict]:
    """Rows of the full product chosen greedily until every pair of two factors' values appears."""
    names = list(factors)
    rows = [dict(zip(names, values)) for values in itertools.product(*factors.values())]

    def pairs(row):
        return {(a, repr(row[a]), b, repr(row[b])) for a, b in itertools.combinations(names, 2)}

    todo = set().union(*(pairs(r) for r in rows))
    chosen = []
    while todo:
        best = max(rows, key=lambda r: len(pairs(r) & todo))
        chosen.append(best)
        todo -= pairs(best)
    return chosen


GRID = _pairwise(_PROGRAM_FACTORS)


@pytest.mark.parametrize("row", GRID, ids=lambda r: "-".join(str(v) for v in r.values()))
def test_griffinlim(y_chirp, row):
    center, pad_mode = row["padding"]
    stft = dict(hop_length=row["hop_length"], win_length=row["win_length"], n_fft=row["n_fft"], window=row["window"],
                center=center)
    for pad in ([pad_mode] if center else ["constant", "reflect"]):  # nothing is padded without centring
        S = np.abs(librosa.stft(y_chirp, pad_mode=pad, **stft))
        cheap = itertools.product([np.float32, np.float64], [False, True], [None, 0, "fresh RandomState"],
                                  [None, "random"])
        for dtype, use_length, random_state, init in cheap:
            length = len(y_chirp) if use_length else None
            rng = np.random.RandomState(7) if random_state == "fresh RandomState" else random_state
            y_rec = melrecon.griffinlim(S, dtype=dtype, length=length, pad_mode=pad, n_iter=3, momentum=row["momentum"],
                                        init=init, random_state=rng, **stft)
            if use_length:
                assert len(y_rec) == length
            assert y_rec.dtype == dtype
            # oracle: librosa from the same starting phases (random_state=None differs: melrecon is seeded)
            if random_state is None and init == "random" or use_length or _hop(stft) == _win(stft) or (
                    row["window"], pad) == ("rect", "reflect"):
                continue
            theirs = librosa.griffinlim(S.astype(np.float32), dtype=dtype, pad_mode=pad, n_iter=3,
                                        momentum=row["momentum"], init=init,
                                        random_state=np.random.RandomState(7) if rng is not random_state else rng,
                                        **stft)
            well = _well_covered(S.shape[-1], len(theirs), **stft)  # elsewhere both divide rounding by ~0
            np.testing.assert_allclose(y_rec[well], theirs[well], rtol=0, atol=1e-2 * np.abs(theirs[well]).max())


def _win(stft: dict) -> int:
    return stft["n_fft"] if stft["win_length"] is None else stft["win_length"]


def _hop(stft: dict) -> int:
    return _win(stft) // 4 if stft["hop_length"] is None else stft["hop_length"]


def _well_covered(n_frames, n, **stft):
    """Samples where the overlap-added squared window is > 0.5 of its peak (the iSTFT is well-conditioned)."""
    n_fft, center = stft["n_fft"], stft["center"]
    env = librosa.filters.window_sumsquare(window=stft["window"], n_frames=n_frames, win_length=_win(stft),
                                           n_fft=n_fft, hop_length=_hop(stft))
    env = env[n_fft // 2:] if center else env
    return env[:n] > 0.5 * env.max()


def test_griffinlim_random_state_none_is_deterministic(y_chirp):
    # melrecon differs: random_state=None draws from seed 0 (librosa: fresh entropy each call)
    S = np.abs(librosa.stft(y_chirp))
    np.testing.assert_array_equal(melrecon.griffinlim(S, n_iter=2), melrecon.griffinlim(S, n_iter=2))
    np.testing.assert_array_equal(melrecon.griffinlim(S, n_iter=2),
                                  melrecon.griffinlim(S, n_iter=2, random_state=np.random.default_rng(0)))


@pytest.mark.parametrize("seconds, pieces", [(2, "auto"), (5, "2")], ids=["whole", "two-pieces"])
def test_griffinlim_fast_gl_converges_as_librosa(seconds, pieces, monkeypatch):
    """momentum 0.99, librosa's 32 iterations on speech from the same starting phases: the spectral
    convergence of melrecon's output is within 1 % of librosa's, also when a long input runs in pieces on
    the cores (the planner's pieces; melrecon differs there: each piece iterates on its own frames)."""
    import soundfile as sf

    from melrecon.apps.examples import example

    monkeypatch.setenv("MELRECON_PIECES", pieces)
    y, sr = sf.read(str(example("speech")), dtype="float32")
    S = np.abs(librosa.stft(np.tile(y, -(-seconds * sr // len(y)))[: seconds * sr]))
    ours = melrecon.griffinlim(S, random_state=0)
    theirs = librosa.griffinlim(S, random_state=0)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert _spectral_convergence(ours, S) <= 1.01 * _spectral_convergence(theirs, S)


@pytest.mark.parametrize("pad_mode", ["edge", "symmetric", "linear_ramp"])
def test_griffinlim_pad_modes(y_chirp, pad_mode):
    """numpy's other pad modes that librosa's STFT takes: the same output as librosa's (float32, same start)."""
    S = np.abs(librosa.stft(y_chirp, n_fft=512, pad_mode=pad_mode)).astype(np.float32)
    ours = melrecon.griffinlim(S, n_iter=4, pad_mode=pad_mode, random_state=0)
    theirs = librosa.griffinlim(S, n_iter=4, pad_mode=pad_mode, random_state=0)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-3 * np.abs(theirs).max())


def test_griffinlim_badinit():
    x = np.zeros((33, 3))
    with pytest.raises(librosa.ParameterError, match="init"):
        melrecon.griffinlim(x, init="garbage")


def test_griffinlim_badrng():
    x = np.zeros((33, 3))
    with pytest.raises(librosa.ParameterError, match="random_state"):
        melrecon.griffinlim(x, random_state="garbage")


def test_griffinlim_momentum():
    x = np.zeros((33, 3))
    with pytest.raises(librosa.ParameterError, match="momentum"):
        melrecon.griffinlim(x, momentum=-1)
    with pytest.raises(melrecon.ParameterError):  # also melrecon's own error (a subclass of both)
        melrecon.griffinlim(x, momentum=-1)


def test_griffinlim_momentum_warn():
    x = np.zeros((33, 3))
    with pytest.warns(UserWarning, match="momentum"):
        melrecon.griffinlim(x, momentum=2)


# --------------------------------------------------------------------------------- test_multichannel.py
def test_griffinlim_multi(y_chirp):
    y = np.stack([y_chirp, 0.5 * y_chirp[::-1]])  # librosa's test reads a stereo file; a stereo chirp here
    D = librosa.stft(y)
    yout = melrecon.griffinlim(np.abs(D), n_iter=2, length=y.shape[-1])
    assert np.allclose(y.shape, yout.shape)
    # any leading dims; from zero phase each channel is its own inversion
    S4 = np.abs(librosa.stft(np.stack([y, y[::-1]])))
    both = melrecon.griffinlim(S4, n_iter=2, init=None)
    assert both.shape == (2, 2, len(y_chirp) // 512 * 512)
    np.testing.assert_allclose(both[1, 0], melrecon.griffinlim(S4[1, 0], n_iter=2, init=None), atol=1e-5)


# ------------------------------------------------------------- what librosa accepts, melrecon accepts too
def _melspec(y, **kw):
    keys = ("sr", "n_fft", "hop_length", "win_length", "window", "center", "pad_mode", "power", "fmin", "fmax",
            "htk", "norm")
    return librosa.feature.melspectrogram(y=y, n_mels=32, **{k: v for k, v in kw.items() if k in keys})


ACCEPTED = [
    dict(window="rect", pad_mode="edge", power=1.5, sr=22050.0, norm=1.0),
    dict(window=("kaiser", 8.0), pad_mode="linear_ramp", sr=16000.5, norm=np.inf, htk=True),
    dict(window=scipy_signal.windows.cosine, center=False, power=1.0, norm=None),
]  # arrays of values: test_filters_and_windows_are_librosa_s; "symmetric": test_griffinlim_pad_modes


@pytest.fixture(scope="module")
def speech_half_second():
    import soundfile as sf

    from melrecon.apps.examples import example

    y, sr = sf.read(str(example("speech")), dtype="float32")
    return y[sr // 2:sr]


@pytest.mark.parametrize("kw", ACCEPTED, ids=lambda kw: ",".join(f"{k}={getattr(v, '__name__', v)!s:.16}"
                                                                    for k, v in kw.items()))
def test_mel_to_audio_accepts_what_librosa_accepts(speech_half_second, kw):
    """Each spec as librosa reads it (the filters and windows themselves: the next test), and an inversion of
    the same mel within 1.5x librosa's Mel SC at 8 iterations (a misread spec lands near 1)."""
    kw = dict(dict(sr=SR, n_fft=512, hop_length=128), **kw)
    M = _melspec(speech_half_second, **kw)
    theirs = librosa.feature.inverse.mel_to_audio(M, n_iter=8, **kw)
    ours = melrecon.mel_to_audio(M, n_iter=8, **kw)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype

    def mel_sc(z):
        return np.linalg.norm(_melspec(z, **kw) - M) / np.linalg.norm(M)

    assert mel_sc(ours) <= 1.5 * mel_sc(theirs), (mel_sc(ours), mel_sc(theirs))


def test_filters_and_windows_are_librosa_s():
    from melrecon.apps.compat import window_values
    from melrecon.core.transforms import window

    for norm in (1.0, 2.0, np.inf, "slaney", None):
        cfg = melrecon.MelConfig(sample_rate=16000.5, n_fft=512, hop_length=128, n_mels=40, norm=norm)
        np.testing.assert_allclose(melrecon.mel_filterbank(cfg), librosa.filters.mel(
            sr=16000.5, n_fft=512, n_mels=40, norm=norm), rtol=1e-5, atol=1e-8)
    for spec in ("rect", "boxcar", "hann", "blackmanharris", ("kaiser", 8.0), ("gaussian", 50), np.bartlett(400),
                 scipy_signal.windows.cosine):
        cfg = melrecon.MelConfig(n_fft=512, win_length=400, hop_length=100, window=window_values(spec, 400))
        theirs = librosa.util.pad_center(librosa.filters.get_window(spec, 400, fftbins=True), size=512)
        np.testing.assert_allclose(window(cfg), theirs, atol=1e-6)


def test_negative_values_are_clipped(y_chirp):
    M = _melspec(y_chirp.astype(np.float32), sr=SR, n_fft=512)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rounding below the peak's 1e-6: silent
        quiet = melrecon.mel_to_audio(M - 1e-30, n_fft=512, n_iter=2)
    noisy = M.copy()
    noisy[::3, ::2] = -1e-2 * M.max()
    with pytest.warns(UserWarning, match="negative values"):
        loud = melrecon.mel_to_audio(noisy, n_fft=512, n_iter=2)
    np.testing.assert_array_equal(loud, melrecon.mel_to_audio(np.maximum(noisy, 0), n_fft=512, n_iter=2))
    assert quiet.shape == loud.shape
    with pytest.warns(UserWarning, match="negative values"):
        melrecon.griffinlim(np.abs(librosa.stft(y_chirp)) - 0.1, n_iter=1)


def test_n_iter_zero_is_the_starting_estimate(y_chirp):
    M = _melspec(y_chirp, sr=SR, n_fft=512)
    assert melrecon.mel_to_audio(M, n_fft=512, n_iter=0).shape == librosa.feature.inverse.mel_to_audio(
        M, n_fft=512, n_iter=0).shape
    S = np.abs(librosa.stft(y_chirp))
    # from zero phase, no iteration: the inverse STFT of S itself, as librosa
    np.testing.assert_allclose(melrecon.griffinlim(S, n_iter=0, init=None), librosa.griffinlim(S, n_iter=0, init=None),
                               atol=1e-5)


@pytest.mark.parametrize("center", [True, False])
def test_short_mels_as_librosa(y_chirp, center):
    """Lengths of 1-3 frames as librosa's (one centred frame: an empty array); plain GLA keeps this cheap (the
    default method on 1-3 frames: tests/test_short_mels.py)."""
    M = _melspec(y_chirp, sr=SR, n_fft=512, hop_length=128, center=center)
    for frames in (1, 2, 3):
        theirs = librosa.feature.inverse.mel_to_audio(M[:, :frames], n_fft=512, n_iter=2, center=center)
        ours = melrecon.mel_to_audio(M[:, :frames], n_fft=512, n_iter=2, center=center, method="gla")
        assert ours.shape == theirs.shape


def test_refusals_are_librosa_errors_and_unknown_keywords_type_errors():
    M = np.full((32, 12), 1e-3, np.float32)
    with pytest.raises(librosa.ParameterError, match="pad_mode='wrap'"):
        melrecon.mel_to_audio(M, n_fft=512, pad_mode="wrap")
    with pytest.raises(librosa.ParameterError, match="win_length=512"):
        melrecon.mel_to_audio(M, n_fft=512, window=np.ones(100))
    with pytest.raises(melrecon.ParameterError, match="n_iter"):
        melrecon.mel_to_audio(M, n_fft=512, n_iter=-1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_mel'"):
        melrecon.mel_to_audio(M, n_fft=512, n_mel=32)
    with pytest.raises(TypeError):
        melrecon.griffinlim(np.ones((257, 4)), n_fft=512, hop=128)
