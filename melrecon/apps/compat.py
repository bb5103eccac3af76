"""librosa drop-ins: ``melrecon.mel_to_audio`` and ``melrecon.griffinlim``.

``mel_to_audio`` has the interface of ``librosa.feature.inverse.mel_to_audio`` and ``griffinlim`` that of
``librosa.griffinlim``: the same keyword names, defaults, input (a linear Mel spectrogram, ``power=2.0``:
power; a linear STFT magnitude), output length and dtype; change ``from librosa.feature.inverse import
mel_to_audio`` to ``from melrecon import mel_to_audio`` (``librosa.griffinlim`` to ``melrecon.griffinlim``).
Both take what librosa takes: every window spec of ``librosa.filters.get_window`` (names and aliases such
as ``"rect"``, ``("kaiser", 8.0)``, arrays of ``win_length`` values, callables; read with scipy, as librosa
does), numpy's pad modes that librosa's STFT takes, any ``power > 0``, a numeric ``norm``, a float ``sr``,
``n_iter=0`` (the starting estimate); negative values are clipped at 0 (with a warning unless they are
rounding). A refusal raises an error that is both :class:`melrecon.ParameterError` and, when librosa is
installed, ``librosa.ParameterError``; an unknown keyword raises ``TypeError``.

Inside ``mel_to_audio``, melrecon's default pipeline for mels handed in (``tolmeladmm+tolmelgl``: ADMM, then
fast Griffin-Lim, between the Mel-constraint set and the consistent STFTs, towards a target cleaned of what
the mel reads as noise or smoothing; the exact pipeline when it reads none) at the ``effort`` level's
counts (default 60 + 40). ``n_iter`` keeps librosa's meaning when given: that many iterations in all,
split over the stages by the resolver in the proportion of the level's counts
(:func:`melrecon.methods.resolve.split_total`: 32 -> 19 + 13). ``method=`` chooses another method (``"agla"``:
the former drop-in). ``griffinlim`` runs melrecon's Griffin-Lim kernel (:mod:`melrecon.algorithms.griffin_lim`):
fast GL with ``momentum`` (its first step a plain GL step, as librosa's), plain GLA at ``momentum=0``, from
librosa's starting phases (drawn from
``random_state`` as librosa draws them; melrecon differs where librosa is random: ``random_state=None``
draws from seed 0, so the same call gives the same audio).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import numpy as np

from ..core.config import MelConfig, ParameterError
from ..core.transforms import window as config_window
from ..core.validation import check_iterations, check_spectrogram, clip_negative, warn_user
from ..methods.execute import execute_single
from ..methods.planner import plan_single
from ..methods.registry import known_options
from ..methods.resolve import resolve
from ..reconstruct import RUN_OPTIONS, check_call, reconstruct

__all__ = ["mel_to_audio", "griffinlim", "window_values", "librosa_error"]

_NAMED_WINDOWS = ("hann", "hamming", "blackman", "rectangular")
#: numpy pad modes librosa's STFT refuses (its framing pads each edge on its own).
_REFUSED_PAD_MODES = ("wrap", "maximum", "mean", "median", "minimum")
#: ``griffinlim`` inverts a linear magnitude: its analysis settings carry one Mel band, which nothing reads.
_NO_MEL = dict(n_mels=1, compression="none", name="librosa-griffinlim")
#: The seed of ``griffinlim``'s starting phases when ``random_state`` is None (librosa: fresh entropy).
DEFAULT_RANDOM_STATE = 0


@functools.lru_cache(maxsize=1)
def librosa_error() -> type:
    """The error class of the drop-ins: a subclass of :class:`melrecon.ParameterError` and, when librosa is
    installed, of ``librosa.ParameterError`` (made on first use, so librosa stays optional)."""
    try:
        from librosa.util.exceptions import ParameterError as LibrosaParameterError  # noqa: PLC0415 - optional
    except ImportError:
        return ParameterError
    doc = "A melrecon.ParameterError that librosa code catches as librosa.ParameterError."
    return type("ParameterError", (ParameterError, LibrosaParameterError), {"__module__": __name__, "__doc__": doc})


@contextlib.contextmanager
def _as_librosa_errors():
    try:
        yield
    except ParameterError as exc:
        cls = librosa_error()
        if isinstance(exc, cls):
            raise
        raise cls(str(exc)) from None


def _check_keywords(function: str, kwargs: dict) -> None:
    """librosa raises ``TypeError`` for an unknown keyword; ours are melrecon's run and stage options."""
    allowed = set(RUN_OPTIONS) | {"method", "effort", "source"} | known_options()
    for name in kwargs:
        if name not in allowed:
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r} (melrecon's options: "
                            f"method, effort, source, seed, progress and those of melrecon.reconstruct).")


