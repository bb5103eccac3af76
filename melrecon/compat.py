"""``melrecon.mel_to_audio``: a drop-in for ``librosa.feature.inverse.mel_to_audio``.

Same keyword names and defaults, same input (a linear Mel spectrogram, ``power=2.0``: power), same
output length; change ``from librosa.feature.inverse import mel_to_audio`` to
``from melrecon import mel_to_audio``. Inside, melrecon's default method (:data:`melrecon.DEFAULT_METHOD`)
replaces librosa's NNLS + Griffin-Lim.

``n_iter`` (librosa: Griffin-Lim iterations, default 32) is the total number of iterations of the
default method, split over its stages in the proportion of their own defaults (300 + 200): the default
32 gives 19 + 13. Each of those iterations costs about one Griffin-Lim iteration (one STFT and one
inverse STFT). Pass ``n_iter=500`` for melrecon's own default schedule (better, slower).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import MelConfig, ParameterError

__all__ = ["mel_to_audio"]


def _split_iterations(n_iter: int, method: str) -> list[int] | int:
    try:
        from .reconstruct import _DEFAULT_ITERS
    except ImportError:  # pragma: no cover - the defaults moved: split evenly
        _DEFAULT_ITERS = {}
    stages = method.split("+")
    if len(stages) == 1:
        return n_iter
    own = _DEFAULT_ITERS.get(method)
    defaults = list(own) if isinstance(own, (list, tuple)) else [
        d if isinstance(d, int) else 200 for d in (_DEFAULT_ITERS.get(s, 200) for s in stages)]
    parts = [max(1, round(n_iter * d / sum(defaults))) for d in defaults[:-1]]
    return parts + [max(1, n_iter - sum(parts))]


def mel_to_audio(M, *, sr: float = 22050, n_fft: int = 2048, hop_length: int | None = None,
                 win_length: int | None = None, window: str = "hann", center: bool = True,
                 pad_mode: str = "constant", power: float = 2.0, n_iter: int = 32, length: int | None = None,
                 dtype=np.float32, fmin: float = 0.0, fmax: float | None = None, htk: bool = False,
                 norm: str | None = "slaney", **kwargs: Any) -> np.ndarray:
    """Invert a linear Mel spectrogram to audio, with ``librosa.feature.inverse.mel_to_audio``'s interface.

    Parameters
    ----------
    M : np.ndarray, shape (..., n_mels, T)
        Linear Mel (power) spectrogram, as ``librosa.feature.melspectrogram`` returns it.
    sr, n_fft, hop_length, win_length, window, center, pad_mode, power, length, dtype
        As in librosa (``hop_length`` defaults to ``win_length // 4``, ``win_length`` to ``n_fft``).
        ``window`` is one of "hann", "hamming", "blackman", "rectangular"; ``pad_mode`` "constant" or
        "reflect"; ``power`` 1 or 2.
    n_iter : int
        Total iterations of the default method (see the module docstring).
    fmin, fmax, htk, norm
        The Mel filterbank (librosa passes these through ``**kwargs`` to ``mel_to_stft``).
    **kwargs
        melrecon options: ``method`` (default :data:`melrecon.DEFAULT_METHOD`), ``seed``, ``progress``
        (default False) and any option of :func:`melrecon.reconstruct`.

    Returns
    -------
    np.ndarray, shape (..., n) of ``dtype``: ``n = length`` or what the frames describe (as librosa).

    Examples
    --------
    >>> import numpy as np, melrecon
    >>> M = np.full((128, 20), 1e-3, np.float32)
    >>> melrecon.mel_to_audio(M, n_iter=4).shape  # librosa: (20 - 1) * 512
    (9728,)
    """
    from .reconstruct import DEFAULT_METHOD, reconstruct
    from .validation import check_iterations

    n_iter = check_iterations("n_iter", n_iter, minimum=1)
    win = n_fft if win_length is None else win_length
    hop = int(win // 4) if hop_length is None else hop_length
    try:
        cfg = MelConfig(sample_rate=int(sr), n_fft=n_fft, hop_length=hop, win_length=win, window=window,
                        center=center, pad_mode=pad_mode, n_mels=int(np.shape(M)[-2]) if np.ndim(M) >= 2 else 1,
                        fmin=fmin, fmax=fmax, mel_scale="htk" if htk else "slaney", norm=norm, power=power,
                        compression="none", name="librosa-call")
    except TypeError as exc:
        raise ParameterError(f"mel_to_audio: {exc}") from None
    method = kwargs.pop("method", DEFAULT_METHOD)
    kwargs.setdefault("progress", False)
    iters = _split_iterations(n_iter, method) if isinstance(method, str) else n_iter
    result = reconstruct(M, cfg, method=method, n_iter=iters, length=length, **kwargs)
    return np.asarray(result.audio).astype(dtype, copy=False)
