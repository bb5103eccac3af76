"""``melrecon.mel_to_audio``: a drop-in for ``librosa.feature.inverse.mel_to_audio``.

Same keyword names and defaults, same input (a linear Mel spectrogram, ``power=2.0``: power), same
output length; change ``from librosa.feature.inverse import mel_to_audio`` to
``from melrecon import mel_to_audio``.

Inside, melrecon's default pipeline for mels handed in (``tolmeladmm+tolmelgl``: ADMM, then fast
Griffin-Lim, between the Mel-constraint set and the consistent STFTs, towards a target cleaned of what
the mel reads as noise or smoothing; the exact pipeline when it reads none) at the ``effort`` level's
counts (default 60 + 40). ``n_iter`` keeps librosa's meaning when given: that many iterations in all,
split over the stages in the proportion of the level's counts (:func:`melrecon.methods.resolve.split_total`:
32 -> 19 + 13). Measured at librosa's defaults (n_fft 2048, hop 512, 128 bands,
power 2) on 4 speech clips (docs/effort.md): 60 + 40 scored +0.95 PESQ-wb over librosa's 32 iterations
in a seventh of its time (librosa's own NNLS dominates its time); ``n_iter=32`` (19 + 13) +0.78 at ~10x
its speed; the former ``agla`` at 32 iterations +0.19. ``method=`` chooses another method (``"agla"``: the
former drop-in).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.config import MelConfig, ParameterError
from ..core.validation import check_iterations
from ..methods.resolve import resolve
from ..reconstruct import reconstruct

__all__ = ["mel_to_audio"]


def mel_to_audio(M, *, sr: float = 22050, n_fft: int = 2048, hop_length: int | None = None,
                 win_length: int | None = None, window: str = "hann", center: bool = True,
                 pad_mode: str = "constant", power: float = 2.0, n_iter: int | None = None, length: int | None = None,
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
    n_iter : int, optional
        Iterations in all, as librosa's (split over the stages as the level's counts: 32 -> 19 + 13); None (default):
        the ``effort`` level's counts (``effort=`` in ``kwargs``; see the module docstring).
    fmin, fmax, htk, norm
        The Mel filterbank (librosa passes these through ``**kwargs`` to ``mel_to_stft``).
    **kwargs
        melrecon options: ``method`` (default: the pipeline for mels handed in), ``effort``, ``seed``,
        ``progress`` (default False) and any option of :func:`melrecon.reconstruct`.

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
    if not isinstance(n_iter, (list, tuple)) and n_iter is not None:
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
    kwargs.setdefault("progress", False)
    if isinstance(n_iter, int):  # librosa's count: that many in all, split over the stages by the resolver
        n_iter = list(resolve(kwargs.get("method"), source=kwargs.get("source"), effort=kwargs.get("effort"),
                              total_iters=n_iter).counts)
    result = reconstruct(M, cfg, n_iter=n_iter, length=length, **kwargs)
    return np.asarray(result.audio).astype(dtype, copy=False)