def window_values(window: Any, win_length: int) -> str | tuple:
    """A window spec of ``librosa.filters.get_window`` as :class:`~melrecon.MelConfig` stores it: one of
    melrecon's names when the window equals it (programs are shared), else its ``win_length`` values."""
    if isinstance(window, str) and window.lower() in (*_NAMED_WINDOWS, "hanning"):
        return window.lower()
    if callable(window):
        values = np.asarray(window(win_length), np.float64)
    elif isinstance(window, (np.ndarray, list)):
        values = np.asarray(window, np.float64)
        if values.shape != (win_length,):
            raise ParameterError(f"window has shape {values.shape}; give win_length={win_length} values.")
    elif isinstance(window, (str, tuple)) or np.isscalar(window):
        from scipy.signal import get_window  # noqa: PLC0415 - optional: scipy comes with librosa; only windows melrecon lacks need it

        try:
            values = np.asarray(get_window(window, win_length, fftbins=True), np.float64)
        except (ValueError, TypeError) as exc:
            raise ParameterError(f"window={window!r}: {exc} (scipy.signal.get_window's names, e.g. 'hann', "
                                 f"('kaiser', 8.0)).") from None
    else:
        raise ParameterError(f"window={window!r} must be a name, a tuple, an array of win_length values or a callable.")
    if values.shape != (win_length,) or not np.isfinite(values).all():
        raise ParameterError(f"window gives {values.shape} values; give win_length={win_length} finite values.")
    for name in _NAMED_WINDOWS if win_length >= 2 else ():
        if np.allclose(values, config_window(MelConfig(n_fft=win_length, hop_length=1, window=name, n_mels=1)),
                       rtol=0, atol=1e-7):
            return name
    return tuple(values.tolist())


def _analysis(*, sr, n_fft, hop_length, win_length, window, center, pad_mode, **mel: Any) -> MelConfig:
    """The :class:`MelConfig` of librosa's keywords (librosa's defaults for hop and window lengths)."""
    n_fft = check_iterations("n_fft", n_fft, minimum=2)
    win = n_fft if win_length is None else check_iterations("win_length", win_length, minimum=1)
    hop = int(win // 4) if hop_length is None else hop_length
    if callable(pad_mode) or not isinstance(pad_mode, str) or pad_mode in _REFUSED_PAD_MODES:
        raise ParameterError(f"pad_mode={pad_mode!r} is not supported; use one of numpy's 'constant', 'reflect', "
                             f"'edge', 'symmetric', 'linear_ramp' (librosa's STFT refuses {_REFUSED_PAD_MODES} too).")
    try:
        return MelConfig(sample_rate=sr, n_fft=n_fft, hop_length=hop, win_length=win,
                         window=window_values(window, win), center=center,
                         pad_mode=pad_mode if center else "constant", **mel)
    except TypeError as exc:
        raise ParameterError(f"{exc}") from None


def mel_to_audio(M, *, sr: float = 22050, n_fft: int = 2048, hop_length: int | None = None,
                 win_length: int | None = None, window: Any = "hann", center: bool = True,
                 pad_mode: str = "constant", power: float = 2.0, n_iter: int | None = None, length: int | None = None,
                 dtype=np.float32, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
                 norm: Any = "slaney", **kwargs: Any) -> np.ndarray:
    """Invert a linear Mel spectrogram to audio, with ``librosa.feature.inverse.mel_to_audio``'s interface.

    Parameters
    ----------
    M : np.ndarray, shape (..., n_mels, T)
        Linear Mel spectrogram in ``power`` (``librosa.feature.melspectrogram``'s); negative values are
        clipped at 0 (a warning unless they are rounding).
    sr, n_fft, hop_length, win_length, window, center, pad_mode, power, length, dtype
        As in librosa (``hop_length`` defaults to ``win_length // 4``, ``win_length`` to ``n_fft``; every window
        spec of ``librosa.filters.get_window``; numpy's pad modes librosa's STFT takes; any ``power > 0``).
    n_iter : int, optional
        Iterations in all, as librosa's (split over the stages by the resolver: 32 -> 19 + 13; 0: the starting
        estimate); None (default): the ``effort`` level's counts (``effort=`` in ``kwargs``).
    fmin, fmax, htk, norm
        The Mel filterbank (librosa passes these through ``**kwargs`` to ``mel_to_stft``); ``norm``
        "slaney", None or a number (unit p-norm filters).
    **kwargs
        melrecon options: ``method`` (default: the pipeline for mels handed in), ``effort``, ``source``, ``seed``,
        ``progress`` (default False) and any option of :func:`melrecon.reconstruct`; others raise ``TypeError``.

    Returns
    -------
    np.ndarray, shape (..., n) of ``dtype``: ``n = length`` or what the frames describe (as librosa; one
    centred frame describes no sample: an empty array).

    Examples
    --------
    >>> import numpy as np, melrecon
    >>> M = np.full((128, 20), 1e-3, np.float32)
    >>> melrecon.mel_to_audio(M, n_iter=4).shape  # librosa: (20 - 1) * 512
    (9728,)
    """
    _check_keywords("mel_to_audio", kwargs)
    with _as_librosa_errors():
        M = clip_negative(M, name="M")
        cfg = _analysis(sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                        center=center, pad_mode=pad_mode, n_mels=int(M.shape[-2]) if M.ndim >= 2 else 1, fmin=fmin,
                        fmax=fmax, mel_scale="htk" if htk else "slaney", norm=norm, power=power, compression="none",
                        name="librosa-call")
        if not isinstance(n_iter, (list, tuple)) and n_iter is not None:
            n_iter = check_iterations("n_iter", n_iter)
        if M.ndim >= 2 and M.shape[-1] >= 1 and cfg.n_samples(M.shape[-1]) < 1 and length is None:
            return np.zeros((*M.shape[:-2], 0), dtype)  # librosa: one centred frame describes no sample
        kwargs.setdefault("progress", False)
        if isinstance(n_iter, int):  # librosa's count: that many in all, split over the stages by the resolver
            n_iter = list(resolve(kwargs.get("method"), source=kwargs.get("source"), effort=kwargs.get("effort"),
                                  total_iters=n_iter).counts)
        result = reconstruct(M, cfg, n_iter=n_iter, length=length, **kwargs)
    return np.asarray(result.audio).astype(dtype, copy=False)


def _rng(random_state: Any):
    """librosa's random source of ``random_state`` (None: melrecon's fixed seed, not fresh entropy)."""
    if random_state is None:
        return np.random.default_rng(DEFAULT_RANDOM_STATE)
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.RandomState(seed=int(random_state))
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    raise ParameterError(f"random_state={random_state!r} is not supported; give None, an int, a "
                         f"np.random.RandomState or a np.random.Generator.")


def _check_momentum(momentum: Any) -> float:
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.number)) or not np.isfinite(momentum):
        raise ParameterError(f"momentum={momentum!r} must be a finite number >= 0 (librosa's default 0.99).")
    if momentum < 0:
        raise ParameterError(f"griffinlim() called with momentum={momentum} < 0; use momentum >= 0 (0: plain GLA).")
    if momentum > 1:
        warn_user(f"Griffin-Lim with momentum={momentum} > 1 can be unstable (as librosa warns); 0.99 is the default.")
    return float(momentum)


def griffinlim(S, *, n_iter: int = 32, hop_length: int | None = None, win_length: int | None = None,
               n_fft: int | None = None, window: Any = "hann", center: bool = True, dtype=None,
               length: int | None = None, pad_mode: str = "constant", momentum: float = 0.99,
               init: str | None = "random", random_state: Any = None) -> np.ndarray:
    """Phase retrieval from a linear STFT magnitude by fast Griffin-Lim, with ``librosa.griffinlim``'s interface.

    Parameters
    ----------
    S : np.ndarray, shape (..., 1 + n_fft // 2, T)
        STFT magnitude (negative values clipped at 0, as for :func:`mel_to_audio`); leading dims are a batch.
    n_iter : int
        Iterations (librosa's default 32; 0: the starting estimate).
    hop_length, win_length, n_fft, window, center, length, pad_mode
        As in librosa (``n_fft`` defaults to ``2 * (S.shape[-2] - 1)``; every window spec of
        ``librosa.filters.get_window``).
    dtype : optional
        Output dtype (default: float64 for a float64 ``S``, else float32).
    momentum : float
        Fast GL's momentum (0: plain GLA; > 1 warns, < 0 raises, as librosa).
    init : {"random", None}
        Random starting phases (drawn as librosa draws them) or zero phase.
    random_state : None, int, np.random.RandomState or np.random.Generator
        As librosa; None draws from seed 0 (melrecon: the same call gives the same audio).

    Returns
    -------
    np.ndarray, shape (..., n): ``n = length`` or what the frames describe.

    Examples
    --------
    >>> import numpy as np, melrecon
    >>> S = np.ones((129, 10), np.float32)
    >>> melrecon.griffinlim(S, n_iter=2).shape  # librosa: (10 - 1) * 64
    (576,)
    """
    with _as_librosa_errors():
        rng = _rng(random_state)
        momentum = _check_momentum(momentum)
        if init not in ("random", None):
            raise ParameterError(f"init={init!r} must be 'random' or None (zero phase).")
        n_iter = check_iterations("n_iter", n_iter)
        S = clip_negative(S, name="S")
        if S.ndim < 2:
            raise ParameterError(f"S has shape {S.shape}; an STFT magnitude is (..., 1 + n_fft // 2, frames).")
        n_fft = 2 * (S.shape[-2] - 1) if n_fft is None else n_fft
        cfg = _analysis(sr=22050, n_fft=n_fft, hop_length=hop_length, win_length=win_length, window=window,
                        center=center, pad_mode=pad_mode, **_NO_MEL)
        check_spectrogram(S, cfg, name="S")
        length = None if length is None else check_iterations("length", length, minimum=1)
        out_dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.float64 if S.dtype == np.float64
                                                                       else np.float32)
        if cfg.n_samples(S.shape[-1]) < 1 and length is None:
            return np.zeros((*S.shape[:-2], 0), out_dtype)
        # starting phases ("random": librosa's draw, 2 pi u with u uniform in [0, 1) of S's shape); the start
        # S e^{i phase} is formed on the device
        start = (2 * np.pi * rng.random(size=S.shape) if init == "random" else np.zeros(S.shape)).astype(np.float32)
        run, _ = check_call(cfg, method="fgla" if momentum else "gla", n_iter=n_iter, progress=False,
                            options={"alpha": momentum, "momentum_start": "zero"} if momentum else None)
        plan = plan_single(S.shape[-1], cfg, init=True, batched=S.ndim > 2)  # long: pieces on every core
        audio = execute_single(S, run.replace(init_magnitude="given"), plan, init=start, length=length).audio
    return audio.astype(out_dtype, copy=False)
